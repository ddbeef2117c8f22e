package agent_test

// Retries after an ambiguous commit: the POST committed, the server could only answer 503 (the database
// died between the commit and its acknowledgement), the IdP sends it again.

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/agent"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// lostAck is the store with one failure a real server cannot produce on demand: while losing is set,
// a create commits and then fails as a connection lost during COMMIT does (503).
type lostAck struct {
	agent.UserStore
	losing atomic.Bool
}

func (l *lostAck) CreateUser(ctx context.Context, r scim.Resource) (scim.Resource, error) {
	out, err := l.UserStore.CreateUser(ctx, r)
	if err == nil && l.losing.Load() {
		return nil, scim.Errorf(http.StatusServiceUnavailable, "", "the database connection was lost during COMMIT")
	}
	return out, err
}

// newLostAckE2E is an e2e environment whose store loses the next create's acknowledgement.
func newLostAckE2E(t *testing.T, now func() time.Time) (*e2eEnv, *lostAck) {
	la := &lostAck{}
	la.losing.Store(true)
	e := newE2E(t, e2eOptions{now: now, agent: func(c *agent.Config) { la.UserStore = c.Users; c.Users = la }})
	return e, la
}

// ackDropper is a TCP proxy in front of the server that, while dropping is set, forwards the request
// and cuts the client's connection at the first byte of the answer: the server has committed and
// answered, the client never hears it.
type ackDropper struct {
	ln       net.Listener
	target   string
	dropping atomic.Bool
	dropped  atomic.Int32
}

func newAckDropper(t *testing.T, target string) *ackDropper {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &ackDropper{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *ackDropper) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { _, _ = io.Copy(server, client) }()
	if !p.dropping.Load() {
		_, _ = io.Copy(client, server)
		return
	}
	buf := make([]byte, 1)
	if n, _ := server.Read(buf); n > 0 {
		p.dropped.Add(1)
	}
	if tc, ok := client.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // a reset, as when the network between the two dies
	}
}

