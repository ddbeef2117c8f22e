package console

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	crewsaml "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/scimbridge/scimbridge/saml"
)

// SSOOptions sign admins in through the IdP, as a SAML service provider of its own (entity id
// {public_url}/saml/metadata, ACS {public_url}/saml/acs) beside the gate's, with the gate's IdP, key and
// certificate. Only identities the SCIM directory knows as active members of AdminGroup get in.
type SSOOptions struct {
	Key               crypto.Signer
	Certificate       *x509.Certificate
	IDPMetadata       []byte       // the IdP metadata, or
	IDPMetadataURL    string       // where to fetch it
	HTTPClient        *http.Client // fetches IDPMetadataURL [a client with a 10s timeout]
	IdentityAttribute string       // assertion attribute holding the identity; "" for the NameID
	// Directory resolves the identity to the SCIM user (saml.StoreDirectory: the same lookup as the gate's).
	Directory saml.Directory
	// AdminGroup is the displayName (any letter case) of the IdP group, pushed over SCIM, whose members
	// may use the console.
	AdminGroup string
	// RecheckEvery is how long a session trusts the last directory answer [30s].
	RecheckEvery time.Duration
}

// sso is the console's SAML service provider. Its state is built once the IdP metadata has loaded; a
// failed fetch is tried again at the next sign-in.
type sso struct {
	c  *Console
	o  SSOOptions
	mu sync.Mutex
	sp *crewsaml.ServiceProvider
	tr samlsp.CookieRequestTracker
}

func newSSO(ctx context.Context, c *Console, o SSOOptions) (*sso, error) {
	if c.o.PublicURL == nil {
		return nil, errors.New("console: SSO needs the console's public URL (console.public_url)")
	}
	if o.Key == nil || o.Certificate == nil || o.Directory == nil || strings.TrimSpace(o.AdminGroup) == "" {
		return nil, errors.New("console: SSO needs a key, a certificate, a directory and an admin group")
	}
	if o.IDPMetadataURL == "" && len(o.IDPMetadata) == 0 {
		return nil, errors.New("console: SSO needs the IdP metadata")
	}
	if o.RecheckEvery <= 0 {
		o.RecheckEvery = 30 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	s := &sso{c: c, o: o}
	if _, err := s.provider(ctx); err != nil {
		if o.IDPMetadataURL == "" {
			return nil, err
		}
		c.log.Warn("console: IdP metadata not loaded; SSO sign-in tries again", "err", err)
	}
	return s, nil
}

// provider returns the service provider, building it first when the metadata has not loaded yet.
func (s *sso) provider(ctx context.Context) (*crewsaml.ServiceProvider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sp != nil {
		return s.sp, nil
	}
	var md *crewsaml.EntityDescriptor
	var err error
	if s.o.IDPMetadataURL != "" {
		u, perr := url.Parse(s.o.IDPMetadataURL)
		if perr != nil {
			return nil, perr
		}
		md, err = samlsp.FetchMetadata(ctx, s.o.HTTPClient, *u)
	} else {
		md, err = samlsp.ParseMetadata(s.o.IDPMetadata)
	}
	if err != nil {
		return nil, fmt.Errorf("console: IdP metadata: %w", err)
	}
	pub := *s.c.o.PublicURL
	pub.Path = strings.TrimRight(pub.Path, "/")
	sameSite := http.SameSiteLaxMode
	if pub.Scheme == "https" {
		sameSite = http.SameSiteNoneMode // the IdP's POST comes from another site
	}
	opts := samlsp.Options{EntityID: pub.String() + "/saml/metadata", URL: pub, Key: s.o.Key, Certificate: s.o.Certificate,
		HTTPClient: s.o.HTTPClient, IDPMetadata: md, CookieSameSite: sameSite}
	sp := samlsp.DefaultServiceProvider(opts)
	sp.MetadataURL = *mustParse(pub.String() + "/saml/metadata")
	sp.AcsURL = *mustParse(pub.String() + "/saml/acs")
	sp.SloURL = *mustParse(pub.String() + "/saml/logout")
	sp.AuthnNameIDFormat = crewsaml.UnspecifiedNameIDFormat
	s.sp = &sp
	s.tr = samlsp.DefaultRequestTracker(opts, s.sp)
	s.tr.NamePrefix = "scimbridge_console_saml_"
	return s.sp, nil
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err) // built from a URL already parsed
	}
	return u
}

func (s *sso) unavailable(w http.ResponseWriter, err error) {
	s.c.log.Error("console: SSO unavailable", "err", err)
	w.Header().Set("Retry-After", "10")
	s.c.render(w, http.StatusServiceUnavailable, "refused", nil, "Sign-in unavailable",
		map[string]any{"Message": "Sign-in through the identity provider is unavailable right now; try again shortly."})
}

