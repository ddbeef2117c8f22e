package mapping

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

// Users is a compiled mapping of SCIM Users onto the app's users table.
type Users struct {
	Table           string
	Key             string
	KeyGen          KeyGenConfig
	Scope           map[string]any // column -> value that marks a row as a user; written on insert
	OnExisting      string         // "adopt" or "conflict"
	MatchExistingBy string         // app column used to find an existing row for adoption; "" disables it
	OnDelete        string         // "deactivate" or "delete"
	Type            *scim.ResourceType
	Columns         []*Column // the users table's, sorted by name

	// Placements outside the users table's own columns, in configuration order.
	Tables   []*Table
	Lists    []*List
	KeyValue []*KeyValue
	JSON     []*JSONDoc // sorted by column
}

// Compile checks a [users] section and builds the mapping. It reports every problem at once.
func Compile(cfg UsersConfig) (*Users, error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	m := &Users{Table: cfg.Table, Key: cfg.Key, KeyGen: cfg.KeyGeneration, Scope: cfg.Scope,
		OnExisting: or(cfg.OnExisting, "adopt"), MatchExistingBy: cfg.MatchExistingBy, OnDelete: or(cfg.OnDelete, "deactivate")}
	if m.Table == "" {
		fail("users.table is required")
	}
	if m.Key == "" {
		m.Key = "id"
	}
	if m.KeyGen.Kind == "" {
		m.KeyGen.Kind = KeyAutoIncrement
	}
	switch m.KeyGen.Kind {
	case KeyAutoIncrement, KeyUUID:
	case KeyRandom:
		if m.KeyGen.Length < 8 || m.KeyGen.Length > 191 {
			fail("users.key_generation.random_length must be between 8 and 191, got %d", m.KeyGen.Length)
		}
		if m.KeyGen.Alphabet == "" {
			m.KeyGen.Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
		}
	default:
		fail(`users.key_generation must be "auto_increment", "uuid" or a table {random_length, alphabet}, got %q`, m.KeyGen.Kind)
	}
	if !oneOf(m.OnExisting, "adopt", "conflict") {
		fail(`users.on_existing must be "adopt" or "conflict", got %q`, m.OnExisting)
	}
	if !oneOf(m.OnDelete, "deactivate", "delete") {
		fail(`users.on_delete must be "deactivate" or "delete", got %q`, m.OnDelete)
	}

	exts := []scim.Schema{scim.EnterpriseSchemaDef()}
	for i, e := range cfg.Extensions {
		s, err := extensionSchema(e)
		if err != nil {
			fail("users.extensions[%d]: %v", i, err)
			continue
		}
		exts = append(exts, s)
	}
	m.Type = scim.NewResourceType("User", "/Users", "User Account", scim.UserSchemaDef(), exts...)
	m.Type.Unknown = or(cfg.UnknownAttributes, scim.UnknownKeep)
	if !oneOf(m.Type.Unknown, scim.UnknownKeep, scim.UnknownRefuse, scim.UnknownIgnore) {
		fail(`users.unknown_attributes must be "keep", "refuse" or "ignore", got %q`, cfg.UnknownAttributes)
	}

	seen := map[string]string{strings.ToLower(m.Key): "the key"}
	for col, v := range m.Scope {
		seen[strings.ToLower(col)] = "users.scope"
		if err := checkScopeValue(v); err != nil {
			fail("users.scope.%s %v", col, err)
		}
	}
	names := make([]string, 0, len(cfg.Columns))
	for name := range cfg.Columns {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if prev, dup := seen[strings.ToLower(name)]; dup {
			fail("users.columns.%s: column %q is mapped twice (also by %s)", name, name, prev)
			continue
		}
		seen[strings.ToLower(name)] = "users.columns." + name
		c, err := compileColumn(m.Type, name, cfg.Columns[name])
		if err != nil {
			fail("users.columns.%s: %v", name, err)
			continue
		}
		m.Columns = append(m.Columns, c)
	}
	errs = append(errs, m.compileReach(cfg, seen)...)
	pickReadBack(m.allColumns()...)
	if m.Column("userName") == nil {
		fail("users.columns: no column holds userName; every SCIM user needs one")
	}
	if m.OnDelete == "deactivate" && m.Column("active") == nil {
		fail(`users.on_delete = "deactivate" needs a column mapped from "active" (a status code or a deactivation timestamp), or use on_delete = "delete"`)
	}
	if m.MatchExistingBy != "" && seen[strings.ToLower(m.MatchExistingBy)] == "" {
		fail("users.match_existing_by: %q is not a mapped column", m.MatchExistingBy)
	}
	return m, errors.Join(errs...)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func extensionSchema(e ExtensionConfig) (scim.Schema, error) {
	if !strings.HasPrefix(strings.ToLower(e.URN), "urn:") {
		return scim.Schema{}, fmt.Errorf("urn must start with \"urn:\", got %q", e.URN)
	}
	s := scim.Schema{ID: e.URN, Name: or(e.Name, e.URN[strings.LastIndex(e.URN, ":")+1:]), Description: e.Description}
	names := make([]string, 0, len(e.Attributes))
	for n := range e.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := e.Attributes[n]
		if !oneOf(t, scim.String, scim.Boolean, scim.Integer, scim.Decimal, scim.DateTime, scim.Reference) {
			return s, fmt.Errorf("attribute %q: type %q is not string, boolean, integer, decimal, dateTime or reference", n, t)
		}
		s.Attributes = append(s.Attributes, scim.Attribute{Name: n, Type: t, Mutability: "readWrite", Returned: "default", Uniqueness: "none"})
	}
	return s, nil
}

