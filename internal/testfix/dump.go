package testfix

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
)

// Dump is every row of every table of db's current database, each table ordered by its primary key (by
// all its columns when it has none), as text that is equal for two dumps exactly when the rows are
// byte for byte the same: NULL is written apart from every value, values are quoted. Tests compare a
// dump before and after a request that must change nothing.
func Dump(t testing.TB, db *sqlx.DB) string {
	t.Helper()
	var tables []string
	if err := db.Select(&tables, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "+
		"AND table_type = 'BASE TABLE' ORDER BY table_name"); err != nil {
		t.Fatalf("dump: listing tables: %v", err)
	}
	var b strings.Builder
	for _, table := range tables {
		dumpTable(t, db, &b, table)
	}
	return b.String()
}

func dumpTable(t testing.TB, db *sqlx.DB, b *strings.Builder, table string) {
	t.Helper()
	var order []string
	if err := db.Select(&order, "SELECT column_name FROM information_schema.key_column_usage WHERE table_schema = DATABASE() "+
		"AND table_name = ? AND constraint_name = 'PRIMARY' ORDER BY ordinal_position", table); err != nil {
		t.Fatalf("dump %s: primary key: %v", table, err)
	}
	if len(order) == 0 {
		if err := db.Select(&order, "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() "+
			"AND table_name = ? ORDER BY ordinal_position", table); err != nil {
			t.Fatalf("dump %s: columns: %v", table, err)
		}
	}
	for i, c := range order {
		order[i] = "`" + c + "`"
	}
	rows, err := db.Query("SELECT * FROM `" + table + "` ORDER BY " + strings.Join(order, ", "))
	if err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	fmt.Fprintf(b, "== %s (%s)\n", table, strings.Join(cols, ", "))
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		for i, v := range vals {
			if i > 0 {
				b.WriteString(" | ")
			}
			if v == nil {
				b.WriteString("NULL")
			} else {
				fmt.Fprintf(b, "%q", []byte(v))
			}
		}
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
}
