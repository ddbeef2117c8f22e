package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/google/uuid"
)

// minimal is the "SQL ceiling" of a SCIM server on legacyapp's users table and scimbridge's bookkeeping
// tables: plain net/http and database/sql, doing only the essential SQL of each request, as issue 14
// describes it. POST: the app row, the bookkeeping row and the outbox row in one transaction. PATCH of
// active: the locked read, two UPDATEs and the outbox row. filter userName eq: one JOIN by the unique
// email. No adoption, no tombstones, no audit, no values table, no groups, no schema checks: what it
// leaves out is what scimbridge's figures pay for beyond the ceiling. The pool is scimbridge's
// (mysql.Open: client-side interpolation, 20 connections) and writes run READ COMMITTED, as scimbridge's.
//
// With features (-features, features.go) the writes also do the SQL of the features scimbridge has, in
// scimbridge's round trips: see features.go.
type minimal struct {
	db       *sql.DB
	token    string
	role     bool // the app table has the role column of [roles]: a new user gets the default role
	features bool // the writes also do the SQL of scimbridge's features
}

type userIn struct {
	UserName string `json:"userName"`
	Name     struct {
		Given  string `json:"givenName"`
		Family string `json:"familyName"`
	} `json:"name"`
	Emails []map[string]any `json:"emails"`
	Active *bool            `json:"active"`
}

