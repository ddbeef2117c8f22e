package mysql

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
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
			if err := tx.Later(ctx, "DELETE FROM "+tx.Tables.Named("user_written")+" WHERE user_id = ?", w.id); err != nil {
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
	return tx.Later(ctx, "INSERT INTO "+tx.Tables.Named("user_written")+" (user_id, cols, at) VALUES "+
		strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", n), ", ")+
		" ON DUPLICATE KEY UPDATE cols = VALUES(cols), at = VALUES(at)", args...)
}

// auditWritten is, for users without a record of scimbridge's last write (written before it was kept),
// what the audit trail says scimbridge left in their managed columns: each column's "after" in its
// latest audit row that changed it. Columns no retained audit row changed are missing (unknown), and
// redacted ones too. Times are text there; writtenMatch reads them back.
func (s *Store) auditWritten(ctx context.Context, tx *bookkeeping.Tx, ids []string) (map[string]map[string]json.RawMessage, error) {
	out := map[string]map[string]json.RawMessage{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID      string `db:"scim_id"`
		Changes []byte `db:"changes"`
	}
	if err := tx.SelectContext(ctx, &rows, "SELECT scim_id, changes FROM "+tx.Tables.Named("audit")+" WHERE scim_id IN ("+
		placeholders(len(ids))+") AND resource_type = 'User' ORDER BY scim_id, id", bookkeeping.Args(ids)...); err != nil {
		return nil, err
	}
	managed := map[string]bool{}
	for _, c := range s.managedColumns() {
		managed[c] = true
	}
	for _, r := range rows {
		var ch struct {
			Columns map[string]struct {
				After json.RawMessage `json:"after"`
			} `json:"columns"`
		}
		if json.Unmarshal(r.Changes, &ch) != nil {
			continue
		}
		for col, d := range ch.Columns {
			if !managed[col] {
				continue
			}
			if out[r.ID] == nil {
				out[r.ID] = map[string]json.RawMessage{}
			}
			if string(d.After) == `"`+audit.Redacted+`"` {
				delete(out[r.ID], col)
				continue
			}
			if len(d.After) == 0 {
				d.After = json.RawMessage("null")
			}
			out[r.ID][col] = d.After
		}
	}
	return out, nil
}

// writtenMatch reports whether a column's value now (as scanned) is what was recorded (canonical, or
// the audit trail's JSON, where a time is RFC 3339 text).
func writtenMatch(now any, wrote json.RawMessage) bool {
	c := canonical(now)
	if string(c) == string(wrote) {
		return true
	}
	if _, isTime := now.(time.Time); isTime {
		var s string
		if json.Unmarshal(wrote, &s) == nil {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return string(canonical(t)) == string(c)
			}
		}
	}
	return false
}

// writtenValue is what a repair binds to write wrote back into a column holding now: an RFC 3339 time of
// the audit trail becomes MySQL's form when the column holds a time.
func writtenValue(now any, wrote json.RawMessage) any {
	if _, isTime := now.(time.Time); isTime {
		var s string
		if json.Unmarshal(wrote, &s) == nil {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t.UTC().Format("2006-01-02 15:04:05.999999")
			}
		}
	}
	return sqlValue(wrote)
}