// Column returns the users-table column that a SCIM attribute path reads back from (the one GET and
// filters use), or nil when the attribute has no column there.
func (m *Users) Column(path string) *Column { return readBackColumn(m.Columns, path) }

// CaseCopy reports whether the users-table column an attribute is read from holds a transformed copy
// (lower, upper, trim) rather than the value itself.
func (m *Users) CaseCopy(path string) bool {
	c := m.Column(path)
	return c != nil && c.transform != ""
}

// UnrecognizedActive returns the value of the users-table column "active" is read from when its value map
// does not list it (such a user reads as inactive; see Column.failsClosed).
func (m *Users) UnrecognizedActive(row map[string]any) (any, bool) {
	c := m.Column("active")
	if c == nil || !c.Unrecognized(row[c.Name]) {
		return nil, false
	}
	return dbScalar(row[c.Name]), true
}

// ScimColumns lists the columns a read needs, the key first.
func (m *Users) ScimColumns() []string {
	cols := []string{m.Key}
	for _, c := range m.Columns {
		if c.readBack {
			cols = append(cols, c.Name)
		}
	}
	return cols
}

// pickReadBack chooses, for each attribute, the one column a resource is read from: a column of an
// earlier group beats one of a later group (the users table comes first); within a group a plain copy
// beats a value map or boolean case, which beats a lower-/upper-cased copy.
func pickReadBack(groups ...[]*Column) {
	type candidate struct {
		c    *Column
		rank int
	}
	best := map[string]candidate{}
	for g, cols := range groups {
		for _, c := range cols {
			if c.src == nil || c.lossy() {
				continue // an email's local part is no email: it is read from elsewhere
			}
			key := strings.ToLower(c.src.path)
			rank := g*3 + c.rank()
			if b, ok := best[key]; !ok || rank < b.rank {
				best[key] = candidate{c, rank}
			}
		}
	}
	for _, b := range best {
		b.c.readBack = true
	}
}

// Env is what a write needs from the outside world: the time and fresh ids, injected so tests control them.
type Env struct {
	Now     func() time.Time
	NewUUID func() string
}

// WithCreateDefaults gives a user that is created (or adopted) without "active" the conventional
// default: active. Updates do not get it: there an absent "active" must not reactivate anyone.
func WithCreateDefaults(r scim.Resource) scim.Resource {
	if _, ok := r["active"]; ok {
		return r
	}
	out := make(scim.Resource, len(r)+1)
	for k, v := range r {
		out[k] = v
	}
	out["active"] = true
	return out
}