func (m *minimal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+m.token {
		scimError(w, 401, "unauthorized")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/scim/v2")
	var err error
	switch {
	case r.Method == http.MethodPost && path == "/Users":
		err = m.create(w, r)
	case r.Method == http.MethodPatch && strings.HasPrefix(path, "/Users/"):
		err = m.patchActive(w, r, strings.TrimPrefix(path, "/Users/"))
	case r.Method == http.MethodGet && path == "/Users":
		err = m.filter(w, r)
	default:
		scimError(w, 404, "not found")
		return
	}
	var me *mysqldriver.MySQLError
	switch {
	case err == nil:
	case errors.As(err, &me) && me.Number == 1062:
		scimError(w, 409, "a user with this userName already exists")
	case errors.Is(err, sql.ErrNoRows):
		scimError(w, 404, "no such user")
	default:
		scimError(w, 500, err.Error())
	}
}

func (m *minimal) create(w http.ResponseWriter, r *http.Request) error {
	var in userIn
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.UserName == "" {
		scimError(w, 400, "bad user")
		return nil
	}
	active := in.Active == nil || *in.Active
	status := 1
	if !active {
		status = 3
	}
	now := time.Now().UTC()
	id := uuid.NewString()
	doc, _ := json.Marshal(map[string]any{"emails": in.Emails})
	out := resource(id, in.UserName, in.Name.Given, in.Name.Family, active, now, now, 1, in.Emails)
	payload, _ := json.Marshal(out)
	if m.features {
		if err := m.createWithFeatures(r.Context(), in, id, status, now, doc, payload); err != nil {
			return err
		}
		writeJSON(w, 201, out)
		return nil
	}
	err := m.inTx(r.Context(), func(tx *sql.Tx) error {
		q, args := m.appInsert(in, status, now)
		res, err := tx.ExecContext(r.Context(), q, args...)
		if err != nil {
			return err
		}
		appID, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(r.Context(), `INSERT INTO scim_users (id, app_id, user_name, user_name_lc, active, version, created, last_modified, doc)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`, id, appID, in.UserName, strings.ToLower(in.UserName), active, now, now, doc); err != nil {
			return err
		}
		return outbox(r.Context(), tx, "user.created", id, now, payload)
	})
	if err != nil {
		return err
	}
	writeJSON(w, 201, out)
	return nil
}

// appInsert is the INSERT of a new user's app row.
func (m *minimal) appInsert(in userIn, status int, now time.Time) (string, []any) {
	cols, vals := "email, email_lower, first_name, last_name, display_name, status, password_hash, created_at, updated_at", "?, ?, ?, ?, ?, ?, '!scim', ?, ?"
	args := []any{in.UserName, strings.ToLower(in.UserName), in.Name.Given, in.Name.Family, in.Name.Given + " " + in.Name.Family, status,
		now.Truncate(time.Second), now.Truncate(time.Second)}
	if m.role {
		cols, vals = cols+", role", vals+", 'viewer'"
	}
	return "INSERT INTO users (" + cols + ") VALUES (" + vals + ")", args
}

func (m *minimal) patchActive(w http.ResponseWriter, r *http.Request, id string) error {
	var in struct {
		Operations []struct {
			Op    string `json:"op"`
			Path  string `json:"path"`
			Value bool   `json:"value"`
		} `json:"Operations"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Operations) != 1 || in.Operations[0].Path != "active" {
		scimError(w, 400, "only a replace of active is served")
		return nil
	}
	active := in.Operations[0].Value
	status := 1
	if !active {
		status = 3
	}
	now := time.Now().UTC()
	if m.features {
		out, err := m.patchWithFeatures(r.Context(), id, active, status, now)
		if err != nil {
			return err
		}
		writeJSON(w, 200, out)
		return nil
	}
	var out map[string]any
	err := m.inTx(r.Context(), func(tx *sql.Tx) error {
		var appID, version int64
		var email, given, family string
		var created time.Time
		var doc []byte
		if err := tx.QueryRowContext(r.Context(), `SELECT b.app_id, b.version, b.created, b.doc, u.email, u.first_name, u.last_name
			FROM scim_users b JOIN users u ON u.id = b.app_id WHERE b.id = ? AND b.deleted_at IS NULL FOR UPDATE`, id).
			Scan(&appID, &version, &created, &doc, &email, &given, &family); err != nil {
			return err
		}
		if _, err := tx.ExecContext(r.Context(), "UPDATE users SET status = ?, updated_at = ? WHERE id = ?", status, now.Truncate(time.Second), appID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(r.Context(), "UPDATE scim_users SET active = ?, version = version + 1, last_modified = ? WHERE id = ?", active, now, id); err != nil {
			return err
		}
		var payload []byte
		out, payload = patched(id, email, given, family, active, created, now, version+1, doc)
		return outbox(r.Context(), tx, "user.updated", id, now, payload)
	})
	if err != nil {
		return err
	}
	writeJSON(w, 200, out)
	return nil
}

func (m *minimal) filter(w http.ResponseWriter, r *http.Request) error {
	f := r.URL.Query().Get("filter")
	name, ok := strings.CutPrefix(f, `userName eq "`)
	if !ok || !strings.HasSuffix(name, `"`) {
		scimError(w, 400, "only filter=userName eq \"...\" is served")
		return nil
	}
	name = strings.TrimSuffix(name, `"`)
	rows, err := m.db.QueryContext(r.Context(), `SELECT b.id, b.version, b.created, b.last_modified, b.doc, u.email, u.first_name, u.last_name, u.status
		FROM users u JOIN scim_users b ON b.app_id = u.id WHERE u.email = ? AND b.deleted_at IS NULL`, name)
	if err != nil {
		return err
	}
	defer rows.Close()
	list := []any{}
	for rows.Next() {
		var id, email string
		var given, family sql.NullString
		var version int64
		var status int
		var created, modified time.Time
		var doc []byte
		if err := rows.Scan(&id, &version, &created, &modified, &doc, &email, &given, &family, &status); err != nil {
			return err
		}
		var d struct {
			Emails []map[string]any `json:"emails"`
		}
		_ = json.Unmarshal(doc, &d)
		list = append(list, resource(id, email, given.String, family.String, status == 1, created, modified, version, d.Emails))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": len(list), "startIndex": 1, "itemsPerPage": len(list), "Resources": list})
	return nil
}

func (m *minimal) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := m.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// patched is a user after a PATCH of active, from its locked read (doc: the bookkeeping document), and
// the JSON of it for the outbox.
func patched(id, email, given, family string, active bool, created, now time.Time, version int64, doc []byte) (map[string]any, []byte) {
	var d struct {
		Emails []map[string]any `json:"emails"`
	}
	_ = json.Unmarshal(doc, &d)
	out := resource(id, email, given, family, active, created, now, version, d.Emails)
	payload, _ := json.Marshal(out)
	return out, payload
}

func outbox(ctx context.Context, tx *sql.Tx, typ, id string, at time.Time, payload []byte) error {
	_, err := tx.ExecContext(ctx, outboxInsert, eventID(), typ, "user:"+id, at, payload)
	return err
}

const outboxInsert = "INSERT INTO scim_outbox (event_id, type, subject, occurred_at, payload) VALUES (?, ?, ?, ?, ?)"

// eventID is a random UUID for an outbox row.
func eventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return uuid.UUID(b).String()
}

func resource(id, userName, given, family string, active bool, created, modified time.Time, version int64, emails []map[string]any) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"id":       id,
		"userName": userName,
		"name":     map[string]any{"givenName": given, "familyName": family},
		"active":   active,
		"emails":   emails,
		"meta": map[string]any{"resourceType": "User", "created": created.Format(time.RFC3339Nano),
			"lastModified": modified.Format(time.RFC3339Nano), "version": `W/"` + strconv.FormatInt(version, 10) + `"`},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func scimError(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status": fmt.Sprint(status), "detail": detail})
}
