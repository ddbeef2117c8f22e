package demo_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/demo"
)

// The command itself: -walkthrough runs every step and exits 0, printing the banner, the token and curl.
func TestMainWalkthroughExitsZero(t *testing.T) {
	const token = "test-token-0123456789abcdef"
	var out, errOut bytes.Buffer
	code := demo.Main(context.Background(), []string{"-walkthrough", "-token", token}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{demo.Banner, "Bearer token    " + token, "export SCIM=", "curl -sS", "Walkthrough done",
		" SAML gate       http://127.0.0.1:", "carol / ", "alice / ", "dan   / ", "\n[gate]\n", `recheck_every = "2s"`,
		"Signed in through the gate as carol@example.com", "and in a browser: sign in at the gate",
		"\n[[webhooks]]\n", "Webhooks the app received at /hooks/scim", "  user.deactivated  user:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMainRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-token", "short"}, 1},
		{[]string{"extra"}, 2},
		{[]string{"-nope"}, 2},
	} {
		var out, errOut bytes.Buffer
		if code := demo.Main(context.Background(), tc.args, &out, &errOut); code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, errOut.String())
		}
	}
}

// syncBuffer is a bytes.Buffer that Main may write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Without -walkthrough the demo serves until its context ends (Ctrl-C, SIGTERM), then stops cleanly.
func TestMainServesUntilStopped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- demo.Main(ctx, nil, &out, &errOut) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C to stop.") {
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not start:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	appURL := field(out.String(), "Legacy app")
	resp, err := http.Get(appURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("app page: %d", resp.StatusCode)
	}
	// The gate sends a browser to the IdP printed above it.
	gateURL, idpURL := field(out.String(), "SAML gate"), field(out.String(), "Test IdP")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noRedirect.Get(gateURL); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || idpURL == "" ||
			!strings.HasPrefix(loc, strings.TrimSuffix(idpURL, "/metadata")+"/sso?") {
			t.Errorf("gate %s: %d to %q, want a redirect to the IdP %s", gateURL, resp.StatusCode, loc, idpURL)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d\n%s", code, errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not stop")
	}
	for _, u := range []string{appURL, gateURL, idpURL} {
		if _, err := http.Get(u); err == nil {
			t.Errorf("%s still answers after the stop", u)
		}
	}
}

// field returns the first word after label on its line of the demo's output.
func field(out, label string) string {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), label); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}
