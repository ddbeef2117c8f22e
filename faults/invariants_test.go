package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

func idOf(t *testing.T, body []byte) string {
	t.Helper()
	var r struct{ ID string }
	if err := json.Unmarshal(body, &r); err != nil || r.ID == "" {
		t.Fatalf("no id in %s", body)
	}
	return r.ID
}

// checkDrained waits until every outbox event has been acknowledged by the receiver and no delivery
// is left waiting.
func checkDrained(t *testing.T, db *sqlx.DB, rec *receiver, limit time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		var events []string
		if err := db.Select(&events, "SELECT event_id FROM scim_outbox"); err != nil {
			t.Fatal(err)
		}
		var waiting, dead int
		if err := db.Get(&waiting, "SELECT COUNT(*) FROM scim_webhook_deliveries WHERE status IN ('pending', 'failed', 'disabled')"); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(&dead, "SELECT COUNT(*) FROM scim_webhook_deliveries WHERE status = 'dead'"); err != nil {
			t.Fatal(err)
		}
		acked, _, _ := rec.snapshot()
		got := map[string]bool{}
		for _, id := range acked {
			got[id] = true
		}
		missing := 0
		for _, id := range events {
			if !got[id] {
				missing++
			}
		}
		if dead > 0 {
			t.Fatalf("%d deliveries dead", dead)
		}
		if missing == 0 && waiting == 0 {
			t.Logf("all %d events delivered %s after the load", len(events), time.Since(start).Round(time.Second))
			return
		}
		if time.Since(start) > limit {
			var by []struct {
				Status string  `db:"status"`
				N      int     `db:"n"`
				Err    *string `db:"err"`
			}
			_ = db.Select(&by, "SELECT status, COUNT(*) AS n, MAX(last_error) AS err FROM scim_webhook_deliveries GROUP BY status")
			for _, b := range by {
				e := ""
				if b.Err != nil {
					e = *b.Err
				}
				t.Logf("deliveries %s: %d (a last error: %s)", b.Status, b.N, e)
			}
			var cursors []struct {
				LastSeq int64   `db:"last_seq"`
				ScanSeq int64   `db:"scan_seq"`
				Dis     *string `db:"disabled_reason"`
			}
			_ = db.Select(&cursors, "SELECT last_seq, scan_seq, disabled_reason FROM scim_webhook_cursors")
			t.Logf("cursors: %+v", cursors)
			t.Fatalf("after %s: %d of %d events never acknowledged, %d deliveries waiting", limit, missing, len(events), waiting)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// checkNoHalfWrittenUser: every live SCIM user has its app row, and every app row its bookkeeping row.
func checkNoHalfWrittenUser(t *testing.T, db *sqlx.DB) {
	t.Helper()
	var orphans, bare int
	if err := db.Get(&orphans, "SELECT COUNT(*) FROM scim_users s LEFT JOIN users u ON u.id = s.app_id WHERE s.deleted_at IS NULL AND u.id IS NULL"); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&bare, "SELECT COUNT(*) FROM users u LEFT JOIN scim_users s ON s.app_id = u.id WHERE s.id IS NULL"); err != nil {
		t.Fatal(err)
	}
	if orphans+bare > 0 {
		t.Errorf("half-written users: %d bookkeeping rows without their app row, %d app rows without their bookkeeping row", orphans, bare)
	}
}

// checkOneEventPerCommittedWrite: for each user the clients wrote, the user's own events (not the
// groups') number at least the writes acknowledged and at most those plus the writes left without an
// answer; a POST without an answer made either one user with one event, or nothing.
func checkOneEventPerCommittedWrite(t *testing.T, db *sqlx.DB, l *mixedLoad) {
	t.Helper()
	counts := map[string]int{}
	var rows []struct {
		Subject string `db:"subject"`
		N       int    `db:"n"`
	}
	if err := db.Select(&rows, "SELECT subject, COUNT(*) AS n FROM scim_outbox WHERE type LIKE 'user.%' GROUP BY subject"); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		counts[r.Subject] = r.N
	}
	checked := 0
	for _, u := range l.users {
		id := u.id
		if id == "" {
			err := db.Get(&id, "SELECT id FROM scim_users WHERE user_name = ?", u.userName)
			if err != nil {
				continue // the unanswered POST did not commit: nothing to find
			}
		}
		n := counts["user:"+id]
		if n < u.acked || n > u.acked+u.ambiguous {
			t.Errorf("user %s (%s): %d events for %d acknowledged and %d unanswered writes", id, u.userName, n, u.acked, u.ambiguous)
		}
		checked++
	}
	t.Logf("events checked against the writes of %d users", checked)
}

