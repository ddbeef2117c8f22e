// Package mapping turns the TOML description of an app's users table into a compiled mapping: which SCIM
// attribute goes to which column, with what transform, and how a row reads back as a SCIM resource.
// It is pure: no I/O, no clock and no randomness of its own (both are passed in), so every rule is unit-tested.
package mapping

import (
	"fmt"
	"maps"
	"slices"
	"sort"
)

// UsersConfig is the [users] section of the configuration.
type UsersConfig struct {
	Table           string         `toml:"table"`
	Key             string         `toml:"key"`
	KeyGeneration   KeyGenConfig   `toml:"key_generation"`
	Scope           map[string]any `toml:"scope"`
	OnExisting      string         `toml:"on_existing"`
	MatchExistingBy string         `toml:"match_existing_by"`
	OnDelete        string         `toml:"on_delete"`
	// UnknownAttributes says what happens to attributes no schema declares: "keep" (default: kept in the
	// bookkeeping and returned on GET), "refuse" (400, nothing applied) or "ignore" (dropped).
	UnknownAttributes string                `toml:"unknown_attributes"`
	Columns           map[string]ColumnSpec `toml:"columns"`
	Extensions        []ExtensionConfig     `toml:"extensions"`

	// Attributes kept outside the users table's own columns.
	Tables   []TableConfig                    `toml:"tables"`   // one-to-one side tables
	Lists    []ListConfig                     `toml:"lists"`    // multi-valued attributes, a row per value
	KeyValue []KeyValueConfig                 `toml:"keyvalue"` // a row per attribute: (user, key, value)
	JSON     map[string]map[string]ColumnSpec `toml:"json"`     // users-table column -> JSON path -> attribute
}

// TableConfig is a [[users.tables]] entry: a table holding at most one row per user (user_profiles), the
// row created when the first of its attributes gets a value.
type TableConfig struct {
	Table      string                `toml:"table"`
	ForeignKey string                `toml:"foreign_key"` // column holding the users table's key
	Columns    map[string]ColumnSpec `toml:"columns"`
}

// ListConfig is a [[users.lists]] entry: a multi-valued attribute (emails, phoneNumbers) kept as one row
// per value. Columns name sub-attributes of one element ("value", "type", "primary"). Scope marks the rows
// this list manages when a table holds several kinds (channel = "email"); it is written on insert.
type ListConfig struct {
	Attribute  string                `toml:"attribute"`
	Table      string                `toml:"table"`
	ForeignKey string                `toml:"foreign_key"`
	Scope      map[string]any        `toml:"scope"`
	Columns    map[string]ColumnSpec `toml:"columns"`
	// KeepAppRows (default true): replacing the attribute deletes only the rows scimbridge wrote, and
	// keeps those the app added itself (an address the user added in the app). false: every managed row
	// not in the IdP's list goes.
	KeepAppRows *bool `toml:"keep_app_rows"`
}

// KeyValueConfig is a [[users.keyvalue]] entry: a table of (user, key, value) rows (user_meta). Keys maps
// each managed key to its attribute; rows with other keys belong to the app and are never touched.
type KeyValueConfig struct {
	Table       string                `toml:"table"`
	ForeignKey  string                `toml:"foreign_key"`
	KeyColumn   string                `toml:"key_column"`
	ValueColumn string                `toml:"value_column"`
	Keys        map[string]ColumnSpec `toml:"keys"`
}

// KeyKind says who makes a table's key.
type KeyKind string

const (
	KeyAutoIncrement KeyKind = "auto_increment" // the database
	KeyUUID          KeyKind = "uuid"           // scimbridge: a UUID
	KeyRandom        KeyKind = "random"         // scimbridge: a random string of an alphabet
)

// KeyGenConfig says who makes the app's user key: "auto_increment" (the database), "uuid", or a random
// string { random_length = 26, alphabet = "..." } made by scimbridge.
type KeyGenConfig struct {
	Kind     KeyKind
	Length   int
	Alphabet string
}