func (p *ackDropper) post(t *testing.T, body string) (*http.Response, []byte, error) {
	req, err := http.NewRequest("POST", "http://"+p.ln.Addr().String()+"/scim/v2/Users", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	req.Header.Set("Content-Type", "application/scim+json")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp, raw, err
}

const retryBody = `{"schemas":["` + scim.UserSchema + `","` + e2eEnterprise + `"],"userName":"rita@example.com","externalId":"okta-rita",` +
	`"name":{"givenName":"Rita","familyName":"Retry"},"displayName":"Rita Retry","title":"Engineer","nickName":"rr",` +
	`"password":"s3cret-Passw0rd","emails":[{"value":"rita@example.com","type":"work","primary":true},{"value":"rr@home.example","type":"home"}],` +
	`"` + e2eEnterprise + `":{"department":"R&D","employeeNumber":"E-7"}}`

func TestE2ERetriedCreateAfterLostAckAnswers201WithTheSameUser(t *testing.T) {
	clock := testfix.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	e, la := newLostAckE2E(t, clock.Now)
	e2eWantError(t, e.do("POST", "/Users", retryBody), 503, "")
	la.losing.Store(false)
	var ids []string
	if err := e.db.Select(&ids, "SELECT id FROM scim_users WHERE user_name = 'rita@example.com'"); err != nil || len(ids) != 1 {
		t.Fatalf("after the lost answer the bookkeeping has %v (%v); want the one committed user", ids, err)
	}
	events := e.lastSeq()

	// The IdP retries a little later, listing the emails in another order.
	clock.Advance(20 * time.Second)
	reordered := strings.Replace(retryBody, `{"value":"rita@example.com","type":"work","primary":true},{"value":"rr@home.example","type":"home"}`,
		`{"type":"home","value":"rr@home.example"},{"primary":true,"value":"rita@example.com","type":"work"}`, 1)
	r := e.want(e.do("POST", "/Users", reordered), 201, "the retried POST")
	if r.Body["id"] != ids[0] || r.Body["userName"] != "rita@example.com" || r.Header.Get("Location") == "" {
		t.Errorf("the retried POST answered id %v (Location %q), want the committed user %s", r.Body["id"], r.Header.Get("Location"), ids[0])
	}
	var n int
	if err := e.db.Get(&n, "SELECT COUNT(*) FROM users WHERE email = 'rita@example.com'"); err != nil || n != 1 {
		t.Errorf("the app has %d rows for rita (%v), want 1", n, err)
	}
	if got := e.events(events); len(got) != 0 {
		t.Errorf("the retry wrote %d events, want none: it changed nothing", len(got))
	}
}

func TestE2ERetriedCreateThatDiffersStillConflicts(t *testing.T) {
	clock := testfix.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	e, la := newLostAckE2E(t, clock.Now)
	e2eWantError(t, e.do("POST", "/Users", retryBody), 503, "")
	la.losing.Store(false)

	// The same body again, moments later: a retry, answered as the create.
	clock.Advance(time.Second)
	again := e.want(e.do("POST", "/Users", retryBody), 201, "the same POST again").Body
	id := e2eStr(again["id"])
	before := testfix.Dump(t, e.db)
	for _, c := range []struct{ name, from, to string }{
		{"another externalId", `"okta-rita"`, `"okta-rita-2"`},
		{"no externalId", `"externalId":"okta-rita",`, ``},
		{"another title", `"Engineer"`, `"Manager"`},
		{"another department", `"R&D"`, `"Sales"`},
		{"an attribute less", `"nickName":"rr",`, ``},
		{"an attribute more", `"nickName":"rr",`, `"nickName":"rr","locale":"de-CH",`},
		{"an email less", `,{"value":"rr@home.example","type":"home"}`, ``},
		{"inactive", `"nickName":"rr",`, `"nickName":"rr","active":false,`},
	} {
		body := strings.Replace(retryBody, c.from, c.to, 1)
		if body == retryBody {
			t.Fatalf("%s: the replacement did not apply", c.name)
		}
		e2eWantError(t, e.do("POST", "/Users", body), 409, "")
	}
	// The same body after the window: another create of a name that is taken.
	clock.Advance(2 * time.Minute)
	e2eWantError(t, e.do("POST", "/Users", retryBody), 409, "")
	if testfix.Dump(t, e.db) != before {
		t.Error("a refused POST changed the database")
	}
	// A user the app changed since (PATCH) is no longer what the retry describes.
	clock.Advance(-2 * time.Minute)
	e.want(e.patch(id, `[{"op":"replace","path":"title","value":"CTO"}]`), 200, "PATCH title")
	e2eWantError(t, e.do("POST", "/Users", retryBody), 409, "")
}

// A create that was answered 201 and then lost on the network is, to the server, a duplicate when sent
// again: 409, as Microsoft's SCIM validator requires of a repeated identical POST. Only creates the server
// itself answered 503 are retried as creates.
func TestE2ERepeatedCreateThatWasAnsweredConflicts(t *testing.T) {
	clock := testfix.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	e := newE2E(t, e2eOptions{now: clock.Now})
	proxy := newAckDropper(t, e.http.Listener.Addr().String())
	proxy.dropping.Store(true)
	if resp, _, err := proxy.post(t, retryBody); err == nil {
		t.Fatalf("the first POST was answered (%d) through a proxy that drops answers", resp.StatusCode)
	}
	if proxy.dropped.Load() != 1 {
		t.Fatalf("the proxy dropped %d answers, want 1", proxy.dropped.Load())
	}
	clock.Advance(time.Second)
	e2eWantError(t, e.do("POST", "/Users", retryBody), 409, "")
	e2eWantError(t, e.do("POST", "/Users", retryBody), 409, "")
	var n int
	if err := e.db.Get(&n, "SELECT COUNT(*) FROM users WHERE email = 'rita@example.com'"); err != nil || n != 1 {
		t.Errorf("the app has %d rows for rita (%v), want 1", n, err)
	}
}
