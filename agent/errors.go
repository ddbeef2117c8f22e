package agent

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

// writeError is the one place where errors become HTTP responses: a SCIM error body with the public
// detail (and the request id) only. Causes are logged with the request's access-log line, never sent.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		err = scim.Errorf(http.StatusRequestEntityTooLarge, "", "the request body is larger than %d bytes", maxErr.Limit)
	}
	se := scim.AsError(err)
	// The access log (observe) writes the error with the request's line: its type, detail and cause.
	st := stateOf(r.Context())
	st.scimType, st.reason, st.cause = se.ScimType, se.Detail, se.Err
	switch {
	case se.RetryAfter > 0:
		// The error knows when a retry can succeed (a deactivation the circuit breaker holds).
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((se.RetryAfter+time.Second-1)/time.Second))))
	case se.Status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(s.retryAfterSeconds))
	}
	body := map[string]any{
		"schemas": []string{scim.ErrorURN},
		"status":  strconv.Itoa(se.Status), // RFC 7644 3.12 gives status as a string
		"detail":  se.Detail,
	}
	if st.id != "" {
		// The id the client got in X-Request-Id, also in the body: what an IdP's admin console shows
		// of a failed request is often the body only, and the id finds its access-log line.
		body["detail"] = se.Detail + " (request id " + st.id + ")"
	}
	if se.ScimType != "" {
		body["scimType"] = se.ScimType
	}
	s.writeJSON(w, se.Status, body)
}
