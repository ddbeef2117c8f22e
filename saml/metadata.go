package saml

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	crewsaml "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
)

const (
	metadataFetchTimeout = 10 * time.Second
	metadataMaxBytes     = 4 << 20
	metadataRetryEvery   = 30 * time.Second // while no copy has ever been loaded
)

// parseIDPMetadata parses IdP metadata (an EntityDescriptor, or an EntitiesDescriptor holding one) and
// checks that the gate can use it: an SSO endpoint, and a signing certificate.
func parseIDPMetadata(data []byte) (*crewsaml.EntityDescriptor, error) {
	md, err := samlsp.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("IdP metadata: %w", err)
	}
	if len(md.IDPSSODescriptors) == 0 {
		return nil, errors.New("IdP metadata: no IDPSSODescriptor (is this the IdP's metadata, not the app's?)")
	}
	var sso, certs bool
	for _, d := range md.IDPSSODescriptors {
		for _, s := range d.SingleSignOnServices {
			sso = sso || (s.Binding == crewsaml.HTTPRedirectBinding || s.Binding == crewsaml.HTTPPostBinding) && s.Location != ""
		}
		for _, k := range d.KeyDescriptors {
			certs = certs || (k.Use == "" || k.Use == "signing") && len(k.KeyInfo.X509Data.X509Certificates) > 0
		}
	}
	if !sso {
		return nil, errors.New("IdP metadata: no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding")
	}
	if !certs {
		return nil, errors.New("IdP metadata: no signing certificate")
	}
	return md, nil
}

// fetchMetadata GETs the IdP metadata with a timeout and a size limit.
func fetchMetadata(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, metadataFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching IdP metadata: %s answered %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, metadataMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetching IdP metadata: %w", err)
	}
	if len(data) > metadataMaxBytes {
		return nil, fmt.Errorf("fetching IdP metadata: larger than %d bytes", metadataMaxBytes)
	}
	return data, nil
}

// RefreshMetadata fetches the IdP metadata URL again and, when it parses, switches to it; on any failure
// the last good copy stays in use. With metadata from a file it does nothing. Run calls it periodically.
func (g *Gate) RefreshMetadata(ctx context.Context) error {
	if g.opts.IDPMetadataURL == "" {
		return nil
	}
	data, err := fetchMetadata(ctx, g.opts.HTTPClient, g.opts.IDPMetadataURL)
	if err == nil {
		err = g.useMetadata(data)
	}
	if err != nil {
		g.stats.metadataFailures.Add(1)
		if g.sp.Load() == nil {
			g.log.Error("gate: no IdP metadata yet; sign-in is unavailable until it loads", "url", g.opts.IDPMetadataURL, "err", err)
		} else {
			g.log.Warn("gate: IdP metadata refresh failed; keeping the last good copy", "url", g.opts.IDPMetadataURL, "err", err)
		}
		return err
	}
	return nil
}

// useMetadata parses metadata and, when it differs from the copy in use, builds the SP on it.
func (g *Gate) useMetadata(data []byte) error {
	sum := sha256.Sum256(data)
	if cur := g.sp.Load(); cur != nil && bytes.Equal(cur.metadataSum[:], sum[:]) {
		return nil
	}
	md, err := parseIDPMetadata(data)
	if err != nil {
		return err
	}
	st, err := g.newSPState(md)
	if err != nil {
		return err
	}
	st.metadataSum = sum
	g.sp.Store(st)
	g.log.Info("gate: IdP metadata loaded", "idp_entity_id", md.EntityID)
	return nil
}

// refreshLoop refreshes the metadata every period until ctx ends; more often while none was ever loaded.
func (g *Gate) refreshLoop(ctx context.Context) {
	if g.opts.IDPMetadataURL == "" {
		return
	}
	for {
		wait := g.opts.MetadataRefresh
		if g.sp.Load() == nil {
			wait = min(wait, metadataRetryEvery)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			_ = g.RefreshMetadata(ctx) // logged
		}
	}
}
