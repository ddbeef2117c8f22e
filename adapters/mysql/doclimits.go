package mysql

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/scim"
)

// Default limits of what scimbridge keeps in its own document (the bookkeeping's doc column): the
// attributes no app column holds. Without them the only bound was the request body's size, so an IdP
// (or a bug in one) could park a megabyte in a user's nickName on every write.
const (
	DefaultMaxValueBytes = 64 << 10
	DefaultMaxDocBytes   = 256 << 10
)

// DocLimits bounds the document: each attribute's value (as JSON; an extension's attributes one by one)
// and the whole document.
type DocLimits struct {
	MaxValueBytes int
	MaxDocBytes   int
}

func (l DocLimits) withDefaults() DocLimits {
	if l.MaxValueBytes <= 0 {
		l.MaxValueBytes = DefaultMaxValueBytes
	}
	if l.MaxDocBytes <= 0 {
		l.MaxDocBytes = DefaultMaxDocBytes
	}
	return l
}

// check refuses a document with an attribute value larger than MaxValueBytes, naming the attribute.
func (l DocLimits) check(doc map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if ext, ok := doc[k].(map[string]any); ok && strings.HasPrefix(strings.ToLower(k), "urn:") {
			for _, name := range slices.Sorted(maps.Keys(ext)) {
				if err := l.checkValue(k+":"+name, ext[name]); err != nil {
					return err
				}
			}
			continue
		}
		if err := l.checkValue(k, doc[k]); err != nil {
			return err
		}
	}
	return nil
}

func (l DocLimits) checkValue(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > l.MaxValueBytes {
		return scim.BadRequest(scim.TypeInvalidValue, "attribute %q is %d bytes long; at most %d are allowed", name, len(b), l.MaxValueBytes)
	}
	return nil
}
