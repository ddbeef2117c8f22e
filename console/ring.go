package console

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/agent"
)

// Ring keeps the most recent SCIM requests in memory (agent.RequestDone, fed by agent.Config.OnRequest)
// and, per token name, minute counts of requests and errors for the last day. Memory is bounded: the
// ring's size, and 1440 minutes per token name (names come from the configuration, a bounded set; an
// unauthenticated request counts under "").
type Ring struct {
	mu     sync.Mutex
	buf    []agent.RequestDone
	next   int
	full   bool
	tokens map[string]*tokenStats
}

// minutesKept is how far back the per-token counts go: a day.
const minutesKept = 24 * 60

type tokenStats struct {
	last    time.Time
	minutes [minutesKept]minuteCount
}

type minuteCount struct {
	minute           int64 // Unix minute the counts are of; another value means empty
	requests, errors int
}

// NewRing keeps the last size requests (at least 1).
func NewRing(size int) *Ring {
	return &Ring{buf: make([]agent.RequestDone, max(size, 1)), tokens: map[string]*tokenStats{}}
}

// Add records an answered request. It is agent.Config.OnRequest's shape: cheap and never blocking for
// long, since every request calls it.
func (r *Ring) Add(d agent.RequestDone) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = d
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
	ts := r.tokens[d.TokenName]
	if ts == nil {
		ts = &tokenStats{}
		r.tokens[d.TokenName] = ts
	}
	at := d.Start.Add(d.Duration)
	if at.After(ts.last) {
		ts.last = at
	}
	m := at.Unix() / 60
	c := &ts.minutes[m%minutesKept]
	if c.minute != m {
		*c = minuteCount{minute: m}
	}
	c.requests++
	if d.Status >= 400 {
		c.errors++
	}
}

// Filter selects requests; zero fields select all.
type Filter struct {
	Token  string // exact token name
	Status string // "2xx", "4xx", "5xx", "errors" (4xx and 5xx) or one code such as "409"
	Text   string // in the operation, path, resource id, request id, scimType or reason, any case
	Limit  int    // most recent first; 0 for all
}

// Recent returns the requests f selects, most recent first.
func (r *Ring) Recent(f Filter) []agent.RequestDone {
	r.mu.Lock()
	all := make([]agent.RequestDone, 0, len(r.buf))
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	for i := 1; i <= n; i++ {
		all = append(all, r.buf[(r.next-i+len(r.buf))%len(r.buf)])
	}
	r.mu.Unlock()
	text := strings.ToLower(f.Text)
	out := all[:0]
	for _, d := range all {
		if f.Token != "" && d.TokenName != f.Token || !statusMatches(f.Status, d.Status) {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(strings.Join([]string{d.Operation, d.Path, d.ResourceID, d.ID, d.SCIMType, d.Reason}, "\x00")), text) {
			continue
		}
		out = append(out, d)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out
}

// ByID returns the request with this id, if the ring still holds it.
func (r *Ring) ByID(id string) (agent.RequestDone, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.buf {
		if d.ID == id && id != "" {
			return d, true
		}
	}
	return agent.RequestDone{}, false
}

func statusMatches(want string, status int) bool {
	switch want {
	case "":
		return true
	case "errors":
		return status >= 400
	case "2xx", "3xx", "4xx", "5xx":
		return status/100 == int(want[0]-'0')
	}
	return want == strconv.Itoa(status)
}

// TokenActivity is what the Overview shows per token name.
type TokenActivity struct {
	Name                   string
	Last                   time.Time // zero: no request since start
	HourRequests, HourErrs int
	DayRequests, DayErrs   int
}

// Activity returns the activity of every token name seen since start and of every name in names
// (configured tokens that sent nothing yet), sorted by name, as of now.
func (r *Ring) Activity(now time.Time, names []string) []TokenActivity {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []TokenActivity
	add := func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		a := TokenActivity{Name: name}
		if ts := r.tokens[name]; ts != nil {
			a.Last = ts.last
			cur := now.Unix() / 60
			for _, c := range ts.minutes {
				age := cur - c.minute
				if c.requests == 0 || age < 0 || age >= minutesKept {
					continue
				}
				a.DayRequests += c.requests
				a.DayErrs += c.errors
				if age < 60 {
					a.HourRequests += c.requests
					a.HourErrs += c.errors
				}
			}
		}
		out = append(out, a)
	}
	for _, n := range names {
		add(n)
	}
	for n := range r.tokens {
		add(n)
	}
	slices.SortFunc(out, func(a, b TokenActivity) int { return strings.Compare(a.Name, b.Name) })
	return out
}
