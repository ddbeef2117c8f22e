package webhook

import (
	"context"
	"slices"
	"strings"
	"time"
)

// EndpointStatus is an endpoint as List shows it.
type EndpointStatus struct {
	Name           string
	URL            string // "" when the endpoint is no longer configured
	Configured     bool
	Disabled       bool
	DisabledAt     *time.Time
	DisabledReason string
	Counts         map[string]int // deliveries by status (delivered: those not pruned yet)
	OldestWaiting  *time.Time     // when the oldest pending or failed delivery was enqueued
	LastSeq        int64          // outbox seq the endpoint has been fanned out to
	Backlog        Backlog        // what is still to be sent, fanned out or not
}

// Delivery is one row of the deliveries table.
type Delivery struct {
	ID            int64      `db:"id"`
	Endpoint      string     `db:"endpoint"`
	Seq           int64      `db:"seq"`
	EventID       string     `db:"event_id"`
	Type          string     `db:"type"`
	Subject       string     `db:"subject"`
	Status        string     `db:"status"`
	Attempts      int        `db:"attempts"`
	EnqueuedAt    time.Time  `db:"enqueued_at"`
	NextAttemptAt time.Time  `db:"next_attempt_at"`
	LeaseOwner    *string    `db:"lease_owner"`
	LeaseUntil    *time.Time `db:"lease_until"`
	LastAttemptAt *time.Time `db:"last_attempt_at"`
	LastStatus    *int       `db:"last_status"`
	LastError     *string    `db:"last_error"`
	DeliveredAt   *time.Time `db:"delivered_at"`
}

// ListOptions choose the deliveries List returns.
type ListOptions struct {
	Endpoint string   // "": every endpoint
	Statuses []string // default: pending, failed, dead and disabled
	Subject  string   // "": every subject; else one ("user:<id>"), for the console's user page (then without counts and backlog)
	Limit    int      // default 100
}

// Report is what List returns: every endpoint known to the configuration or to the database, and the
// deliveries chosen, oldest first.
type Report struct {
	Endpoints  []EndpointStatus
	Deliveries []Delivery
}

// List reports the state of the endpoints and their deliveries, for `scimbridge webhooks list`.
func (w *Worker) List(ctx context.Context, o ListOptions) (*Report, error) {
	var cursors []struct {
		Endpoint       string     `db:"endpoint"`
		LastSeq        int64      `db:"last_seq"`
		DisabledAt     *time.Time `db:"disabled_at"`
		DisabledReason *string    `db:"disabled_reason"`
	}
	if err := w.db.SelectContext(ctx, &cursors, "SELECT endpoint, last_seq, disabled_at, disabled_reason FROM "+w.t.Cursors()); err != nil {
		return nil, err
	}
	var counts []struct {
		Endpoint string     `db:"endpoint"`
		Status   string     `db:"status"`
		N        int        `db:"n"`
		Oldest   *time.Time `db:"oldest"`
	}
	// One subject's deliveries (the console's user page) need the endpoints' names, not their counts
	// and backlog, which read every delivery.
	stats := o.Subject == ""
	if stats {
		if err := w.db.SelectContext(ctx, &counts, "SELECT endpoint, status, COUNT(*) AS n, MIN(enqueued_at) AS oldest FROM "+
			w.t.Deliveries()+" GROUP BY endpoint, status"); err != nil {
			return nil, err
		}
	}
	byName := map[string]*EndpointStatus{}
	get := func(name string) *EndpointStatus {
		if byName[name] == nil {
			byName[name] = &EndpointStatus{Name: name, Counts: map[string]int{}}
		}
		return byName[name]
	}
	for _, ep := range w.endpoints {
		s := get(ep.Name)
		s.URL, s.Configured = ep.URL, true
	}
	for _, c := range cursors {
		s := get(c.Endpoint)
		s.LastSeq, s.DisabledAt, s.Disabled = c.LastSeq, c.DisabledAt, c.DisabledAt != nil
		if c.DisabledReason != nil {
			s.DisabledReason = *c.DisabledReason
		}
	}
	for _, c := range counts {
		s := get(c.Endpoint)
		s.Counts[c.Status] = c.N
		if (c.Status == StatusPending || c.Status == StatusFailed) && c.Oldest != nil && (s.OldestWaiting == nil || c.Oldest.Before(*s.OldestWaiting)) {
			s.OldestWaiting = c.Oldest
		}
	}
	if stats {
		backlogs, err := w.Backlog(ctx)
		if err != nil {
			return nil, err
		}
		for _, b := range backlogs {
			get(b.Endpoint).Backlog = b
		}
	}
	r := &Report{}
	for _, s := range byName {
		r.Endpoints = append(r.Endpoints, *s)
	}
	slices.SortFunc(r.Endpoints, func(a, b EndpointStatus) int { return strings.Compare(a.Name, b.Name) })

	statuses := o.Statuses
	if len(statuses) == 0 {
		statuses = []string{StatusPending, StatusFailed, StatusDead, StatusDisabled}
	}
	limit := o.Limit
	if limit <= 0 {
		limit = 100
	}
	q := "SELECT id, endpoint, seq, event_id, type, subject, status, attempts, enqueued_at, next_attempt_at, lease_owner, lease_until," +
		" last_attempt_at, last_status, last_error, delivered_at FROM " + w.t.Deliveries() + " WHERE status IN (" + marks(len(statuses)) + ")"
	args := make([]any, 0, len(statuses)+2)
	for _, s := range statuses {
		args = append(args, s)
	}
	if o.Endpoint != "" {
		q += " AND endpoint = ?"
		args = append(args, o.Endpoint)
	}
	if o.Subject != "" {
		if o.Endpoint == "" && len(r.Endpoints) > 0 {
			// Every endpoint named, so that the (endpoint, subject, ...) key serves the lookup.
			q += " AND endpoint IN (" + marks(len(r.Endpoints)) + ")"
			for _, e := range r.Endpoints {
				args = append(args, e.Name)
			}
		}
		q += " AND subject = ?"
		args = append(args, o.Subject)
	}
	q += " ORDER BY seq, endpoint LIMIT ?"
	if err := w.db.SelectContext(ctx, &r.Deliveries, q, append(args, limit)...); err != nil {
		return nil, err
	}
	return r, nil
}

