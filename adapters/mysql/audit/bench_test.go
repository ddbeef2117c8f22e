package audit_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/reqinfo"
	"github.com/scimbridge/scimbridge/scim"
)

// BenchmarkUpdateUser is a whole SCIM update (one changed attribute), audit rows included.
func BenchmarkUpdateUser(b *testing.B) {
	s, _, _ := newStoreB(b)
	ctx := reqinfo.With(context.Background(), reqinfo.Info{ID: "r", Actor: "okta"})
	u, err := s.CreateUser(ctx, scim.Resource{"userName": "bench@example.com", "active": true})
	if err != nil {
		b.Fatal(err)
	}
	id := u["id"].(string)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.UpdateUser(ctx, id, func(cur scim.Resource) (scim.Resource, error) {
			cur["name"] = map[string]any{"givenName": fmt.Sprint("G", i)}
			return cur, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuditOfAnUpdate is what the audit trail adds to an update: the app row read whole before and
// after, and one audit row written (in a transaction rolled back each time).
func BenchmarkAuditOfAnUpdate(b *testing.B) {
	s, db, _ := newStoreB(b)
	ctx := reqinfo.With(context.Background(), reqinfo.Info{ID: "r", Actor: "okta"})
	if _, err := s.CreateUser(ctx, scim.Resource{"userName": "bench@example.com", "active": true}); err != nil {
		b.Fatal(err)
	}
	t := bookkeeping.NewTables("", bookkeeping.MySQL)
	for b.Loop() {
		sqlTx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		tx := &bookkeeping.Tx{Tx: sqlTx, Now: start, Tables: t, D: bookkeeping.MySQL}
		before, err := audit.Snapshot(ctx, tx, "users", "id", 1)
		if err != nil {
			b.Fatal(err)
		}
		after, err := audit.Snapshot(ctx, tx, "users", "id", 1)
		if err != nil {
			b.Fatal(err)
		}
		after["first_name"] = "X"
		if err := audit.Write(ctx, tx, []audit.Entry{{Operation: "user.updated", ResourceType: "User", SCIMID: "x", Name: "bench@example.com",
			AppKey: 1, Changes: audit.Changes{Columns: audit.ColumnDiff(before, after, nil)}}}); err != nil {
			b.Fatal(err)
		}
		_ = sqlTx.Rollback()
	}
}

// BenchmarkEmptyTx is the BEGIN and ROLLBACK BenchmarkAuditOfAnUpdate pays besides the audit's own work.
func BenchmarkEmptyTx(b *testing.B) {
	_, db, _ := newStoreB(b)
	for b.Loop() {
		tx, err := db.BeginTxx(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		_ = tx.Rollback()
	}
}
