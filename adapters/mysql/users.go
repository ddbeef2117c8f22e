package mysql

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/adapters/mysql/mirror"
	approles "github.com/scimbridge/scimbridge/adapters/mysql/roles"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// Store keeps SCIM Users in the app's users table and scimbridge's bookkeeping.
type Store struct {
	db     *sqlx.DB
	run    bookkeeping.Runner // every write's transaction
	t      bookkeeping.Tables // scimbridge's own tables
	m      *mapping.Users
	prefix string
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger

	roles      *approles.Set  // nil when no role mapping is configured
	mirror     *mirror.Mirror // nil when groups are not mirrored into the app's tables
	scimCols   []string       // the app columns the mapping reads (mapping.Users.ScimColumns), kept: it allocates
	selectUser string         // SELECT ... FROM bookkeeping JOIN app table, without WHERE
	userCols   string         // the columns selectUser selects, for a list's deferred join
	selectRead string         // selectUser with inGroupsCol: reads that answer with the users' groups (setGroups)
	// selectUser and selectRead followed by the app row whole (u.*): a write's read that also gives the
	// audit's snapshot of the row (bookRow.snap).
	selectUserSnap, selectReadSnap string
	appJoin                        string // " JOIN <app table> u ON u.<key> = b.<joinKey>"
	joinKey                        string // bookkeeping column holding the app's key: app_id or app_key

	snap          *snapshots     // the unfiltered list's total and keys (list_snapshot.go)
	scanDocs      bool           // filters never use the values table (tests compare it with the scan)
	readBack      bool           // writes read the user back even where they know it (tests compare the two)
	sqlIdentity   bool           // lists filtered by an identity compare it in SQL alone (tests compare the two)
	table         *appTableCache // the app table's definition, for updatedUser (shared by Within's copies)
	limits        DocLimits
	unknownActive *onceLog          // users whose status value the active map does not know, logged once each
	redact        []string          // app columns whose values the audit trail never holds, beyond audit.IsSecret's
	guard         DeactivationGuard // nil without [breaker]
}

// Options are a Store's dependencies; zero values get production defaults.
type Options struct {
	Prefix string           // bookkeeping table prefix, default "scim_"
	Now    func() time.Time // clock, default time.Now
	Rand   io.Reader        // randomness for ids and keys, default crypto/rand
	Log    *slog.Logger
	Roles  *mapping.Roles // the role mapping; nil for none
	// MoreRoles are further role stores ([[roles]]), recomputed after Roles.
	MoreRoles []*mapping.Roles
	// GroupMirror mirrors groups into the app's groups and group-members tables; nil for none.
	GroupMirror *mapping.GroupMirror
	Limits      DocLimits // sizes of what scimbridge keeps in its own document; zero values get the defaults
	// OnTxRetry, if set, is called each time a transaction runs again after a lock conflict (metrics).
	OnTxRetry func()

	// AuditRedact names app columns whose values the audit trail records as "[redacted]", besides those
	// whose names look like secrets (audit.IsSecret).
	AuditRedact []string

	// Guard is the deactivation circuit breaker ([breaker]); nil for none.
	Guard DeactivationGuard
}

