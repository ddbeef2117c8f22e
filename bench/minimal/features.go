package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The writes of -features: what scimbridge does in a create's and a PATCH's transaction beyond the
// essential SQL, written by hand on the tables of scimbridge's migration (adapters/mysql/bookkeeping),
// in the round trips scimbridge makes: the transaction's start goes with its first read, and the writes
// whose answers are not needed go together, with the COMMIT, in one multi-statement round trip (the
// pool has the driver's multiStatements and client-side interpolation). With them the minimal server is
// the floor of a server that has scimbridge's features: tombstone revival and adoption lookups, the
// values table, the audit trail, the record of the columns last written (drift), the users count, the
// end of the SSO sessions of a PATCH of active.
//
//	POST:  START TRANSACTION; tombstone lookup; adoption lookup     (one round trip)
//	       INSERT app row                                           (one: its id is needed)
//	       bookkeeping row; values; audit; written; outbox; count; COMMIT   (one)
//	PATCH: START TRANSACTION; locked read                           (one)
//	       two UPDATEs; end of sessions; audit; written; outbox; COMMIT      (one)

// batch is statements sent together in one round trip.
type batch struct {
	sql  []string
	args []any
}

func (b *batch) add(q string, args ...any) {
	b.sql, b.args = append(b.sql, q), append(b.args, args...)
}

func (b *batch) exec(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, strings.Join(b.sql, ";\n"), b.args...)
	return err
}

// inConn runs fn on a connection of its own and rolls its transaction back when fn fails (a COMMIT is
// fn's last statement).
func (m *minimal) inConn(ctx context.Context, fn func(*sql.Conn) error) error {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := fn(conn); err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	return nil
}

func (m *minimal) createWithFeatures(ctx context.Context, in userIn, id string, status int, now time.Time, doc, payload []byte) error {
	return m.inConn(ctx, func(conn *sql.Conn) error {
		// The benchmark's users match neither lookup; their rows are read to the end all the same.
		rows, err := conn.QueryContext(ctx, "START TRANSACTION;\n"+
			"SELECT id FROM scim_users WHERE user_name_lc = ? AND deleted_at IS NOT NULL FOR UPDATE;\n"+
			"SELECT id FROM users WHERE email = ? FOR UPDATE", strings.ToLower(in.UserName), in.UserName)
		if err != nil {
			return err
		}
		if err := drain(rows); err != nil {
			return err
		}
		q, args := m.appInsert(in, status, now)
		res, err := conn.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		appID, err := res.LastInsertId()
		if err != nil {
			return err
		}
		var b batch
		b.add(`INSERT INTO scim_users (id, app_id, user_name, user_name_lc, active, version, created, last_modified, doc)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`, id, appID, in.UserName, strings.ToLower(in.UserName), status == 1, now, now, doc)
		addValues(&b, id, in.Emails)
		cols := writtenCols(in.UserName, strings.ToLower(in.UserName), in.Name.Given, in.Name.Family, in.Name.Given+" "+in.Name.Family, status)
		after := map[string]any{"password_hash": "[redacted]", "created_at": now.Truncate(time.Second), "updated_at": now.Truncate(time.Second)}
		for k, v := range cols {
			after[k] = v
		}
		if m.role {
			after["role"] = "viewer"
		}
		addAudit(&b, "user.created", id, in.UserName, appID, map[string]any{"after": after}, now)
		addWritten(&b, id, cols, now)
		addOutbox(&b, "user.created", id, now, payload)
		shard, _ := strconv.ParseUint(id[len(id)-1:], 16, 8) // scimbridge's shard: the id's last hex digit
		b.add("UPDATE scim_user_counts SET live = live + 1, changes = changes + 1 WHERE shard = ?", shard)
		b.add("COMMIT")
		return b.exec(ctx, conn)
	})
}

