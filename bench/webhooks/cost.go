package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/bench/internal/benchenv"
	"github.com/scimbridge/scimbridge/bench/internal/legacyusers"
	"github.com/scimbridge/scimbridge/bench/internal/loadstats"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/scim"
)

// outboxCostPhase times transactions with and without the outbox INSERT, then Store.CreateUser. The
// tables are the shared legacy users table (internal/legacyapp, mapped by bench/internal/legacyusers)
// and users_plain of the same shape.
func outboxCostPhase(ctx context.Context, db *sqlx.DB, o options, out io.Writer) error {
	for _, stmt := range []string{strings.TrimSuffix(strings.TrimSpace(legacyapp.UsersTable()), ";"), "CREATE TABLE users_plain LIKE users"} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	payload, _ := json.Marshal(map[string]any{"id": uuid.NewString(), "type": "user.created", "time": time.Now().UTC(),
		"app_user_key": 1, "resource": sampleUser(uuid.NewString(), 1)})
	var seq atomic.Int64
	tx := func(withOutbox bool) func(ctx context.Context, _ int) error {
		return func(ctx context.Context, _ int) error {
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
	var without, with loadstats.Result
	for range 2 {
		r, err := loadstats.Hammer(ctx, o.txs/2, o.concurrency, tx(false))
		if err != nil {
			return err
		}
		without.Merge(r)
		if r, err = loadstats.Hammer(ctx, o.txs/2, o.concurrency, tx(true)); err != nil {
			return err
		}
		with.Merge(r)
	}
	fmt.Fprintf(out, "  BEGIN; INSERT app row; COMMIT                     %s\n", brief(without))
	fmt.Fprintf(out, "  BEGIN; INSERT app row; INSERT outbox (%d B); COMMIT %s\n", len(payload), brief(with))
	fmt.Fprintf(out, "  the outbox adds %s at p50 (%+.0f%%), %s at p99; throughput %.0f -> %.0f tx/s\n",
		loadstats.MS(with.Pct(50)-without.Pct(50)), 100*(float64(with.Pct(50))/float64(without.Pct(50))-1), loadstats.MS(with.Pct(99)-without.Pct(99)),
		without.PerSecond(), with.PerSecond())

	cfg, err := legacyusers.Config("")
	if err != nil {
		return err
	}
	a, err := benchenv.Build(ctx, db, cfg, "bench-webhooks-token-unused", app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	store := a.Store() // as `scimbridge serve` builds it
	r, err := loadstats.Hammer(ctx, o.txs, o.concurrency, func(ctx context.Context, _ int) error {
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
	fmt.Fprintf(out, "  for scale, mysql.Store.CreateUser (POST /Users without HTTP; outbox included) %s\n", brief(r))
	fmt.Fprintf(out, "  the outbox INSERT is %.0f%% of CreateUser's p50\n", 100*float64(with.Pct(50)-without.Pct(50))/float64(r.Pct(50)))
	return nil
}

// brief is this tool's report of a phase, shorter than loadstats.Result.String (no p95, no max): the
// lines compare p50 and p99 only, and stay as earlier runs printed them.
func brief(r loadstats.Result) string {
	s := fmt.Sprintf("%d in %s: %.0f/s, p50 %s, p99 %s, %d failed", r.N, r.Elapsed.Round(time.Millisecond), r.PerSecond(),
		loadstats.MS(r.Pct(50)), loadstats.MS(r.Pct(99)), r.Failures)
	if r.FirstErr != nil {
		s += fmt.Sprintf(" (first: %v)", r.FirstErr)
	}
	return s
}
