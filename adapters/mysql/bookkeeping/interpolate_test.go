package bookkeeping_test

import (
	"bytes"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/testdb"
)

// argsSchema has a column for each meaning an argument can have: text under a collation, bytes, JSON.
const argsSchema = `CREATE TABLE t (
	id INT PRIMARY KEY,
	name VARCHAR(64) COLLATE utf8mb4_unicode_ci,
	raw VARBINARY(16),
	doc JSON
) DEFAULT CHARSET=utf8mb4;`

// With client-side interpolation, arguments keep the meaning they had as server-side prepared statement
// parameters: []byte text is utf8mb4 text (not a _binary literal) under the column's collation, stores into JSON, and
// bytes that are not UTF-8 reach a VARBINARY column unchanged.
func TestOpenArgumentsKeepTheirMeaning(t *testing.T) {
	dsn := testdb.New(t, argsSchema)
	db, err := bookkeeping.Open(dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw := []byte{0xff, 0x00, 'a', 0xc3}
	if _, err := db.Exec("INSERT INTO t (id, name, raw, doc) VALUES (?, ?, ?, ?)", 1, []byte("Alice"), raw, []byte(`{"k":"v"}`)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM t WHERE name = ?", []byte("ALICE")); err != nil || n != 1 {
		t.Fatalf("[]byte ALICE under utf8mb4_unicode_ci: %d rows, %v; want 1 (a _binary literal finds 0)", n, err)
	}
	// A _binary literal would have no character set: LOWER would leave it alone and CHARSET say binary.
	var cs, lower string
	if err := db.QueryRow("SELECT CHARSET(?), LOWER(?)", []byte("x"), []byte("ÀLICE")).Scan(&cs, &lower); err != nil || cs != "utf8mb4" || lower != "àlice" {
		t.Fatalf("CHARSET, LOWER of []byte = %q, %q, %v; want utf8mb4, àlice", cs, lower, err)
	}
	if err := db.Get(&n, "SELECT COUNT(*) FROM t WHERE raw = ?", raw); err != nil || n != 1 {
		t.Fatalf("non-UTF-8 bytes: %d rows, %v; want 1", n, err)
	}
	var got []byte
	if err := db.Get(&got, "SELECT raw FROM t WHERE id = 1"); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("raw = %x, %v; want %x", got, err, raw)
	}
	var k string
	if err := db.Get(&k, "SELECT JSON_VALUE(doc, '$.k') FROM t WHERE id = 1"); err != nil || k != "v" {
		t.Fatalf("doc.k = %q, %v", k, err)
	}
	// Quotes, backslashes and NUL travel inside the literal without changing the statement.
	tricky := "o'brien \\ \x00 \"x\" ' OR 1=1 -- "
	if _, err := db.Exec("UPDATE t SET name = ? WHERE id = ?", tricky, 1); err != nil {
		t.Fatal(err)
	}
	var back string
	if err := db.Get(&back, "SELECT name FROM t WHERE id = 1"); err != nil || back != tricky {
		t.Fatalf("name = %q, %v; want %q", back, err, tricky)
	}
	// Interpolation is on: a statement with arguments is one COM_QUERY, so the server prepared nothing.
	var before, after int64
	conn, err := db.Connx(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	get := func(dst *int64) {
		var name string
		if err := conn.QueryRowxContext(t.Context(), "SHOW SESSION STATUS LIKE 'Com_stmt_prepare'").Scan(&name, dst); err != nil {
			t.Fatal(err)
		}
	}
	get(&before)
	if err := conn.QueryRowxContext(t.Context(), "SELECT COUNT(*) FROM t WHERE id = ?", 1).Scan(&n); err != nil {
		t.Fatal(err)
	}
	get(&after)
	if after != before {
		t.Fatalf("a query with an argument prepared %d statements on the server; want 0", after-before)
	}
}

// The same holds for writes a transaction defers and sends with its next statement or its COMMIT
// (Tx.Later): []byte text stores into JSON and compares under the column's collation, and bytes that
// are not UTF-8 reach a VARBINARY column unchanged, in one multi-statement round trip.
func TestDeferredArgumentsKeepTheirMeaning(t *testing.T) {
	dsn := testdb.New(t, argsSchema)
	db, err := bookkeeping.Open(dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw := []byte{0xff, 0x00, 'a', 0xc3}
	ctx := t.Context()
	r := &bookkeeping.Runner{DB: db}
	err = r.InTx(ctx, func(tx *bookkeeping.Tx) error {
		if err := tx.Later(ctx, "INSERT INTO t (id, name, raw, doc) VALUES (?, ?, ?, ?)", 1, []byte("Alice"), raw, []byte(`{"k":"v"}`)); err != nil {
			return err
		}
		// Carried by this read, which must see it.
		var n int
		if err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM t WHERE name = ?", []byte("ALICE")); err != nil || n != 1 {
			t.Errorf("[]byte ALICE under utf8mb4_unicode_ci in the transaction: %d rows, %v; want 1", n, err)
		}
		return tx.Later(ctx, "INSERT INTO t (id, name, raw, doc) VALUES (?, ?, ?, ?)", 2, []byte("Bob"), raw, []byte(`{"k":"w"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM t WHERE raw = ? AND JSON_VALUE(doc, '$.k') IN ('v', 'w')", raw); err != nil || n != 2 {
		t.Fatalf("rows with the raw bytes and the JSON documents: %d, %v; want 2", n, err)
	}
}