// New builds a Store for the mapping m. The bookkeeping tables must have been migrated (Migrate).
func New(db *sqlx.DB, m *mapping.Users, o Options) *Store {
	s := &Store{db: db, m: m, prefix: o.Prefix, now: o.Now, rand: o.Rand, log: o.Log, redact: o.AuditRedact, guard: o.Guard,
		limits: o.Limits.withDefaults(), snap: &snapshots{step: snapshotStep, maxAge: snapshotMaxAge}, unknownActive: &onceLog{},
		table: &appTableCache{}}
	if s.prefix == "" {
		s.prefix = "scim_"
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.t = bookkeeping.NewTables(s.prefix, dialect)
	s.run = bookkeeping.Runner{DB: db, Tables: s.t, D: dialect, Now: s.now, Log: s.log, OnRetry: o.OnTxRetry}

	s.joinKey = "app_key"
	if m.KeyGen.Kind == mapping.KeyAutoIncrement {
		s.joinKey = "app_id"
	}
	if o.GroupMirror != nil {
		s.mirror = mirror.New(o.GroupMirror, quoteIdent(m.Table), quoteIdent(m.Key), s.joinKey, s.newUUID)
	}
	stores := o.MoreRoles
	if o.Roles != nil {
		stores = append([]*mapping.Roles{o.Roles}, stores...)
	}
	s.roles = approles.NewSet(stores, quoteIdent(m.Table), quoteIdent(m.Key), s.joinKey)
	cols := []string{"b.id", "b.app_id", "b.app_key", "b.external_id", "b.version", "b.created", "b.last_modified", "b.doc", "b.user_name", "b.has_direct"}
	s.scimCols = m.ScimColumns()
	for _, c := range s.scimCols {
		cols = append(cols, "u."+quoteIdent(c))
	}
	s.userCols = strings.Join(cols, ", ")
	s.appJoin = " JOIN " + quoteIdent(m.Table) + " u ON u." + quoteIdent(m.Key) + " = b." + s.joinKey
	s.selectUser = "SELECT " + s.userCols + " FROM " + s.bookTable() + " b" + s.appJoin
	s.selectRead = "SELECT " + s.userCols + ", " + inGroupsCol + " FROM " + s.bookTable() + " b" + s.appJoin
	s.selectUserSnap = "SELECT " + s.userCols + ", u.* FROM " + s.bookTable() + " b" + s.appJoin
	s.selectReadSnap = "SELECT " + s.userCols + ", " + inGroupsCol + ", u.* FROM " + s.bookTable() + " b" + s.appJoin
	return s
}

func (s *Store) bookTable() string { return s.t.Users() }

// bookRow is a user's bookkeeping row together with the app columns the mapping reads.
type bookRow struct {
	id           string
	appID        sql.NullInt64
	appKey       sql.NullString
	externalID   sql.NullString
	version      int64
	created      time.Time
	lastModified time.Time
	doc          []byte
	userName     string // the IdP's spelling, as last written through SCIM
	app          map[string]any
	derived      []string // attributes a default template rendered (see mapping.Users.Derived); set by toResource
	inGroups     bool     // inGroupsCol, when the query selected it: the user may be in a group
	hasDirect    bool     // the user may have roles assigned directly (has_direct, set by writeDirect)
	// snap is the app row whole (u.*, as audit.Snapshot reads it), when the query selected it: the
	// audit's before or after, read by the statement that reads the user instead of one more.
	snap map[string]any
}

func (b *bookRow) key() any {
	if b.appID.Valid {
		return b.appID.Int64
	}
	return b.appKey.String
}

type queryer = sqlx.QueryerContext

// queryUsers runs selectUser with a suffix (WHERE ..., ORDER ..., FOR UPDATE) and scans every row.
func (s *Store) queryUsers(ctx context.Context, q queryer, suffix string, args ...any) ([]*bookRow, error) {
	return s.queryUserRows(ctx, q, s.selectUser+" "+suffix, false, args...)
}

// queryUserRows runs a query selecting userCols, followed by inGroupsCol when groups is set, and scans
// every row; columns past those are the app row's u.* (selectUserSnap, selectReadSnap), kept in snap.
func (s *Store) queryUserRows(ctx context.Context, q queryer, query string, groups bool, args ...any) ([]*bookRow, error) {
	rows, err := q.QueryxContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	appCols := s.scimCols
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []*bookRow
	for rows.Next() {
		b := &bookRow{app: make(map[string]any, len(appCols))}
		appVals := make([]any, len(appCols))
		dest := []any{&b.id, &b.appID, &b.appKey, &b.externalID, &b.version, &b.created, &b.lastModified, &b.doc, &b.userName, &b.hasDirect}
		for i := range appVals {
			dest = append(dest, &appVals[i])
		}
		if groups {
			dest = append(dest, &b.inGroups)
		}
		rest := names[len(dest):]
		snap := make([]any, len(rest))
		for i := range snap {
			dest = append(dest, &snap[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		for i, c := range appCols {
			b.app[c] = appVals[i]
		}
		if len(rest) > 0 {
			b.snap = audit.Row(rest, snap)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (s *Store) oneUser(ctx context.Context, q queryer, id string, lock bool) (*bookRow, error) {
	return s.liveUser(ctx, q, s.selectUser, false, id, lock)
}

// oneUserSnap is oneUser with the app row whole in snap, for the audit trail.
func (s *Store) oneUserSnap(ctx context.Context, q queryer, id string, lock bool) (*bookRow, error) {
	return s.liveUser(ctx, q, s.selectUserSnap, false, id, lock)
}

// liveUser reads a live user by id with query (one of the selects; groups says it has inGroupsCol).
func (s *Store) liveUser(ctx context.Context, q queryer, query string, groups bool, id string, lock bool) (*bookRow, error) {
	suffix := " WHERE b.id = ? AND b.deleted_at IS NULL" + s.scopeSQL()
	if lock {
		suffix += " FOR UPDATE"
	}
	rows, err := s.queryUserRows(ctx, q, query+suffix, groups, append([]any{id}, s.scopeArgs()...)...)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, scim.NotFound("User", id)
	}
	return rows[0], nil
}

// tombstone reads a user deleted through SCIM, as it was when deleted, with its side placements locked.
func (s *Store) tombstone(ctx context.Context, q queryer, id string) (scim.Resource, *mapping.Side, error) {
	rows, err := s.queryUsers(ctx, q, "WHERE b.id = ?", id)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 {
		return nil, nil, scim.NotFound("User", id)
	}
	return s.readUser(ctx, q, rows[0], true)
}

// readUser builds the resource of one user row, reading its side placements (locked with lock); side is
// what they held, for a write to compare with.
func (s *Store) readUser(ctx context.Context, q queryer, b *bookRow, lock bool) (scim.Resource, *mapping.Side, error) {
	sides, err := s.loadSide(ctx, q, []any{b.key()}, lock)
	if err != nil {
		return nil, nil, err
	}
	side := sides.of(b.key())
	r, err := s.toResource(b, side)
	return r, side, err
}

// readUsers builds the resources of a page of user rows, with one query per side placement.
func (s *Store) readUsers(ctx context.Context, q queryer, rows []*bookRow) ([]scim.Resource, error) {
	keys := make([]any, len(rows))
	for i, b := range rows {
		keys[i] = b.key()
	}
	sides, err := s.loadSide(ctx, q, keys, false)
	if err != nil {
		return nil, err
	}
	out := make([]scim.Resource, len(rows))
	for i, b := range rows {
		if out[i], err = s.toResource(b, sides.of(b.key())); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// toResource builds the SCIM resource: bookkeeping doc, overlaid with the app's columns.
func (s *Store) toResource(b *bookRow, side *mapping.Side) (scim.Resource, error) {
	doc := scim.Resource{}
	dec := json.NewDecoder(bytes.NewReader(b.doc))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("user %s: bookkeeping doc: %w", b.id, err)
	}
	b.derived = derivedOf(doc)
	if b.externalID.Valid {
		doc["externalId"] = b.externalID.String
	}
	r := s.m.Overlay(doc, b.app, side)
	// A lower-cased copy of the userName (Mattermost's Email) reads back as the IdP's own spelling while
	// the app has not changed it beyond letter case; what the app renamed it to otherwise.
	if s.m.CaseCopy("userName") && scim.SameIdentity(fmt.Sprint(r["userName"]), b.userName) {
		r["userName"] = b.userName
	}
	if v, ok := s.m.UnrecognizedActive(b.app); ok && s.unknownActive.first(fmt.Sprint(b.key(), "\x00", v)) {
		s.log.Warn("user reads as inactive: the app's status value is not in the mapping's active map",
			"user_id", b.id, "app_key", b.key(), "column", s.m.Column("active").Name, "value", v)
	}
	r["id"] = b.id
	r["meta"] = map[string]any{
		"resourceType": "User",
		"created":      b.created.UTC().Format(time.RFC3339Nano),
		"lastModified": b.lastModified.UTC().Format(time.RFC3339Nano),
		"version":      Version(b.version),
	}
	r["schemas"] = s.m.Type.SchemaURNs(r)
	return r, nil
}

// Version is the ETag of a resource at a version number (RFC 7644 3.14: weak is enough, it is ours).
func Version(v int64) string { return `W/"` + strconv.FormatInt(v, 10) + `"` }

// GetUser returns a live user by SCIM id.
func (s *Store) GetUser(ctx context.Context, id string) (scim.Resource, error) {
	b, err := s.userWithGroups(ctx, s.db, id)
	if err != nil {
		return nil, s.classify(err)
	}
	r, _, err := s.readUser(ctx, s.db, b, false)
	if err == nil {
		err = s.setGroups(ctx, s.db, []scim.Resource{r}, []*bookRow{b})
	}
	return r, s.classify(err)
}

// userWithGroups reads a live user's row as oneUser does, without a lock, with inGroupsCol for setGroups,
// which asks the membership query only for a user that may be in a group.
func (s *Store) userWithGroups(ctx context.Context, q queryer, id string) (*bookRow, error) {
	return s.liveUser(ctx, q, s.selectRead, true, id, false)
}

// attachGroups sets the readOnly "groups" attribute of users (RFC 7643 4.1.2) from the membership
// table, with one query for all of them, and then the roles that derive from them.
func (s *Store) attachGroups(ctx context.Context, q sqlx.QueryerContext, users ...scim.Resource) error {
	if len(users) == 0 {
		return nil
	}
	if err := s.loadGroups(ctx, q, users...); err != nil {
		return err
	}
	return s.attachRoles(ctx, q, users...) // roles derive from the groups (and role_direct)
}

// loadGroups sets the "groups" attribute of users from the membership query. A NULL display name (the
// column is NOT NULL; an app may have loosened it) reads as "", as the JSON column it replaced did.
func (s *Store) loadGroups(ctx context.Context, q sqlx.QueryerContext, users ...scim.Resource) error {
	byID := make(map[string]scim.Resource, len(users))
	ids := make([]any, 0, len(users))
	for _, u := range users {
		id, _ := u["id"].(string)
		byID[id] = u
		ids = append(ids, id)
	}
	var rows []struct {
		UserID  string         `db:"user_id"`
		GroupID string         `db:"group_id"`
		Name    sql.NullString `db:"display_name"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, "SELECT gm.user_id, gm.group_id, g.display_name FROM "+s.memberTable()+" gm JOIN "+
		s.groupTable()+" g ON g.id = gm.group_id WHERE gm.user_id IN ("+placeholders(len(ids))+") ORDER BY g.display_name, g.id", ids...); err != nil {
		return err
	}
	for _, r := range rows {
		u := byID[r.UserID]
		list, _ := u["groups"].([]any)
		u["groups"] = append(list, map[string]any{"value": r.GroupID, "display": r.Name.String, "type": "direct"})
	}
	return nil
}
