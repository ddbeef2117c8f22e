package agent

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/scimbridge/scimbridge/scim"
)

// writeError is the one place where errors become HTTP responses: a SCIM error body with the public
// detail only. Causes of server-side failures are logged with the request, never sent.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		err = scim.Errorf(http.StatusRequestEntityTooLarge, "", "the request body is larger than %d bytes", maxErr.Limit)
	}
	se := scim.AsError(err)
	switch {
	case se.Status >= 500:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", se.Status, "err", err)
	case se.Err != nil:
		s.log.Info("request refused", "method", r.Method, "path", r.URL.Path, "status", se.Status, "err", err)
	}
	if se.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(s.retryAfterSeconds))
	}
	body := map[string]any{
		"schemas": []string{scim.ErrorURN},
		"status":  strconv.Itoa(se.Status), // RFC 7644 3.12 gives status as a string
		"detail":  se.Detail,
	}
	if se.ScimType != "" {
		body["scimType"] = se.ScimType
	}
	s.writeJSON(w, se.Status, body)
}
