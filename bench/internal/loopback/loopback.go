// Package loopback calls a SCIM API served on 127.0.0.1 over real HTTP with a bearer token, as an IdP
// would, so that what the load tools time includes HTTP, JSON and auth, and nothing they start listens
// beyond loopback.
package loopback

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Server is a SCIM API served on loopback (by internal/app, see benchenv.Env.Serve), and a client for it.
type Server struct {
	URL    string // http://127.0.0.1:<port> followed by the base path
	token  string
	client *http.Client
}

// Client calls the SCIM API at url (the server's address followed by the base path) with token. timeout
// bounds one request; clients is how many requests the tool has in flight at most, so that the client
// keeps a connection for each between them.
func Client(url, token string, clients int, timeout time.Duration) *Server {
	return &Server{
		URL:   url,
		token: token,
		client: &http.Client{Timeout: timeout, Transport: &http.Transport{
			MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients, DisableCompression: true,
		}},
	}
}

// Do sends method URL+path with the bearer token and body as application/scim+json (no body when nil),
// and returns the answer's status and body.
func (s *Server) Do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return resp.StatusCode, got, err
}

// Call sends method URL+path as Do does and expects status want; it decodes a JSON answer into out
// unless out is nil. Another status is an error quoting the answer.
func (s *Server) Call(ctx context.Context, method, path string, body []byte, want int, out any) error {
	status, got, err := s.Do(ctx, method, path, body)
	if err != nil {
		return err
	}
	label := path
	if p, err := url.QueryUnescape(path); err == nil {
		label = p
	}
	if status != want {
		return fmt.Errorf("%s %s: %d %s", method, label, status, bytes.TrimSpace(got))
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, label, err)
		}
	}
	return nil
}

// Close closes the client's idle connections.
func (s *Server) Close() { s.client.CloseIdleConnections() }