// InsertColumns computes the column values of a new row.
func (m *Users) InsertColumns(r scim.Resource, env Env) (map[string]any, error) {
	r = WithCreateDefaults(r)
	now := env.Now()
	out := map[string]any{}
	for col, v := range m.Scope {
		out[col] = scopeInsertValue(v)
	}
	for _, c := range m.Columns {
		var v value
		var err error
		switch {
		case c.onInsert != nil:
			v = *c.onInsert
		case c.onWrite != nil:
			v = *c.onWrite
		default:
			if v, err = c.fromResource(r); err != nil {
				return nil, err
			}
			if v.lit == nil && v.special == "" && c.src.get(r) == nil {
				continue // absent: the column's own default, not NULL, which a NOT NULL DEFAULT '' column refuses
			}
		}
		out[c.Name] = v.materialize(now, env.NewUUID)
	}
	for _, d := range m.JSON {
		doc, err := d.newDoc(r, env)
		if err != nil {
			return nil, err
		}
		out[d.Column] = doc
	}
	return out, nil
}

// NewRowSide is the Side of an app row just inserted with cols (InsertColumns): its JSON documents, and
// nothing in the side tables yet.
func (m *Users) NewRowSide(cols map[string]any) *Side {
	side := m.NewSide()
	for i, d := range m.JSON {
		side.Docs[i] = cols[d.Column]
	}
	return side
}

// UpdateColumns computes the columns an update must write: those whose value differs between the old and
// the new resource, plus the on_write columns when anything changed. A deactivation timestamp is therefore
// set when active turns false, not rewritten by every later update.
func (m *Users) UpdateColumns(old, new scim.Resource, env Env) (map[string]any, error) {
	now := env.Now()
	out := map[string]any{}
	_, newHasActive := new["active"]
	for _, c := range m.Columns {
		if c.src == nil {
			continue
		}
		if c.src.path == "active" && !newHasActive {
			continue // no "active" (a PATCH removing it) leaves the account's state as it is
		}
		// A default template applies only when the attribute is absent from new: a displayName the IdP
		// set (or one read back from an earlier rendering) is its word, and a new family name leaves it.
		nv, err := c.fromResource(new)
		if err != nil {
			return nil, err
		}
		if ov, err := c.fromResource(old); err == nil && ov.equal(nv) {
			continue
		}
		if nv.lit == nil && nv.special == "" && c.src.get(new) == nil {
			out[c.Name] = ColumnDefault // removed: as on insert, the column's default (NULL when it has none)
			continue
		}
		out[c.Name] = nv.materialize(now, env.NewUUID)
	}
	if len(out) == 0 {
		return out, nil
	}
	for _, c := range m.Columns {
		if c.onWrite != nil {
			out[c.Name] = c.onWrite.materialize(now, env.NewUUID)
		}
	}
	return out, nil
}

// AdoptColumns computes the columns written when scimbridge takes over an existing app row (adoption, or
// re-linking a user deleted earlier): every attribute the resource has, and the on_write columns. Columns
// whose attribute is absent keep what the app has.
func (m *Users) AdoptColumns(r scim.Resource, env Env) (map[string]any, error) {
	r = WithCreateDefaults(r)
	now := env.Now()
	out := map[string]any{}
	for _, c := range m.Columns {
		switch {
		case c.onWrite != nil:
			out[c.Name] = c.onWrite.materialize(now, env.NewUUID)
		case c.src != nil && (c.src.get(r) != nil || renderTemplate(c.template, r) != nil):
			v, err := c.fromResource(r)
			if err != nil {
				return nil, err
			}
			out[c.Name] = v.materialize(now, env.NewUUID)
		}
	}
	return out, nil
}

// ExtractString returns the string a column would get from r, transforms applied (email_lower gets the
// lower-cased userName): adoption compares it with that column to find an existing app row.
func (m *Users) ExtractString(r scim.Resource, column string) (string, bool) {
	for _, c := range m.Columns {
		if strings.EqualFold(c.Name, column) && c.src != nil {
			v, err := c.fromResource(r)
			s, ok := v.lit.(string)
			return s, err == nil && ok && s != ""
		}
	}
	return "", false
}
