package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// outcome is what one attempt (a POST and its short retries) came to.
type outcome struct {
	ok         bool          // 2xx: the receiver has the event
	gone       bool          // 410: the receiver wants no more events
	aborted    bool          // the worker is stopping; not an attempt
	held       bool          // not posted: an earlier event of its subject failed, or the lease ran short; not an attempt
	status     int           // last HTTP status, 0 when there was no answer
	err        string        // what went wrong, for last_error
	retryAfter time.Duration // the receiver's Retry-After, if any
}

// sender posts events to one endpoint. go-retryablehttp makes the few quick retries of one attempt
// (a refused connection, a 503 during a deploy); retries spanning hours are the database's job.
type sender struct {
	ep     *Endpoint
	client *retryablehttp.Client
}

func newSender(ep *Endpoint, o *Options, lanes int) *sender {
	tr := http.DefaultTransport.(*http.Transport).Clone() // one per endpoint: a failure closes its idle connections
	tr.MaxIdleConnsPerHost = lanes                        // keep a connection per post in flight
	hc := &http.Client{
		Transport: tr,
		Timeout:   ep.Timeout,
		// A redirect is not an acknowledgement: the 3xx is the answer, and a failure.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	maxWait := o.ShortWaitMax
	return &sender{ep: ep, client: &retryablehttp.Client{
		HTTPClient:   hc,
		RetryWaitMin: o.ShortWaitMin,
		RetryWaitMax: maxWait,
		RetryMax:     max(o.ShortRetries, 0),
		CheckRetry:   retryablehttp.DefaultRetryPolicy,
		// DefaultBackoff honours Retry-After, which may say an hour: never wait longer than maxWait here.
		Backoff: func(lo, hi time.Duration, n int, resp *http.Response) time.Duration {
			return min(retryablehttp.DefaultBackoff(lo, hi, n, resp), maxWait)
		},
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}}
}

// maxDuration bounds one attempt: every request timing out, with the waits between them.
func (s *sender) maxDuration() time.Duration {
	n := time.Duration(max(s.client.RetryMax, 0) + 1)
	return n*s.ep.Timeout + time.Duration(s.client.RetryMax)*s.client.RetryWaitMax
}

// post sends body as event id, signed at now. stop is done when the worker is told to stop; ctx
// bounds the attempt.
func (s *sender) post(ctx, stop context.Context, id string, body []byte, now time.Time) outcome {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, s.ep.URL, body)
	if err != nil {
		return outcome{err: err.Error()}
	}
	setHeaders(req.Header, s.ep.Secret, id, now, body)
	resp, err := s.client.Do(req)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil && resp == nil {
		if stop.Err() != nil && errors.Is(err, context.Canceled) {
			return outcome{aborted: true, err: "the worker stopped"}
		}
		return outcome{err: shorten(err.Error())}
	}
	o := outcome{status: resp.StatusCode}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		o.ok = true
	case resp.StatusCode == http.StatusGone:
		o.gone = true
		o.err = "410 Gone: " + readSome(resp.Body)
	default:
		o.err = resp.Status + ": " + readSome(resp.Body)
		if secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && secs > 0 {
			o.retryAfter = time.Duration(secs) * time.Second
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return o
}

// readSome returns the start of a response body, for last_error.
func readSome(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 300))
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "(empty body)"
	}
	return shorten(strings.ToValidUTF8(string(b), "?"))
}

func shorten(s string) string {
	if len(s) > 900 {
		s = strings.ToValidUTF8(s[:900], "") + "..."
	}
	return s
}

// describe is an outcome as a log value.
func (o outcome) describe() string {
	if o.status == 0 {
		return o.err
	}
	return fmt.Sprintf("HTTP %d: %s", o.status, o.err)
}
