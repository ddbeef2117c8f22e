package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// The shared legacy users table and mapping (internal/legacyapp); users_plain has the same shape.
const usersTOML = legacyapp.UsersTOML

// outboxCostPhase times transactions with and without the outbox INSERT, then Store.CreateUser.
func outboxCostPhase(ctx context.Context, db *sqlx.DB, o options, out io.Writer) error {
	for _, stmt := range []string{strings.TrimSuffix(strings.TrimSpace(legacyapp.UsersTable()), ";"), "CREATE TABLE users_plain LIKE users"} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	payload, _ := json.Marshal(map[string]any{"id": uuid.NewString(), "type": "user.created", "time": time.Now().UTC(),
		"app_user_key": 1, "resource": sampleUser(uuid.NewString(), 1)})
	var seq atomic.Int64
	tx := func(withOutbox bool) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			n := seq.Add(1)
			t, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
			if err != nil {
				return err
			}
			defer t.Rollback()
			email := fmt.Sprintf("plain%07d@bench.example.com", n)
			if _, err := t.ExecContext(ctx, "INSERT INTO users_plain (email, email_lower, first_name, last_name, display_name, status, password_hash, created_at, updated_at)"+
				" VALUES (?, ?, 'Ann', 'Lee', 'Ann Lee', 1, '!scim', UTC_TIMESTAMP(), UTC_TIMESTAMP())", email, email); err != nil {
				return err
			}
			if withOutbox {
				if _, err := t.ExecContext(ctx, "INSERT INTO scim_outbox (event_id, type, subject, occurred_at, payload) VALUES (?, 'user.created', ?, UTC_TIMESTAMP(6), ?)",
					uuid.NewString(), "user:"+uuid.NewString(), payload); err != nil {
					return err
				}
			}
			return t.Commit()
		}
	}
	fmt.Fprintf(out, "== phase 2: what the outbox adds to a write\nmysql.Store has no switch to leave the outbox out, so its INSERT is timed directly: %d transactions of each kind, %d clients, alternating rounds\n",
		o.txs, o.concurrency)
	var without, with result
	for round := range 2 {
		_ = round
		r, err := hammer(ctx, o.txs/2, o.concurrency, tx(false))
		if err != nil {
			return err
		}
		without.merge(r)
		if r, err = hammer(ctx, o.txs/2, o.concurrency, tx(true)); err != nil {
			return err
		}
		with.merge(r)
	}
	fmt.Fprintf(out, "  BEGIN; INSERT app row; COMMIT                     %s\n", without)
	fmt.Fprintf(out, "  BEGIN; INSERT app row; INSERT outbox (%d B); COMMIT %s\n", len(payload), with)
	fmt.Fprintf(out, "  the outbox adds %s at p50 (%+.0f%%), %s at p99; throughput %.0f -> %.0f tx/s\n",
		ms(with.pct(50)-without.pct(50)), 100*(float64(with.pct(50))/float64(without.pct(50))-1), ms(with.pct(99)-without.pct(99)),
		without.perSecond(), with.perSecond())

	var cfg mapping.UsersConfig
	if _, err := toml.Decode(usersTOML, &cfg); err != nil {
		return err
	}
	m, err := mapping.Compile(cfg)
	if err != nil {
		return err
	}
	store := mysql.New(db, m, mysql.Options{})
	r, err := hammer(ctx, o.txs, o.concurrency, func(ctx context.Context) error {
		n := seq.Add(1)
		var res scim.Resource
		dec := json.NewDecoder(bytes.NewBufferString(fmt.Sprintf(`{"userName":"store%07d@bench.example.com","name":{"givenName":"Ann","familyName":"Lee"},`+
			`"emails":[{"value":"store%07d@bench.example.com","type":"work","primary":true}],"active":true}`, n, n)))
		dec.UseNumber()
		if err := dec.Decode(&res); err != nil {
			return err
		}
		_, err := store.CreateUser(ctx, res)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  for scale, mysql.Store.CreateUser (POST /Users without HTTP; outbox included) %s\n", r)
	fmt.Fprintf(out, "  the outbox INSERT is %.0f%% of CreateUser's p50\n", 100*float64(with.pct(50)-without.pct(50))/float64(r.pct(50)))
	return nil
}

type result struct {
	n, failures int
	firstErr    error
	elapsed     time.Duration
	latencies   []time.Duration // sorted
}

func (r *result) merge(o result) {
	r.n += o.n
	r.failures += o.failures
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
	slices.Sort(r.latencies)
}

func (r result) perSecond() float64 { return float64(r.n-r.failures) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p/100*float64(len(r.latencies))+0.5) - 1
	return r.latencies[max(0, min(i, len(r.latencies)-1))]
}

func (r result) String() string {
	s := fmt.Sprintf("%d in %s: %.0f/s, p50 %s, p99 %s, %d failed", r.n, r.elapsed.Round(time.Millisecond), r.perSecond(), ms(r.pct(50)), ms(r.pct(99)), r.failures)
	if r.firstErr != nil {
		s += fmt.Sprintf(" (first: %v)", r.firstErr)
	}
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// hammer runs op n times on conc goroutines, timing each call.
func hammer(ctx context.Context, n, conc int, op func(context.Context) error) (result, error) {
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	res := result{n: n}
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for ctx.Err() == nil && next.Add(1) <= int64(n) {
				t := time.Now()
				err := op(ctx)
				d := time.Since(t)
				mu.Lock()
				res.latencies = append(res.latencies, d)
				if err != nil {
					res.failures++
					if res.firstErr == nil {
						res.firstErr = err
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.latencies)
	return res, ctx.Err()
}