// checkDeliveredInOrder: each subject's events were first acknowledged in seq order, every signature
// verified.
func checkDeliveredInOrder(t *testing.T, db *sqlx.DB, rec *receiver) {
	t.Helper()
	var rows []struct {
		Seq     int64  `db:"seq"`
		EventID string `db:"event_id"`
		Subject string `db:"subject"`
	}
	if err := db.Select(&rows, "SELECT seq, event_id, subject FROM scim_outbox"); err != nil {
		t.Fatal(err)
	}
	type ref struct {
		seq     int64
		subject string
	}
	byID := map[string]ref{}
	for _, r := range rows {
		byID[r.EventID] = ref{r.Seq, r.Subject}
	}
	acked, bad, counts := rec.snapshot()
	seen := map[string]bool{}
	last := map[string]int64{}
	dups := 0
	for _, id := range acked {
		if seen[id] {
			dups++
			continue
		}
		seen[id] = true
		r, ok := byID[id]
		if !ok {
			t.Errorf("received event %s, which is not in the outbox", id)
			continue
		}
		if r.seq < last[r.subject] {
			t.Errorf("%s: seq %d acknowledged after seq %d", r.subject, r.seq, last[r.subject])
		}
		last[r.subject] = r.seq
	}
	if bad > 0 {
		t.Errorf("%d requests with a bad signature", bad)
	}
	t.Logf("receiver: %d acknowledged (%d again after a crash), requests by mode %v", len(acked), dups, counts)
}

// concurrentPosts sends 50 POSTs of one userName at once, twice: with bodies that differ and with one
// body. Either way: one user, one 201 and 49 409 (a repeated create is a duplicate unless this server
// answered it 503, `retry_window` in README).
func concurrentPosts(t *testing.T, db *sqlx.DB, a *api) {
	for _, identical := range []bool{false, true} {
		userName := fmt.Sprintf("same-%t@example.com", identical)
		statuses := fanOut(50, func(i int) int {
			display := fmt.Sprintf("same %d", i)
			if identical {
				display = "same"
			}
			s, _, _ := a.do(context.Background(), http.MethodPost, "/Users", userBody(userName, display))
			return s
		})
		var n int
		if err := db.Get(&n, "SELECT COUNT(*) FROM users WHERE email = ?", userName); err != nil {
			t.Fatal(err)
		}
		if n != 1 || statuses[http.StatusCreated] != 1 || statuses[http.StatusConflict] != 49 {
			t.Errorf("identical bodies %t: %d app rows; answers %v; want 1 row, one 201 and 49 409", identical, n, statuses)
		}
	}
}

func concurrentMemberAdds(t *testing.T, db *sqlx.DB, a *api) {
	ctx := context.Background()
	s, _, got := a.do(ctx, http.MethodPost, "/Groups", map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "fifty"})
	if s != http.StatusCreated {
		t.Fatalf("POST /Groups: %d %s", s, got)
	}
	g := idOf(t, got)
	ids := make([]string, 50)
	for i := range ids {
		s, _, got := a.do(ctx, http.MethodPost, "/Users", userBody(fmt.Sprintf("member-%d@example.com", i), "m"))
		if s != http.StatusCreated {
			t.Fatalf("POST /Users: %d %s", s, got)
		}
		ids[i] = idOf(t, got)
	}
	statuses := fanOut(50, func(i int) int {
		s, _, _ := a.do(ctx, http.MethodPatch, "/Groups/"+g, patchBody(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": ids[i]}}}))
		return s
	})
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM scim_group_members WHERE group_id = ?", g); err != nil {
		t.Fatal(err)
	}
	if n != 50 || statuses[http.StatusOK]+statuses[http.StatusNoContent] != 50 {
		t.Errorf("%d members; answers %v; want 50 members, all 2xx", n, statuses)
	}
}

func ifMatchOneWinner(t *testing.T, a *api) {
	ctx := context.Background()
	s, h, got := a.do(ctx, http.MethodPost, "/Users", userBody("ifmatch@example.com", "v1"))
	if s != http.StatusCreated {
		t.Fatalf("POST: %d %s", s, got)
	}
	id, etag := idOf(t, got), h.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	for round := range 3 {
		statuses := fanOut(20, func(i int) int {
			s, _, _ := a.do(ctx, http.MethodPut, "/Users/"+id, userBody("ifmatch@example.com", fmt.Sprintf("r%d-%d", round, i)), "If-Match", etag)
			return s
		})
		if statuses[http.StatusOK] != 1 || statuses[http.StatusPreconditionFailed] != 19 {
			t.Fatalf("round %d, If-Match %s: answers %v; want one 200 and 19 412", round, etag, statuses)
		}
		s, h, _ := a.do(ctx, http.MethodGet, "/Users/"+id, nil)
		if s != http.StatusOK || h.Get("ETag") == etag {
			t.Fatalf("after the winner: %d, ETag %s unchanged", s, etag)
		}
		etag = h.Get("ETag")
	}
}

// fanOut runs op n times at once and counts the answers by status.
func fanOut(n int, op func(i int) int) map[int]int {
	var mu sync.Mutex
	out := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s := op(i)
			mu.Lock()
			out[s]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return out
}
