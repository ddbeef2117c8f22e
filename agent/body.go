package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

// readJSON reads a request body (application/scim+json or application/json) within the size limit,
// checks its text (scim.CheckJSONText) and decodes it into into.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, into any) error {
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	if ct != "" && !strings.Contains(ct, "json") {
		return scim.Errorf(http.StatusUnsupportedMediaType, "", "send application/scim+json, not %s", ct)
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if err := scim.CheckJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return scim.BadRequest(scim.TypeInvalidSyntax, "the body is not valid JSON: %s", jsonProblem(err))
	}
	if dec.More() {
		return scim.BadRequest(scim.TypeInvalidSyntax, "the body has data after the JSON value")
	}
	return nil
}

// readBody reads the whole body. A client that stops sending before the end of its Content-Length gets
// 400 once nothing has arrived for BodyIdleTimeout, instead of holding the request until its deadline
// and then hearing 503 "timed out", which would tell it to retry the same broken body.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	src := &idleReader{r: http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), rc: rc, idle: s.cfg.BodyIdleTimeout}
	body, err := io.ReadAll(src)
	if src.armed {
		_ = rc.SetReadDeadline(time.Time{})
	}
	var maxErr *http.MaxBytesError
	switch {
	case err == nil:
		return body, nil
	case errors.As(err, &maxErr):
		return nil, err
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The rest of the body will not come: a deadline in the past makes net/http's drain of it fail
		// at once, and the connection closes after the answer.
		_ = rc.SetReadDeadline(time.Unix(1, 0))
		w.Header().Set("Connection", "close")
		return nil, scim.BadRequest(scim.TypeInvalidSyntax,
			"the body stopped after %d of the %d bytes its Content-Length announces", len(body), r.ContentLength)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, scim.BadRequest(scim.TypeInvalidSyntax,
			"the body is shorter (%d bytes) than its Content-Length (%d)", len(body), r.ContentLength)
	}
	return nil, scim.BadRequest(scim.TypeInvalidSyntax, "the body could not be read")
}

// idleReader moves the connection's read deadline forward before each read, so a body that keeps
// arriving is read however long it takes, and one that stalls fails after idle. The deadline is on the
// network connection, so it is wall-clock time (not the injected clock). Where the connection has no
// deadlines (HTTP/2, a test recorder), it reads plainly.
type idleReader struct {
	r     io.Reader
	rc    *http.ResponseController
	idle  time.Duration
	armed bool
}

func (ir *idleReader) Read(p []byte) (int, error) {
	if ir.idle > 0 && ir.rc.SetReadDeadline(time.Now().Add(ir.idle)) == nil {
		ir.armed = true
	}
	return ir.r.Read(p)
}

// readObject reads a POST or PUT body for rt: a JSON object whose schemas fit rt.
func (s *Server) readObject(w http.ResponseWriter, r *http.Request, rt *scim.ResourceType) (map[string]any, error) {
	var raw map[string]any
	if err := s.readJSON(w, r, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, scim.BadRequest(scim.TypeInvalidSyntax, "the body must be a JSON object")
	}
	return raw, rt.CheckSchemas(raw, s.cfg.ExtraSchemas)
}