// UnmarshalTOML accepts either a string or a table.
func (k *KeyGenConfig) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		k.Kind = KeyKind(v)
		return nil
	case map[string]any:
		k.Kind = KeyRandom
		for _, key := range slices.Sorted(maps.Keys(v)) {
			val := v[key]
			switch key {
			case "random_length":
				n, ok := val.(int64)
				if !ok {
					return fmt.Errorf("key_generation.random_length must be a number")
				}
				k.Length = int(n)
			case "alphabet":
				s, ok := val.(string)
				if !ok {
					return fmt.Errorf("key_generation.alphabet must be a string")
				}
				k.Alphabet = s
			default:
				return fmt.Errorf("key_generation: unknown key %q (random_length, alphabet)", key)
			}
		}
		return nil
	}
	return fmt.Errorf("key_generation must be a string or a table")
}

// ColumnSpec says what goes into one column of the users table. In TOML it is either the name of a SCIM
// attribute ("name.givenName") or a table with these keys.
type ColumnSpec struct {
	From      string         // SCIM attribute path; "emails[primary].value" picks one element of a list
	Transform string         // "lower", "upper", "trim", "email_local", "slug", or several: "email_local, lower"
	Allowed   string         // the characters slug keeps: "a-z0-9._-"
	MaxLength int64          // cut the value to this many characters (the column's length)
	Map       map[string]any // SCIM value -> column value(s): { true = 1, false = [2, 3] }
	WhenTrue  any            // for a boolean: the column value when true ("null", "now", "now_unix_ms", a constant)
	WhenFalse any            // ...and when false
	Default   string         // template used when the attribute is absent: "{name.givenName} {name.familyName}"
	OnInsert  any            // value written on insert only: a constant, "now", "now_unix", "now_unix_ms", "uuid"
	OnWrite   any            // value written on insert and on every update ("updated_at")
	set       []string       // the keys given, to reject nonsense combinations
}

// UnmarshalTOML accepts either a string (the attribute) or a table.
func (c *ColumnSpec) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		c.From = v
		c.set = []string{"from"}
		return nil
	case map[string]any:
		for _, key := range slices.Sorted(maps.Keys(v)) { // sorted, so the same file always reports the same error
			val := v[key]
			c.set = append(c.set, key)
			var ok bool
			switch key {
			case "from":
				c.From, ok = val.(string)
			case "transform":
				c.Transform, ok = val.(string)
			case "allowed":
				c.Allowed, ok = val.(string)
			case "max_length":
				c.MaxLength, ok = val.(int64)
			case "map":
				c.Map, ok = val.(map[string]any)
			case "when_true":
				c.WhenTrue, ok = val, true
			case "when_false":
				c.WhenFalse, ok = val, true
			case "default":
				c.Default, ok = val.(string)
			case "on_insert":
				c.OnInsert, ok = val, true
			case "on_write":
				c.OnWrite, ok = val, true
			default:
				return fmt.Errorf("unknown key %q (from, transform, allowed, max_length, map, when_true, when_false, default, on_insert, on_write)", key)
			}
			if !ok {
				return fmt.Errorf("%q has the wrong type", key)
			}
		}
		sort.Strings(c.set)
		return nil
	}
	return fmt.Errorf("a column must be a SCIM attribute name or a table")
}

// ExtensionConfig declares a custom schema extension whose attributes the IdP may send
// ([[users.extensions]] urn = "urn:acme:scim:User", attributes = { costCenter = "string" }).
type ExtensionConfig struct {
	URN         string            `toml:"urn"`
	Name        string            `toml:"name"`
	Description string            `toml:"description"`
	Attributes  map[string]string `toml:"attributes"`
}

func (c *ColumnSpec) has(key string) bool {
	for _, k := range c.set {
		if k == key {
			return true
		}
	}
	return false
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}
