package saml_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	crewsaml "github.com/crewjam/saml"

	"github.com/scimbridge/scimbridge/saml"
)

func allowIdPInitiated(o *saml.Options) { o.AllowIDPInitiated = true }

// aliceEnv is an env where alice is known to the IdP and provisioned and active in the directory.
func aliceEnv(t *testing.T, tweaks ...options) *env {
	e := newEnv(t, tweaks...)
	e.addIdPUser(t, "alice", "alice@example.com")
	e.provision("alice@example.com", saml.User{ID: "a1", UserName: "alice@example.com"})
	return e
}

// postACS posts a SAMLResponse form to the ACS and returns the final status and page.
func postACS(t *testing.T, c *http.Client, acs string, f url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(acs, f)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(readAll(t, resp))
}

// withResponseXML returns a copy of the form whose SAMLResponse XML went through edit.
func withResponseXML(t *testing.T, f url.Values, edit func(string) string) url.Values {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(f.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	edited := edit(string(raw))
	if edited == string(raw) {
		t.Fatal("the edit changed nothing")
	}
	out := url.Values{}
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	out.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(edited)))
	return out
}

// flipMiddle changes one character in the middle of the last match of re's first group.
func flipMiddle(re *regexp.Regexp) func(string) string {
	return func(s string) string {
		locs := re.FindAllStringSubmatchIndex(s, -1)
		if len(locs) == 0 {
			return s
		}
		loc := locs[len(locs)-1]
		i := (loc[2] + loc[3]) / 2
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
}

func assertRefused(t *testing.T, e *env, status int, page, logWant string) {
	t.Helper()
	t.Logf("gate log:\n%s", e.logs)
	if status != http.StatusForbidden || !strings.Contains(page, "Sign-in failed") {
		t.Errorf("status %d, want 403 with the sign-in failed page\n%s", status, page)
	}
	if logWant != "" && !strings.Contains(strings.ToLower(e.logs.String()), strings.ToLower(logWant)) {
		t.Errorf("log does not give the reason %q:\n%s", logWant, e.logs)
	}
	if e.app.hits.Load() != 0 {
		t.Error("the app got a request")
	}
}

func TestTamperedResponseRefused(t *testing.T) {
	t.Run("encrypted assertion", func(t *testing.T) {
		e := aliceEnv(t)
		c := browser(t)
		acs, f := e.samlResponse(t, c, "alice", "/")
		if !strings.Contains(mustDecode(t, f), "EncryptedAssertion") {
			t.Fatal("expected an encrypted assertion (the SP metadata has an encryption key)")
		}
		status, page := postACS(t, c, acs, withResponseXML(t, f, flipMiddle(regexp.MustCompile(`CipherValue>([^<]+)<`))))
		assertRefused(t, e, status, page, "invalid SAML response")
		if st := e.gate.Stats(); st.LoginFailures != 1 || st.Logins != 0 {
			t.Errorf("stats = %+v", st)
		}
		// The same response untouched goes through: the refusal was the tampering.
		if status, page := postACS(t, c, acs, f); status != http.StatusOK {
			t.Errorf("untampered response: %d\n%s", status, page)
		}
	})
	t.Run("signed plaintext assertion", func(t *testing.T) {
		e := aliceEnv(t)
		// Register the SP without its encryption key, so the IdP sends the signed assertion in clear.
		plain := regexp.MustCompile(`(?s)<KeyDescriptor use="encryption">.*?</KeyDescriptor>`).ReplaceAll(e.metadata, nil)
		e.registerSP(t, "gate", plain)
		c := browser(t)
		acs, f := e.samlResponse(t, c, "alice", "/")
		if !strings.Contains(mustDecode(t, f), "alice@example.com</saml:NameID>") {
			t.Fatalf("expected a plaintext assertion:\n%s", mustDecode(t, f))
		}
		flip := func(s string) string {
			return strings.Replace(s, "alice@example.com</saml:NameID>", "alicf@example.com</saml:NameID>", 1)
		}
		status, page := postACS(t, c, acs, withResponseXML(t, f, flip))
		assertRefused(t, e, status, page, "invalid SAML response")
		// Flip a byte of the assertion's signature value instead.
		status, page = postACS(t, c, acs, withResponseXML(t, f, flipMiddle(regexp.MustCompile(`SignatureValue>([^<]+)<`))))
		assertRefused(t, e, status, page, "invalid SAML response")
		if status, page := postACS(t, c, acs, f); status != http.StatusOK {
			t.Errorf("untampered response: %d\n%s", status, page)
		}
	})
}

func mustDecode(t *testing.T, f url.Values) string {
	raw, err := base64.StdEncoding.DecodeString(f.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestExpiredResponseRefused moves crewjam/saml's clock (the package variable saml.TimeNow, which its SP
// reads to check validity windows) past the assertion's NotOnOrAfter plus the allowed clock skew.
func TestExpiredResponseRefused(t *testing.T) {
	e := aliceEnv(t)
	c := browser(t)
	acs, f := e.samlResponse(t, c, "alice", "/")

	setSAMLTime(t, func() time.Time {
		return time.Now().Add(crewsaml.MaxIssueDelay + crewsaml.MaxClockSkew + time.Minute)
	})
	status, page := postACS(t, c, acs, f)
	assertRefused(t, e, status, page, "expired")

	crewsaml.TimeNow = func() time.Time { return time.Now().UTC() } // back to now: the same response is valid
	if status, page := postACS(t, c, acs, f); status != http.StatusOK {
		t.Errorf("in time: %d\n%s", status, page)
	}
}

// idpInitiated logs in at the IdP and follows the IdP's shortcut to the service, returning the form it posts.
func (e *env) idpInitiated(t *testing.T, c *http.Client, user, shortcut, serviceEntityID string) (string, url.Values) {
	t.Helper()
	js, _ := json.Marshal(map[string]any{"name": shortcut, "service_provider": serviceEntityID, "url_suffix_as_relay_state": true})
	e.put(t, "/shortcuts/"+shortcut, js)
	resp, err := c.PostForm(e.idpSrv.URL+"/login", url.Values{"user": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP login: %s", resp.Status)
	}
	readAll(t, resp)
	resp, err = c.Get(e.idpSrv.URL + "/login/" + shortcut + "/reports")
	if err != nil {
		t.Fatal(err)
	}
	return form(t, readAll(t, resp))
}

func TestWrongAudienceRefused(t *testing.T) {
	e := aliceEnv(t, allowIdPInitiated)
	// Another service at the IdP, whose ACS is the gate's: its assertions are for another audience.
	ours := e.gateSrv.URL + "/saml/metadata"
	other := strings.Replace(string(e.metadata), `entityID="`+ours+`"`, `entityID="https://other.example.com/saml/metadata"`, 1)
	e.registerSP(t, "other", []byte(other))
	c := browser(t)
	acs, f := e.idpInitiated(t, c, "alice", "other", "https://other.example.com/saml/metadata")
	if acs != e.gateSrv.URL+"/saml/acs" {
		t.Fatalf("the IdP posts to %q", acs)
	}
	status, page := postACS(t, c, acs, f)
	assertRefused(t, e, status, page, "AudienceRestriction")
}

func TestIdPInitiatedLogin(t *testing.T) {
	t.Run("allowed", func(t *testing.T) {
		e := aliceEnv(t, allowIdPInitiated)
		c := browser(t)
		acs, f := e.idpInitiated(t, c, "alice", "app", e.gateSrv.URL+"/saml/metadata")
		if status, page := postACS(t, c, acs, f); status != http.StatusOK {
			t.Fatalf("IdP-initiated login: %d\n%s\n%s", status, page, e.logs)
		}
		if p := e.app.last(t).Get("X-Echo-Path"); p != "/reports" {
			t.Errorf("landed on %q, want the RelayState /reports", p)
		}
	})
	t.Run("RelayState to another site is not followed", func(t *testing.T) {
		e := aliceEnv(t, allowIdPInitiated)
		c := browser(t)
		acs, f := e.idpInitiated(t, c, "alice", "app", e.gateSrv.URL+"/saml/metadata")
		f.Set("RelayState", "//evil.example.com/phish") // RelayState is not signed
		resp, err := noRedirects(c).PostForm(acs, f)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "/" {
			t.Errorf("%s to %q, want a redirect to /", resp.Status, loc)
		}
	})
	t.Run("not allowed", func(t *testing.T) {
		e := aliceEnv(t)
		c := browser(t)
		acs, f := e.idpInitiated(t, c, "alice", "app", e.gateSrv.URL+"/saml/metadata")
		status, page := postACS(t, c, acs, f)
		assertRefused(t, e, status, page, "InResponseTo")
	})
}

func TestReplayedResponseRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tweaks []options
		reason string
	}{
		// crewjam ties the response to our request: the request's cookie is gone after the first use.
		{"SP-initiated only", nil, "InResponseTo"},
		// crewjam then accepts a response to no request: the gate's replay cache refuses it.
		{"IdP-initiated allowed", []options{allowIdPInitiated}, "replay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := aliceEnv(t, tc.tweaks...)
			c := browser(t)
			acs, f := e.samlResponse(t, c, "alice", "/")
			if status, page := postACS(t, c, acs, f); status != http.StatusOK {
				t.Fatalf("first post: %d\n%s", status, page)
			}
			hits := e.app.hits.Load()
			for _, who := range []*http.Client{c, browser(t)} { // the same browser, and one that stole it
				resp, err := noRedirects(who).PostForm(acs, f)
				if err != nil {
					t.Fatal(err)
				}
				page := readAll(t, resp)
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(page), "Sign-in failed") {
					t.Errorf("replay: %s, want 403\n%s", resp.Status, page)
				}
				for _, ck := range resp.Cookies() {
					if ck.Name == saml.DefaultSessionCookie && ck.Value != "" {
						t.Error("a replay got a session cookie")
					}
				}
			}
			if !strings.Contains(e.logs.String(), tc.reason) {
				t.Errorf("log does not say %q:\n%s", tc.reason, e.logs)
			}
			if e.app.hits.Load() != hits {
				t.Error("a replay reached the app")
			}
			if st := e.gate.Stats(); st.Logins != 1 || st.LoginFailures != 2 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}