// start sends the browser to the IdP (HTTP-Redirect binding), remembering where to come back.
func (s *sso) start(w http.ResponseWriter, r *http.Request) {
	sp, err := s.provider(r.Context())
	if err != nil {
		s.unavailable(w, err)
		return
	}
	authReq, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(crewsaml.HTTPRedirectBinding), crewsaml.HTTPRedirectBinding, crewsaml.HTTPPostBinding)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	tr := r.Clone(r.Context())
	tr.URL = mustParse(safeReturn(r.URL.Query().Get("return_to")))
	relay, err := s.tr.TrackRequest(w, tr, authReq.ID)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	u, err := authReq.Redirect(relay, sp)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// acs takes the IdP's answer: crewjam/saml validates it (signature, audience, destination, validity,
// InResponseTo a login this browser started), then the identity must be an active SCIM user in the
// admin group. The tracking cookie is dropped, so the same answer cannot sign in twice.
func (s *sso) acs(w http.ResponseWriter, r *http.Request) {
	sp, err := s.provider(r.Context())
	if err != nil {
		s.unavailable(w, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.c.refused(w, "The identity provider's answer could not be read.")
		return
	}
	var possible []string
	for _, t := range s.tr.GetTrackedRequests(r) {
		possible = append(possible, t.SAMLRequestID)
	}
	assertion, err := sp.ParseResponse(r, possible)
	if err != nil {
		var invalid *crewsaml.InvalidResponseError
		if errors.As(err, &invalid) {
			err = invalid.PrivateErr // never log the whole assertion
		}
		s.c.log.Warn("console: SSO sign-in refused: invalid SAML response", "err", err)
		s.c.refused(w, "The identity provider's answer was not valid for this console.")
		return
	}
	identity := identityOf(assertion, s.o.IdentityAttribute)
	ok, why := s.isAdmin(r.Context(), identity)
	if !ok {
		s.c.log.Warn("console: SSO sign-in refused", "identity", identity, "why", why)
		s.c.refused(w, "Signed in at the identity provider as "+identity+", but "+why+".")
		return
	}
	returnTo := "/"
	if relay := r.PostForm.Get("RelayState"); relay != "" {
		if t, err := s.tr.GetTrackedRequest(r, relay); err == nil {
			returnTo = safeReturn(t.URI)
			_ = s.tr.StopTrackingRequest(w, r, relay)
		}
	}
	if err := s.c.sessions.start(w, &session{who: identity, how: "SSO", identity: identity}); err != nil {
		s.unavailable(w, err)
		return
	}
	s.c.log.Info("console: signed in", "how", "SSO", "identity", identity)
	// A page of the console's own that moves on, rather than a redirect: the session cookie is
	// SameSite=Strict, and a redirect that continues the IdP's cross-site POST would not carry it.
	s.c.render(w, http.StatusOK, "signedin", nil, "Signed in", map[string]any{"To": returnTo})
}

// isAdmin asks the directory whether identity is an active SCIM user in the admin group; when not, it
// says why, for the refusal page.
func (s *sso) isAdmin(ctx context.Context, identity string) (bool, string) {
	u, err := s.o.Directory.FindUser(ctx, identity)
	switch {
	case errors.Is(err, saml.ErrNotFound):
		return false, "no provisioned user matches that identity"
	case err != nil:
		s.c.log.Error("console: directory unavailable", "err", err)
		return false, "the directory could not be read"
	case !u.Active:
		return false, "that account is deactivated"
	}
	for _, g := range u.Groups {
		if strings.EqualFold(g, s.o.AdminGroup) {
			return true, ""
		}
	}
	return false, "that account is not a member of the console's admin group (" + s.o.AdminGroup + ")"
}

func (s *sso) metadata(w http.ResponseWriter, r *http.Request) {
	sp, err := s.provider(r.Context())
	if err != nil {
		s.unavailable(w, err)
		return
	}
	md := sp.Metadata()
	for i := range md.SPSSODescriptors {
		md.SPSSODescriptors[i].SingleLogoutServices = nil
	}
	buf, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		s.unavailable(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(buf)
}

// identityOf reads the identity as the gate does: the NameID, or the first value of the attribute.
func identityOf(a *crewsaml.Assertion, attribute string) string {
	if attribute == "" {
		if a.Subject != nil && a.Subject.NameID != nil {
			return a.Subject.NameID.Value
		}
		return ""
	}
	for _, st := range a.AttributeStatements {
		for _, attr := range st.Attributes {
			if strings.EqualFold(attr.Name, attribute) || strings.EqualFold(attr.FriendlyName, attribute) {
				for _, v := range attr.Values {
					if v.Value != "" {
						return v.Value
					}
				}
			}
		}
	}
	return ""
}
