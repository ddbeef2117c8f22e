package bookkeeping

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// The values table ({p}user_values) indexes the values a user's bookkeeping document holds (emails.value,
// an extension's costCenter...): attributes no app column holds, which a filter otherwise finds only by
// reading every user's JSON. Its value column has the collation utf8mb4_unicode_ci, the loosest a filter
// compares document text with, so that one lookup finds every user a filter can match (caseExact and
// identity comparisons match a subset of it); the filter then checks the document itself as before, so
// results are those of the scan, and a row left behind can add nothing.
//
// Values are indexed by their first MaxValueChars characters: a lookup for a longer value is not made
// (the filter scans), while a stored value longer than that is found by values equal to its start.

// MaxValueChars is how many characters of a value the index holds.
const MaxValueChars = 680

// maxKeyChars is the length of the attr column: a longer attribute path is not indexed.
const maxKeyChars = 191

// ValueKey is the attr column for an attribute path (lower-cased "emails.value", or
// "urn:...:user:costcenter"), and false when the path is too long for the index.
func ValueKey(path string) (string, bool) {
	key := strings.ToLower(path)
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return "", false
		}
	}
	return key, len(key) <= maxKeyChars
}

// Indexable says whether a lookup of the value v can be answered by the values table.
func Indexable(v string) bool { return utf8.RuneCountInString(v) <= MaxValueChars }

// Value is one row of the values table.
type Value struct{ Attr, Text string }

// DocValues lists the values of a bookkeeping document to index: every string and number, at
// the path a filter names it by: "title", "name.familyname", "emails.value" (each element), and in an
// extension "urn:...:user:manager.value". scimbridge's own notes ($scimbridge) are left out.
func DocValues(doc []byte) ([]Value, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	var out []Value
	seen := map[Value]bool{}
	add := func(path string, v any) {
		text, ok := scalarText(v)
		key, keyOK := ValueKey(path)
		if !ok || !keyOK {
			return
		}
		if utf8.RuneCountInString(text) > MaxValueChars {
			text = string([]rune(text)[:MaxValueChars])
		}
		if val := (Value{key, text}); !seen[val] {
			seen[val] = true
			out = append(out, val)
		}
	}
	var attr func(path string, v any)
	attr = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for sub, sv := range v {
				add(path+"."+sub, sv)
			}
		case []any:
			for _, el := range v {
				if obj, ok := el.(map[string]any); ok {
					attr(path, obj)
				} else {
					add(path, el)
				}
			}
		default:
			add(path, v)
		}
	}
	for k, v := range m {
		if strings.HasPrefix(k, "$") {
			continue
		}
		if ext, ok := v.(map[string]any); ok && strings.HasPrefix(strings.ToLower(k), "urn:") {
			for name, ev := range ext {
				attr(k+":"+name, ev)
			}
			continue
		}
		attr(k, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Attr != out[j].Attr {
			return out[i].Attr < out[j].Attr
		}
		return out[i].Text < out[j].Text
	})
	return out, nil
}

func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	// Not booleans: a lookup in the table is made for string and reference attributes only
	// (adapters/mysql valueLookup), and emails.primary = true alone was a third of its rows, a million
	// of one key at 1,000,000 users.
	return "", false
}

// WriteValues replaces the values rows of the user id with those of doc (nil: the user has none, as a
// deleted one). fresh says the user cannot have rows yet (just inserted), saving the DELETE.
func WriteValues(ctx context.Context, x sqlx.ExecerContext, t Tables, id string, doc []byte, fresh bool) error {
	if !fresh {
		if _, err := x.ExecContext(ctx, "DELETE FROM "+t.Values()+" WHERE user_id = ?", id); err != nil {
			return err
		}
	}
	if doc == nil {
		return nil
	}
	vals, err := DocValues(doc)
	if err != nil {
		return fmt.Errorf("user %s: bookkeeping doc: %w", id, err)
	}
	return insertValues(ctx, x, t, map[string][]Value{id: vals})
}

// insertValues writes the rows of several users in one statement. IGNORE: two values equal under the
// column's collation (Alice@x and alice@x) are one row.
func insertValues(ctx context.Context, x sqlx.ExecerContext, t Tables, byUser map[string][]Value) error {
	var rows []string
	var args []any
	for id, vals := range byUser {
		for _, v := range vals {
			rows = append(rows, "(?, ?, ?)")
			args = append(args, id, v.Attr, v.Text)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	_, err := x.ExecContext(ctx, "INSERT IGNORE INTO "+t.Values()+" (user_id, attr, value_fold) VALUES "+strings.Join(rows, ", "), args...)
	return err
}

// ForgetUser deletes the rows of scimbridge's tables that hang off the user id, as its row goes: its
// memberships, its values, its role mark, its list-row records and its direct roles. Foreign-key cascades did this once; they are gone (migrations 20, 21)
// because Galera certifies the rows a cascade changes poorly and MySQL Group Replication refuses
// cascading keys in multi-primary mode, so the transaction deleting the user deletes them itself.
func ForgetUser(ctx context.Context, x sqlx.ExecerContext, t Tables, id string) error {
	for _, table := range []string{t.Members(), t.Values(), t.RoleMarks(), t.ListRows(), t.RoleDirect()} {
		if _, err := x.ExecContext(ctx, "DELETE FROM "+table+" WHERE user_id = ?", id); err != nil {
			return err
		}
	}
	return nil
}

// MoveUser gives the rows hanging off the user from to its new id to (a tombstone revived under a new
// SCIM id), as ON UPDATE CASCADE did. Its values are dropped, not moved: the revival writes them anew.
func MoveUser(ctx context.Context, x sqlx.ExecerContext, t Tables, from, to string) error {
	for _, table := range []string{t.Members(), t.ListRows(), t.RoleDirect()} {
		if _, err := x.ExecContext(ctx, "UPDATE "+table+" SET user_id = ? WHERE user_id = ?", to, from); err != nil {
			return err
		}
	}
	_, err := x.ExecContext(ctx, "DELETE FROM "+t.Values()+" WHERE user_id = ?", from)
	return err
}
