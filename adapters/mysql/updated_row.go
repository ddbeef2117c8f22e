package mysql

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// An update reads the user's row locked, writes it, and needs the row as the writes left it: for its
// answer, the audit's after, the written columns and the event. A read-back costs a statement and a
// round trip (the deferred writes then wait for one more: PATCH 3 round trips instead of 2). Where the
// server's own rules for each written column are known, the row is the locked read with the written
// values as the column stores them, and updatedUser builds it instead: on MariaDB (which truncates a
// time's fraction to the column's precision, where MySQL rounds), on an app table without triggers,
// generated columns or ON UPDATE columns (which change what nobody wrote), for values whose stored
// form is the value itself: integers in integer columns, text in utf8 text columns, times in DATETIME
// and TIMESTAMP columns. Anything else (a DECIMAL, a CHAR that drops trailing spaces, an ENUM, a
// DEFAULT, side tables, a change of directly assigned roles) is read back.
// TestUpdateFromTheWritesIsTheReadBack holds the two equal.

// appTable is what the app table's definition says about its rows after an UPDATE.
type appTable struct {
	predictable bool               // no triggers, no generated or ON UPDATE columns
	cols        map[string]colRule // by lower-cased column name
}

// colRule is how a column stores a value: kind 'i' (integer, read as int64), 'u' (BIGINT UNSIGNED,
// read as uint64), 's' (utf8 text), 't' (DATETIME or TIMESTAMP of fsp fraction digits); 0 for others.
type colRule struct {
	kind byte
	fsp  int
}

// appTableCache keeps the app table's definition, read again after appTableMaxAge: an app's migration
// that adds a trigger or an ON UPDATE column while scimbridge runs is seen within that time.
type appTableCache struct {
	mu   sync.Mutex
	t    *appTable
	read time.Time
}

const appTableMaxAge = time.Minute

// updateRules is the app table's definition for updatedUser, or nil where an update's row is read back
// (not MariaDB, or tests that ask for the read-back). It is read in tx when it is not known or too old:
// on the transaction's own connection, not the pool's, which every update waiting here may hold all
// of. The caller asks before its writes wait on the connection: a query would carry them, and their
// errors are its own.
func (s *Store) updateRules(ctx context.Context, tx *bookkeeping.Tx) (*appTable, error) {
	if s.readBack || !bookkeeping.InsertReturns(ctx, s.db) { // MariaDB 10.5 or later
		return nil, nil
	}
	s.table.mu.Lock()
	defer s.table.mu.Unlock()
	if now := s.now(); s.table.t == nil || now.Sub(s.table.read) > appTableMaxAge || now.Before(s.table.read) {
		t, err := s.loadAppTable(ctx, tx)
		if err != nil {
			return nil, err
		}
		s.table.t, s.table.read = t, now
	}
	return s.table.t, nil
}

func (s *Store) loadAppTable(ctx context.Context, tx *bookkeeping.Tx) (*appTable, error) {
	t := &appTable{cols: map[string]colRule{}}
	if strings.Contains(s.m.Table, ".") {
		return t, nil
	}
	var triggers int
	if err := tx.GetContext(ctx, &triggers, "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = ?", s.m.Table); err != nil {
		return nil, err
	}
	var cols []struct {
		Name      string `db:"COLUMN_NAME"`
		DataType  string `db:"DATA_TYPE"`
		Type      string `db:"COLUMN_TYPE"`
		Extra     string `db:"EXTRA"`
		Generated string `db:"GENERATED"`
		Charset   string `db:"CHARSET"`
		FSP       int    `db:"FSP"`
	}
	if err := tx.SelectContext(ctx, &cols, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, EXTRA, IFNULL(GENERATION_EXPRESSION, '') AS GENERATED,
		IFNULL(CHARACTER_SET_NAME, '') AS CHARSET, IFNULL(DATETIME_PRECISION, 0) AS FSP
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, s.m.Table); err != nil {
		return nil, err
	}
	t.predictable = triggers == 0 && len(cols) > 0
	for _, c := range cols {
		extra := strings.ToLower(c.Extra)
		if c.Generated != "" || strings.Contains(extra, "on update") || strings.Contains(extra, "virtual") || strings.Contains(extra, "stored") {
			t.predictable = false
		}
		var r colRule
		switch strings.ToLower(c.DataType) {
		case "tinyint", "smallint", "mediumint", "int", "integer":
			r.kind = 'i'
		case "bigint":
			r.kind = 'i'
			if strings.Contains(strings.ToLower(c.Type), "unsigned") {
				r.kind = 'u'
			}
		case "varchar", "tinytext", "text", "mediumtext", "longtext":
			if cs := strings.ToLower(c.Charset); cs == "utf8mb4" || cs == "utf8mb3" || cs == "utf8" {
				r.kind = 's'
			}
		case "datetime", "timestamp":
			r.kind, r.fsp = 't', c.FSP
		}
		t.cols[strings.ToLower(c.Name)] = r
	}
	return t, nil
}