// Backlog is how far an endpoint is behind: the events still to be sent to it.
type Backlog struct {
	Endpoint  string
	Waiting   int           // deliveries pending or failed
	NotFanned int           // outbox events past the endpoint's fan-out cursor (of every type: some it may not want)
	Oldest    *time.Time    // when the oldest of them was committed (its event's time); nil when there is none
	OldestAge time.Duration // now minus Oldest; 0 when there is none
}

// Backlog returns the backlog of every endpoint that has a cursor, by name, for `webhooks list` and
// for metrics. Two indexed reads; cheap enough to call every few seconds.
func (w *Worker) Backlog(ctx context.Context) ([]Backlog, error) {
	var rows []struct {
		Endpoint  string     `db:"endpoint"`
		Waiting   int        `db:"waiting_n"`
		Oldest    *time.Time `db:"oldest"`
		NotFanned int        `db:"not_fanned"`
		OldestNew *time.Time `db:"oldest_new"`
	}
	if err := w.db.SelectContext(ctx, &rows, "SELECT c.endpoint,"+
		" (SELECT COUNT(*) FROM "+w.t.Deliveries()+" d WHERE d.endpoint = c.endpoint AND d.waiting = 1) AS waiting_n,"+
		" COALESCE((SELECT o.occurred_at FROM "+w.t.Outbox()+" o WHERE o.seq = (SELECT MIN(seq) FROM "+w.t.Deliveries()+
		" d WHERE d.endpoint = c.endpoint AND d.waiting = 1)),"+
		" (SELECT MIN(enqueued_at) FROM "+w.t.Deliveries()+" d WHERE d.endpoint = c.endpoint AND d.waiting = 1)) AS oldest,"+
		" (SELECT COUNT(*) FROM "+w.t.Outbox()+" o WHERE o.seq > c.scan_seq) AS not_fanned,"+
		" (SELECT MIN(occurred_at) FROM "+w.t.Outbox()+" o WHERE o.seq > c.scan_seq) AS oldest_new"+
		" FROM "+w.t.Cursors()+" c ORDER BY c.endpoint"); err != nil {
		return nil, err
	}
	now := w.now()
	out := make([]Backlog, 0, len(rows))
	for _, r := range rows {
		b := Backlog{Endpoint: r.Endpoint, Waiting: r.Waiting, NotFanned: r.NotFanned, Oldest: r.Oldest}
		if r.OldestNew != nil && (b.Oldest == nil || r.OldestNew.Before(*b.Oldest)) {
			b.Oldest = r.OldestNew
		}
		if b.Oldest != nil {
			b.OldestAge = max(now.Sub(*b.Oldest), 0)
		}
		out = append(out, b)
	}
	return out, nil
}