func (m *minimal) patchWithFeatures(ctx context.Context, id string, active bool, status int, now time.Time) (map[string]any, error) {
	var out map[string]any
	err := m.inConn(ctx, func(conn *sql.Conn) error {
		var appID, version int64
		var email, given, family, emailLower, display string
		var before int
		var created time.Time
		var doc []byte
		if err := conn.QueryRowContext(ctx, `START TRANSACTION;
			SELECT b.app_id, b.version, b.created, b.doc, u.email, u.first_name, u.last_name, u.status, u.email_lower, u.display_name
			FROM scim_users b JOIN users u ON u.id = b.app_id WHERE b.id = ? AND b.deleted_at IS NULL FOR UPDATE`, id).
			Scan(&appID, &version, &created, &doc, &email, &given, &family, &before, &emailLower, &display); err != nil {
			return err
		}
		var payload []byte
		out, payload = patched(id, email, given, family, active, created, now, version+1, doc)
		var b batch
		b.add("UPDATE users SET status = ?, updated_at = ? WHERE id = ?", status, now.Truncate(time.Second), appID)
		b.add("UPDATE scim_users SET active = ?, version = version + 1, last_modified = ? WHERE id = ?", active, now, id)
		b.add("DELETE FROM scim_gate_sessions WHERE user_id = ?", id)
		addAudit(&b, "user.updated", id, email, appID, map[string]any{"before": map[string]any{"status": before}, "after": map[string]any{"status": status}}, now)
		addWritten(&b, id, writtenCols(email, emailLower, given, family, display, status), now)
		addOutbox(&b, "user.updated", id, now, payload)
		b.add("COMMIT")
		return b.exec(ctx, conn)
	})
	return out, err
}

// drain reads every result set of rows to the end.
func drain(rows *sql.Rows) error {
	defer rows.Close()
	for {
		for rows.Next() {
			var id []byte
			if err := rows.Scan(&id); err != nil {
				return err
			}
		}
		if !rows.NextResultSet() {
			return rows.Err()
		}
	}
}

// addValues adds the values rows of a new user's emails: each value and each type, folded.
func addValues(b *batch, id string, emails []map[string]any) {
	var rows []string
	var args []any
	seen := map[string]bool{}
	for _, e := range emails {
		for _, attr := range []string{"value", "type"} {
			v, _ := e[attr].(string)
			v = strings.ToLower(v)
			if v == "" || seen[attr+"\x00"+v] {
				continue
			}
			seen[attr+"\x00"+v] = true
			rows = append(rows, "(?, 'emails."+attr+"', ?)")
			args = append(args, id, v)
		}
	}
	if len(rows) > 0 {
		b.add("INSERT IGNORE INTO scim_user_values (user_id, attr, value_fold) VALUES "+strings.Join(rows, ", "), args...)
	}
}

// writtenCols are the app columns scimbridge manages, as its record of the last write keeps them.
func writtenCols(email, emailLower, given, family, display string, status int) map[string]any {
	return map[string]any{"display_name": display, "email": email, "email_lower": emailLower, "first_name": given,
		"last_name": family, "status": status}
}

func addAudit(b *batch, op, id, name string, appID int64, changes any, now time.Time) {
	doc, _ := json.Marshal(changes)
	var r [16]byte
	_, _ = rand.Read(r[:])
	b.add(`INSERT INTO scim_audit (at, actor, request_id, operation, resource_type, scim_id, name, name_lc, app_key, member_id, changes)
		VALUES (?, 'bench', ?, ?, 'User', ?, ?, ?, ?, NULL, ?)`, now, hex.EncodeToString(r[:]), op, id, name, strings.ToLower(name), strconv.FormatInt(appID, 10), doc)
}

func addWritten(b *batch, id string, cols map[string]any, now time.Time) {
	doc, _ := json.Marshal(cols)
	b.add("INSERT INTO scim_user_written (user_id, cols, at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE cols = VALUES(cols), at = VALUES(at)", id, doc, now)
}

func addOutbox(b *batch, typ, id string, at time.Time, payload []byte) {
	b.add(outboxInsert, eventID(), typ, "user:"+id, at, payload)
}
