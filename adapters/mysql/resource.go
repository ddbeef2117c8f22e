package mysql

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// env is what the mapping computes values with inside tx: the transaction's one time, and fresh ids.
func (s *Store) env(tx *bookkeeping.Tx) mapping.Env {
	return mapping.Env{Now: func() time.Time { return tx.Now }, NewUUID: s.newUUID}
}

// newUUID is a random UUID (version 4) for the app's tables: a key of kind "uuid", an "uuid" on_insert
// value. An app may take such a value for unguessable, so it is not scimbridge's time-ordered newID.
func (s *Store) newUUID() string {
	id, err := uuid.NewRandomFromReader(s.rand)
	if err != nil {
		panic("scimbridge: randomness source failed: " + err.Error()) // crypto/rand does not fail on Linux
	}
	return id.String()
}

// newID is a fresh id of scimbridge's own (a user's or group's SCIM id, an event's): a UUIDv7 (RFC
// 9562), the time in milliseconds then 74 random bits, from the store's clock and randomness.
// Time-ordered ids land at the end of the indexes they lead (scim_users' primary key, the values, the
// written columns, the audit's scim_id), where random ones touch a page anywhere in a large table: at
// 1,000,000 users and MariaDB's default 128 MiB buffer pool, a read from disk for most writes.
func (s *Store) newID() string {
	var id uuid.UUID
	if _, err := io.ReadFull(s.rand, id[6:]); err != nil {
		panic("scimbridge: randomness source failed: " + err.Error())
	}
	ms := uint64(s.now().UnixMilli())
	for i := range 6 {
		id[i] = byte(ms >> (40 - 8*i))
	}
	id[6] = 0x70 | id[6]&0x0f // version 7
	id[8] = 0x80 | id[8]&0x3f // variant of RFC 9562
	return id.String()
}

// newAppKey makes the app's key when the database does not: a UUID, or a random string.
func (s *Store) newAppKey() (string, error) {
	if s.m.KeyGen.Kind == mapping.KeyUUID {
		return s.newUUID(), nil
	}
	alphabet := s.m.KeyGen.Alphabet
	buf := make([]byte, s.m.KeyGen.Length)
	if _, err := io.ReadFull(s.rand, buf); err != nil {
		return "", err
	}
	for i, b := range buf {
		buf[i] = alphabet[int(b)%len(alphabet)] // the bias is negligible for ids and not a secret
	}
	return string(buf), nil
}

// docJSON is what the bookkeeping keeps of a resource: everything no column holds.
func (s *Store) docJSON(r scim.Resource) ([]byte, error) {
	return json.Marshal(s.docOf(r))
}

func (s *Store) docOf(r scim.Resource) map[string]any {
	doc := s.m.Strip(copyResource(r))
	// password is writeOnly and has no column: scimbridge never keeps a clear-text password. groups is
	// readOnly and lives in the membership table.
	for _, k := range []string{"id", "meta", "schemas", "externalId", "password", "groups"} {
		delete(doc, k)
	}
	return doc
}

// bookKey is the bookkeeping document's member for scimbridge's own notes about the resource. It is not
// a valid attribute name, so no attribute the IdP sends can take its place.
const bookKey = "$scimbridge"

// bookDoc is docJSON with scimbridge's notes (the attributes a default template rendered), for a
// document about to be written: it must be within the limits (Options.Limits).
func (s *Store) bookDoc(r scim.Resource) ([]byte, error) { return s.bookDocOf(r, s.docOf(r), nil) }

// bookDocOf is bookDoc of r's document doc (docOf(r)), which it may change; plain, when not nil, is
// doc's JSON as docJSON makes it, taken as it is where there are no notes to add (an update has it
// already, to compare).
func (s *Store) bookDocOf(r scim.Resource, doc map[string]any, plain []byte) ([]byte, error) {
	if err := s.limits.check(doc); err != nil {
		return nil, err
	}
	b := plain
	if derived := s.m.Derived(r); len(derived) > 0 {
		doc[bookKey] = map[string]any{"derived": derived}
		b = nil
	}
	var err error
	if b == nil {
		b, err = json.Marshal(doc)
	}
	if err == nil && len(b) > s.limits.MaxDocBytes {
		err = scim.BadRequest(scim.TypeInvalidValue, "the attributes scimbridge keeps for this user take %d bytes; at most %d are allowed",
			len(b), s.limits.MaxDocBytes)
	}
	return b, err
}

// derivedOf reads the attributes a template rendered from a decoded bookkeeping document, and removes
// the note from it.
func derivedOf(doc scim.Resource) []string {
	note, _ := doc[bookKey].(map[string]any)
	delete(doc, bookKey)
	list, _ := note["derived"].([]any)
	out := make([]string, 0, len(list))
	for _, p := range list {
		if s, ok := p.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func copyResource(r scim.Resource) scim.Resource {
	// What JSON decodes into (the request's and the document's values) is copied as it is, which cost
	// a PATCH a sixth of the store's CPU when it went through JSON; anything else goes through JSON, as
	// everything did, so that the copy is what it was: numbers json.Number, other types their JSON.
	if out, ok := copyJSONValue(map[string]any(r)); ok {
		return scim.Resource(out.(map[string]any))
	}
	return copyViaJSON(r)
}

// copyViaJSON is r through JSON and back, numbers as json.Number.
func copyViaJSON(r scim.Resource) scim.Resource {
	b, _ := json.Marshal(r)
	out := scim.Resource{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	_ = dec.Decode(&out)
	return out
}

// copyJSONValue deep-copies v when it holds only what encoding/json decodes into with UseNumber (maps of
// string keys, []any, strings of valid UTF-8, bools, json.Number, nil); false otherwise.
func copyJSONValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool, json.Number:
		return x, true
	case string:
		return x, utf8.ValidString(x)
	case map[string]any:
		if x == nil {
			return nil, true // JSON's null
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, ok := copyJSONValue(e)
			if !ok || !utf8.ValidString(k) {
				return nil, false
			}
			out[k] = c
		}
		return out, true
	case []any:
		if x == nil {
			return nil, true
		}
		out := make([]any, len(x))
		for i, e := range x {
			c, ok := copyJSONValue(e)
			if !ok {
				return nil, false
			}
			out[i] = c
		}
		return out, true
	}
	return nil, false
}

func userName(r scim.Resource) string {
	s, _ := r["userName"].(string)
	return s
}

func externalID(r scim.Resource) sql.NullString {
	s, ok := r["externalId"].(string)
	return sql.NullString{String: s, Valid: ok && s != ""}
}

func isActive(r scim.Resource) bool {
	b, ok := r["active"].(bool)
	return !ok || b // absent means active
}
