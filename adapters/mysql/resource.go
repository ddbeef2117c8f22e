package mysql

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// env is what the mapping computes values with inside tx: the transaction's one time, and fresh ids.
func (s *Store) env(tx *bookkeeping.Tx) mapping.Env {
	return mapping.Env{Now: func() time.Time { return tx.Now }, NewUUID: s.newUUID}
}

func (s *Store) newUUID() string {
	id, err := uuid.NewRandomFromReader(s.rand)
	if err != nil {
		panic("scimbridge: randomness source failed: " + err.Error()) // crypto/rand does not fail on Linux
	}
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
	doc := s.m.Strip(copyResource(r))
	// password is writeOnly and has no column: scimbridge never keeps a clear-text password. groups is
	// readOnly and lives in the membership table.
	for _, k := range []string{"id", "meta", "schemas", "externalId", "password", "groups"} {
		delete(doc, k)
	}
	return json.Marshal(doc)
}

// bookKey is the bookkeeping document's member for scimbridge's own notes about the resource. It is not
// a valid attribute name, so no attribute the IdP sends can take its place.
const bookKey = "$scimbridge"

// bookDoc is docJSON with scimbridge's notes: the attributes a default template rendered.
func (s *Store) bookDoc(r scim.Resource) ([]byte, error) {
	derived := s.m.Derived(r)
	if len(derived) == 0 {
		return s.docJSON(r)
	}
	doc := s.m.Strip(copyResource(r))
	for _, k := range []string{"id", "meta", "schemas", "externalId", "password", "groups"} {
		delete(doc, k)
	}
	doc[bookKey] = map[string]any{"derived": derived}
	return json.Marshal(doc)
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
	b, _ := json.Marshal(r)
	out := scim.Resource{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	_ = dec.Decode(&out)
	return out
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
