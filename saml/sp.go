package saml

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"

	crewsaml "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
)

// trackerCookiePrefix names the short-lived cookies that tie an IdP's answer to the login we started.
const trackerCookiePrefix = "scimbridge_saml_"

// spState is the service provider built on one copy of the IdP metadata. It is never changed once
// built: a metadata refresh builds a new one and swaps it in, so requests in flight are not disturbed.
type spState struct {
	sp          *crewsaml.ServiceProvider
	tracker     samlsp.CookieRequestTracker
	metadataSum [32]byte
}

// newSPState builds the SP with samlsp's defaults, then sets what the gate needs: its own endpoint URLs
// (under the public URL's path), an unspecified NameID format (a transient NameID could never match a
// directory entry), and request-tracking cookies of its own name.
func (g *Gate) newSPState(md *crewsaml.EntityDescriptor) (*spState, error) {
	o := g.opts
	sameSite := http.SameSiteLaxMode
	if o.PublicURL.Scheme == "https" {
		// The IdP POSTs its answer from another site: a Lax cookie would not come along with it.
		sameSite = http.SameSiteNoneMode
	}
	sopts := samlsp.Options{
		EntityID:          g.paths.metadataURL,
		URL:               *o.PublicURL,
		Key:               o.Key,
		Certificate:       o.Certificate,
		HTTPClient:        o.HTTPClient,
		AllowIDPInitiated: o.AllowIDPInitiated,
		IDPMetadata:       md,
		CookieSameSite:    sameSite,
	}
	sp := samlsp.DefaultServiceProvider(sopts)
	sp.MetadataURL = mustURL(g.paths.metadataURL)
	sp.AcsURL = mustURL(g.paths.acsURL)
	sp.SloURL = mustURL(g.paths.logoutURL)
	sp.AuthnNameIDFormat = crewsaml.UnspecifiedNameIDFormat
	sp.DefaultRedirectURI = g.paths.home
	st := &spState{sp: &sp}
	st.tracker = samlsp.DefaultRequestTracker(sopts, st.sp)
	st.tracker.NamePrefix = trackerCookiePrefix
	return st, nil
}

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err) // built from a URL New has parsed
	}
	return *u
}

// serveMetadata answers the SP metadata, for the IdP administrator (or the IdP itself) to read.
func (g *Gate) serveMetadata(w http.ResponseWriter, st *spState) {
	md := st.sp.Metadata()
	for i := range md.SPSSODescriptors {
		d := &md.SPSSODescriptors[i]
		// Logout is local (it clears the gate's session), and responses come by HTTP-POST only: advertise
		// neither single logout nor the artifact binding, so that no IdP tries them.
		d.SingleLogoutServices = nil
		var acs []crewsaml.IndexedEndpoint
		for _, e := range d.AssertionConsumerServices {
			if e.Binding == crewsaml.HTTPPostBinding {
				acs = append(acs, e)
			}
		}
		d.AssertionConsumerServices = acs
	}
	buf, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		g.log.Error("gate: rendering SP metadata", "err", err)
		g.page(w, http.StatusInternalServerError, pageError)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(buf)
}

// startLogin sends the browser to the IdP, remembering returnTo (a path on this site) in a signed
// cookie that the ACS reads when the IdP answers.
func (g *Gate) startLogin(w http.ResponseWriter, r *http.Request, st *spState, returnTo string) {
	binding := crewsaml.HTTPRedirectBinding
	location := st.sp.GetSSOBindingLocation(binding)
	if location == "" {
		binding = crewsaml.HTTPPostBinding
		location = st.sp.GetSSOBindingLocation(binding)
	}
	authReq, err := st.sp.MakeAuthenticationRequest(location, binding, crewsaml.HTTPPostBinding)
	if err != nil {
		g.log.Error("gate: making the SAML request", "err", err)
		g.page(w, http.StatusInternalServerError, pageError)
		return
	}
	// The tracker records the request's URL as where to return: hand it returnTo.
	target, err := url.Parse(safeRedirect(returnTo, g.paths.home))
	if err != nil {
		target = &url.URL{Path: g.paths.home}
	}
	tr := r.Clone(r.Context())
	tr.URL = target
	relayState, err := st.tracker.TrackRequest(w, tr, authReq.ID)
	if err != nil {
		g.log.Error("gate: tracking the SAML request", "err", err)
		g.page(w, http.StatusInternalServerError, pageError)
		return
	}
	noStore(w)
	if binding == crewsaml.HTTPRedirectBinding {
		u, err := authReq.Redirect(relayState, st.sp)
		if err != nil {
			g.log.Error("gate: encoding the SAML request", "err", err)
			g.page(w, http.StatusInternalServerError, pageError)
			return
		}
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	// HTTP-POST binding: crewjam's self-submitting form, with the script hash it documents.
	w.Header().Set("Content-Security-Policy", "default-src; script-src 'sha256-AjPdJSbZmeWHnEc5ykvJFay8FTWeTeRbs9dutfZ0HqE='; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var buf bytes.Buffer
	buf.WriteString(`<!DOCTYPE html><html><body>`)
	buf.Write(authReq.Post(relayState))
	buf.WriteString(`</body></html>`)
	_, _ = w.Write(buf.Bytes())
}

// safeRedirect returns target when it is a path on this site, else fallback: never another host
// ("//evil.example", "/\evil.example", "https://..."), so RelayState cannot be an open redirect.
func safeRedirect(target, fallback string) string {
	if !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") || strings.HasPrefix(target, "/\\") ||
		strings.ContainsAny(target, "\\\r\n\t\x00") {
		return fallback
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return fallback
	}
	return target
}

// identityOf reads the identity from a validated assertion: the NameID, or the first value of the
// configured attribute, matched by Name or FriendlyName.
func (g *Gate) identityOf(a *crewsaml.Assertion) string {
	if g.opts.IdentityAttribute == "" {
		if a.Subject != nil && a.Subject.NameID != nil {
			return a.Subject.NameID.Value // as sent: "bob " is not bob (see scim.CheckIdentity)
		}
		return ""
	}
	for _, st := range a.AttributeStatements {
		for _, attr := range st.Attributes {
			if !strings.EqualFold(attr.Name, g.opts.IdentityAttribute) && !strings.EqualFold(attr.FriendlyName, g.opts.IdentityAttribute) {
				continue
			}
			for _, v := range attr.Values {
				if v.Value != "" {
					return v.Value
				}
			}
		}
	}
	return ""
}