// stored is v as a column of rule r stores and the driver reads it back; false when that is not v
// itself, or not known. A value the column cannot hold (too long, out of range) fails its statement in
// the session's strict mode, so it is never stored otherwise.
func (r colRule) stored(v any) (any, bool) {
	if v == nil {
		return nil, true
	}
	switch r.kind {
	case 'i', 'u':
		var n int64
		switch x := v.(type) {
		case int:
			n = int64(x)
		case int32:
			n = int64(x)
		case int64:
			n = x
		case bool:
			if x {
				n = 1
			}
		case json.Number:
			i, err := x.Int64()
			if err != nil {
				return nil, false
			}
			n = i
		default:
			return nil, false
		}
		if r.kind == 'u' {
			return uint64(n), n >= 0
		}
		return n, true
	case 's':
		x, ok := v.(string)
		return []byte(x), ok
	case 't':
		x, ok := v.(time.Time)
		if !ok || x.Year() < 1971 || x.Year() > 2037 { // within both DATETIME's and TIMESTAMP's range
			return nil, false
		}
		step := time.Second
		for range r.fsp {
			step /= 10
		}
		return x.UTC().Truncate(step), true
	}
	return nil, false
}

// updatedUser is the user b (read locked, with the app row whole) as writeUpdateOf's write w to next
// left it, where the table's rules t (updateRules) tell it without reading it back; ok false otherwise.
func (s *Store) updatedUser(t *appTable, now time.Time, b *bookRow, w updateWrite, next scim.Resource, directChanged bool) (*bookRow, bool) {
	// Roles assigned directly change has_direct; the role stores' own writes come after (afterChange),
	// as they came after a read-back.
	if t == nil || !t.predictable || directChanged || w.sides || s.m.HasSide() || b.snap == nil || w.doc == nil {
		return nil, false
	}
	nb := *b
	nb.app, nb.snap = maps.Clone(b.app), maps.Clone(b.snap)
	nb.version, nb.lastModified, nb.doc = b.version+1, now, w.doc
	nb.userName, nb.externalID, nb.derived = userName(next), externalID(next), nil
	for col, v := range w.cols {
		if v == mapping.ColumnDefault {
			return nil, false
		}
		pv, ok := t.cols[strings.ToLower(col)].stored(v)
		if !ok {
			return nil, false
		}
		name, ok := snapColumn(nb.snap, col)
		if !ok {
			return nil, false
		}
		norm := audit.Row([]string{name}, []any{pv})[name]
		if before := nb.snap[name]; before != nil && pv != nil && reflect.TypeOf(before) != reflect.TypeOf(norm) {
			return nil, false // the column is not what its definition said when it was read: read it
		}
		nb.snap[name] = norm
		for _, c := range s.scimCols {
			if strings.EqualFold(c, col) {
				nb.app[c] = pv
			}
		}
	}
	return &nb, true
}

// snapColumn is the name under which the app row snap holds column col (names compare without case).
func snapColumn(snap map[string]any, col string) (string, bool) {
	if _, ok := snap[col]; ok {
		return col, true
	}
	for name := range snap {
		if strings.EqualFold(name, col) {
			return name, true
		}
	}
	return "", false
}
