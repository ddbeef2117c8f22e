package mapping

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// RolesConfig is the [roles] section: which IdP group grants which app role, and how the app stores roles.
type RolesConfig struct {
	Store         string `toml:"store"`          // "column", "join", "list" or "flags"
	WhileInactive string `toml:"while_inactive"` // "keep" (default) or "clear"
	// Authoritative: the IdP's groups are the only truth; roles given by hand in the app are removed too.
	Authoritative bool         `toml:"authoritative"`
	Column        string       `toml:"column"`    // column and list: the users-table column
	Default       *string      `toml:"default"`   // column: the role of a user in no mapped group (absent: NULL)
	Separator     string       `toml:"separator"` // list: between roles, default " "
	Encoding      string       `toml:"encoding"`  // list: "separated" (default), "json" or "php"
	KeyValue      *RoleKVRow   `toml:"keyvalue"`  // list: the value is a key-value row, not a users-table column
	Table         string       `toml:"table"`     // join: the user-role table
	User          string       `toml:"user"`      // join: its column holding the app's user key
	Role          string       `toml:"role"`      // join: its column holding the role key
	Lookup        *RoleLookup  `toml:"lookup"`    // join: the roles table, to find a role's key by name
	Rules         []RoleConfig `toml:"rules"`
	// Direct is how roles assigned on the user ("roles" in SCIM) combine with the rules' (DirectMode).
	Direct string `toml:"direct"`
}

// RoleLookup names the app's roles table: the key column and the name column, and for a table shared
// with other rows (Redmine's principals), the scope: column = value conditions a role row meets.
type RoleLookup struct {
	Table string         `toml:"table"`
	Key   string         `toml:"key"`
	Name  string         `toml:"name"`
	Scope map[string]any `toml:"scope"`
}

// RoleKVRow locates a list store in a key-value table: the row of the user (foreign_key = the users
// table's key) whose key_column is key (WordPress: wp_usermeta, meta_key = 'wp_capabilities').
type RoleKVRow struct {
	Table       string `toml:"table"`
	ForeignKey  string `toml:"foreign_key"`
	KeyColumn   string `toml:"key_column"`
	ValueColumn string `toml:"value_column"`
	Key         string `toml:"key"`
}

// RoleConfig is one [[roles.rules]] entry.
type RoleConfig struct {
	Group           string `toml:"group"`             // the IdP group's displayName, case-insensitively
	GroupExternalID string `toml:"group_external_id"` // or its externalId, exactly
	Role            string `toml:"role"`              // the app role it grants
	Priority        int    `toml:"priority"`          // column store: the highest wins
	Column          string `toml:"column"`            // flags store: the flag column set to 1 while granted
}

// Roles is a compiled role mapping.
type Roles struct {
	Store         RoleStore
	ClearInactive bool
	Authoritative bool
	Column        string
	Default       *string
	Separator     string
	Encoding      string     // list: ListSeparated, ListJSON or ListPHP
	KeyValue      *RoleKVRow // list: kept in a key-value row rather than Column
	Table         string
	User, Role    string
	Lookup        RoleLookup
	Rules         []RoleConfig // sorted by priority, highest first
	Direct        DirectMode   // how direct assignments combine with group rules
}

// RoleStore is how an app stores its users' roles ([roles] store).
type RoleStore string

const (
	RoleColumn RoleStore = "column" // one role in a column of the users table
	RoleList   RoleStore = "list"   // several roles in one column, separated
	RoleFlags  RoleStore = "flags"  // a boolean column per role
	RoleJoin   RoleStore = "join"   // a row per user and role in a join table
)

