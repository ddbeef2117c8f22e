package mysql

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// What scimbridge last wrote: every write records, in its transaction, the managed columns of each
// user's app row as it left them ({p}user_written), so that a drift report can tell a column the app
// changed behind scimbridge's back. The SCIM document cannot say it: attributes with a column are kept
// in the column only, and GET reads them from there.

// managedColumns are the users-table columns scimbridge writes from SCIM attributes on every change
// (on_insert and on_write constants are the app's after the first write, or timestamps).
func (s *Store) managedColumns() []string {
	var out []string
	for _, c := range s.m.Columns {
		if c.Source() != "" {
			out = append(out, c.Name)
		}
	}
	return out
}

// canonical is a column value as it is recorded and compared: JSON, with times as MySQL writes them
// and bytes that are not text as {"hex": ...}, so that a repair can write it back exactly.
func canonical(v any) json.RawMessage {
	switch x := v.(type) {
	case []byte:
		if !utf8.Valid(x) {
			b, _ := json.Marshal(map[string]string{"hex": hex.EncodeToString(x)})
			return b
		}
		v = string(x)
	case time.Time:
		v = x.UTC().Format("2006-01-02 15:04:05.999999")
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(strings.ToValidUTF8(string(b), ""))
	}
	return b
}

// sqlValue turns a canonical value back into what an UPDATE binds.
func sqlValue(raw json.RawMessage) any {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case map[string]any:
		if h, ok := x["hex"].(string); ok {
			b, _ := hex.DecodeString(h)
			return b
		}
	}
	return v
}

// writtenOf is the managed columns of an app row snapshot (audit.Snapshot), canonical.
func (s *Store) writtenOf(row map[string]any) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for _, c := range s.managedColumns() {
		out[c] = canonical(row[c])
	}
	return out
}

// recordWritten records what the change's user writes left in their app rows; a deleted row's record goes.
func (s *Store) recordWritten(ctx context.Context, tx *bookkeeping.Tx, users []*userWrite) error {
	var args []any
	n := 0
	for _, w := range users {
		if w.after == nil {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+tx.Tables.Named("user_written")+" WHERE user_id = ?", w.id); err != nil {
				return err
			}
			continue
		}
		doc, err := json.Marshal(s.writtenOf(w.after))
		if err != nil {
			return err
		}
		args = append(args, w.id, doc, tx.Now)
		n++
	}
	if n == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO "+tx.Tables.Named("user_written")+" (user_id, cols, at) VALUES "+
		strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", n), ", ")+
		" ON DUPLICATE KEY UPDATE cols = VALUES(cols), at = VALUES(at)", args...)
	return err
}