// CompileRoles checks a [roles] section; nil config means no role mapping.
func CompileRoles(cfg *RolesConfig) (*Roles, error) {
	if cfg == nil {
		return nil, nil
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	r := &Roles{Store: RoleStore(cfg.Store), Authoritative: cfg.Authoritative, Column: cfg.Column, Default: cfg.Default, Separator: cfg.Separator,
		Encoding: cfg.Encoding, KeyValue: cfg.KeyValue,
		Table: cfg.Table, User: cfg.User, Role: cfg.Role}
	switch cfg.WhileInactive {
	case "", "keep":
	case "clear":
		r.ClearInactive = true
	default:
		fail(`roles.while_inactive must be "keep" or "clear", got %q`, cfg.WhileInactive)
	}
	switch r.Direct = DirectMode(cfg.Direct); r.Direct {
	case "":
		r.Direct = DirectUnion
	case DirectUnion, DirectOnly, GroupsOnly:
	default:
		fail(`roles.direct must be "union", "direct_only" or "groups_only", got %q`, cfg.Direct)
	}
	need := func(key, v string) {
		if v == "" {
			fail("roles.%s is required with store = %q", key, cfg.Store)
		}
	}
	if cfg.Encoding != "" && cfg.Store != "list" {
		fail(`roles.encoding belongs to store = "list"`)
	}
	if cfg.KeyValue != nil && cfg.Store != "list" && cfg.Store != "column" {
		fail(`roles.keyvalue belongs to store = "list" or "column"`)
	}
	kvRow := func() {
		switch {
		case cfg.KeyValue == nil:
			need("column", cfg.Column)
		case cfg.Column != "":
			fail("roles: give column or keyvalue = { ... }, not both")
		default:
			kv := cfg.KeyValue
			for _, k := range [][2]string{{"table", kv.Table}, {"foreign_key", kv.ForeignKey}, {"key_column", kv.KeyColumn},
				{"value_column", kv.ValueColumn}, {"key", kv.Key}} {
				if k[1] == "" {
					fail("roles.keyvalue.%s is required", k[0])
				}
			}
		}
	}
	if cfg.Default != nil && cfg.Store != "column" {
		fail(`roles.default belongs to store = "column": the other stores hold only the roles groups grant`)
	}
	switch cfg.Store {
	case "column":
		kvRow()
	case "list":
		kvRow()
		switch r.Encoding {
		case "":
			r.Encoding = ListSeparated
		case ListSeparated, ListJSON, ListPHP:
		default:
			fail(`roles.encoding must be "separated", "json" or "php", got %q`, r.Encoding)
		}
		if cfg.Separator != "" && r.Encoding != ListSeparated {
			fail(`roles.separator belongs to encoding = "separated"`)
		}
		if r.Separator == "" {
			r.Separator = " "
		}
	case "join":
		need("table", cfg.Table)
		need("user", cfg.User)
		need("role", cfg.Role)
		if cfg.Lookup == nil {
			fail(`roles.lookup = { table, key, name } is required with store = "join": it finds a role's key by name`)
		} else {
			r.Lookup = *cfg.Lookup
			need("lookup.table", r.Lookup.Table)
			need("lookup.key", r.Lookup.Key)
			need("lookup.name", r.Lookup.Name)
			for _, col := range slices.Sorted(maps.Keys(r.Lookup.Scope)) {
				switch r.Lookup.Scope[col].(type) {
				case string, int64, float64, bool:
				default:
					fail("roles.lookup.scope.%s must be a string, number or boolean", col)
				}
			}
		}
	case "flags":
	default:
		fail(`roles.store must be "column", "join", "list" or "flags", got %q`, cfg.Store)
	}
	if len(cfg.Rules) == 0 {
		fail("roles: no [[roles.rules]]; each rule maps a group to a role")
	}
	for i, rule := range cfg.Rules {
		switch {
		case (rule.Group == "") == (rule.GroupExternalID == ""):
			fail("roles.rules[%d]: give group (a displayName) or group_external_id, one of them", i)
		case rule.Role == "" && cfg.Store != "flags":
			fail("roles.rules[%d]: role is required", i)
		case cfg.Store == "flags" && rule.Column == "":
			fail("roles.rules[%d]: column is required with store = \"flags\"", i)
		case cfg.Store != "flags" && rule.Column != "":
			fail("roles.rules[%d]: column belongs to store = \"flags\"", i)
		case cfg.Store == "list" && r.Encoding == ListSeparated && strings.Contains(rule.Role, r.Separator):
			fail("roles.rules[%d]: role %q contains the separator %q", i, rule.Role, r.Separator)
		}
		if rule.Role == "" {
			rule.Role = rule.Column
		}
		r.Rules = append(r.Rules, rule)
	}
	sort.SliceStable(r.Rules, func(i, j int) bool { return r.Rules[i].Priority > r.Rules[j].Priority })
	return r, errors.Join(errs...)
}

// Name identifies the store among a configuration's role stores, in scimbridge's record of the roles it
// granted: its kind and where it writes. Moving a store elsewhere starts its record afresh.
func (r *Roles) Name() string {
	switch {
	case r.KeyValue != nil:
		return string(r.Store) + ":" + r.KeyValue.Table + "." + r.KeyValue.Key
	}
	switch r.Store {
	case RoleColumn, RoleList:
		return string(r.Store) + ":" + r.Column
	case RoleJoin:
		return string(r.Store) + ":" + r.Table
	}
	cols := make([]string, 0, len(r.FlagColumns()))
	for c := range r.FlagColumns() {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	return string(r.Store) + ":" + strings.Join(cols, ",")
}

// CompileRoleStores checks the role stores of a configuration ([roles], or several [[roles]]): each as
// CompileRoles does, and that no two write the same place.
func CompileRoleStores(cfgs []RolesConfig) ([]*Roles, error) {
	var out []*Roles
	var errs []error
	seen := map[string]int{}
	for i := range cfgs {
		r, err := CompileRoles(&cfgs[i])
		if err != nil {
			if len(cfgs) > 1 {
				err = fmt.Errorf("roles[%d]: %w", i, err)
			}
			errs = append(errs, err)
			continue
		}
		if prev, ok := seen[strings.ToLower(r.Name())]; ok {
			errs = append(errs, fmt.Errorf("roles[%d]: writes the same place as roles[%d] (%s)", i, prev, r.Name()))
			continue
		}
		seen[strings.ToLower(r.Name())] = i
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// Group is what a rule looks at: a group's displayName and externalId.
type Group struct {
	DisplayName string
	ExternalID  string
}

// Matches reports whether the rule applies to the group.
func (rule RoleConfig) Matches(g Group) bool {
	if rule.GroupExternalID != "" {
		return rule.GroupExternalID == g.ExternalID
	}
	return strings.EqualFold(rule.Group, g.DisplayName)
}

// Granted returns the roles a user in these groups gets, each once, highest priority first.
func (r *Roles) Granted(groups []Group) []string {
	var out []string
	seen := map[string]bool{}
	for _, rule := range r.Rules {
		if seen[rule.Role] {
			continue
		}
		for _, g := range groups {
			if rule.Matches(g) {
				seen[rule.Role] = true
				out = append(out, rule.Role)
				break
			}
		}
	}
	return out
}

// Managed lists every role the rules can grant, each once: the only roles scimbridge adds or removes.
func (r *Roles) Managed() []string {
	var out []string
	seen := map[string]bool{}
	for _, rule := range r.Rules {
		if !seen[rule.Role] {
			seen[rule.Role] = true
			out = append(out, rule.Role)
		}
	}
	return out
}

// FlagColumns maps each flag column to the roles that set it (flags store).
func (r *Roles) FlagColumns() map[string][]string {
	out := map[string][]string{}
	for _, rule := range r.Rules {
		out[rule.Column] = append(out[rule.Column], rule.Role)
	}
	return out
}

// MergeList rewrites a delimited role list: managed roles not granted are removed, granted roles missing
// are appended, and everything the mapping does not manage stays exactly as it was, spacing and
// repetitions included, so that a list needing no change is not rewritten.
func (r *Roles) MergeList(current string, granted []string) string {
	managed := map[string]bool{}
	for _, m := range r.Managed() {
		managed[m] = true
	}
	want := map[string]bool{}
	for _, g := range granted {
		want[g] = true
	}
	var out []string
	have := map[string]bool{}
	for _, part := range strings.Split(current, r.Separator) {
		tok := strings.TrimSpace(part)
		switch {
		case tok == "":
			continue
		case managed[tok] && (!want[tok] || have[tok]):
			continue // not granted (or a repeat of a managed role): removed
		}
		have[tok] = true
		out = append(out, part)
	}
	for _, g := range granted {
		if !have[g] {
			out = append(out, g)
			have[g] = true
		}
	}
	return strings.Join(out, r.Separator)
}

// ListRoles returns the managed roles present in a delimited list, in the rules' order.
func (r *Roles) ListRoles(current string) []string {
	have := map[string]bool{}
	for _, tok := range splitList(current, r.Separator) {
		have[tok] = true
	}
	var out []string
	for _, m := range r.Managed() {
		if have[m] {
			out = append(out, m)
		}
	}
	return out
}

func splitList(s, sep string) []string {
	var out []string
	for _, tok := range strings.Split(s, sep) {
		if tok = strings.TrimSpace(tok); tok != "" {
			out = append(out, tok)
		}
	}
	return out
}
