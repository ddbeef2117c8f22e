package mapping

import (
	"errors"

	"github.com/scimbridge/scimbridge/scim"
)

// overlay writes the column's database value into the resource as its SCIM attribute.
func (c *Column) overlay(r scim.Resource, db any) {
	v := c.ToSCIM(db)
	if c.src.filter != nil && v == nil {
		return // the list in doc stays as the IdP wrote it
	}
	c.src.set(r, v)
}

// ToSCIM converts a database value of this column into the attribute's SCIM value; nil when it has none.
func (c *Column) ToSCIM(db any) any {
	db = dbScalar(db)
	if c.absent != nil && db != nil && c.codes == nil && sameScalar(c.absent.lit, db) {
		return nil // the constant written for an absent attribute reads as absent
	}
	switch {
	case c.whenTrue != nil:
		isTrue := matchesColumn(*c.whenTrue, db)
		if c.whenTrue.special != "" { // when_true = "now": anything but the false constant is true
			isTrue = !matchesColumn(*c.whenFalse, db)
		}
		return isTrue
	case c.codes != nil:
		for _, cd := range c.codes {
			for _, cv := range cd.columns {
				if db != nil && sameScalar(cv, db) {
					return cd.scim
				}
			}
		}
		if c.failsClosed() {
			return false
		}
		return nil
	}
	v := fromDB(c.src.attrDef(), db)
	if v == "" {
		return nil // '' is how apps that scan strings say "none" (NOT NULL DEFAULT ''): SCIM has no empty values
	}
	if _, isBool := v.(bool); !isBool && c.failsClosed() {
		return false // NULL, or what no boolean reads as
	}
	return v
}

// failsClosed reports whether a value the map does not know reads as false rather than absent: for
// "active", where absent means active (RFC 7643 leaves it to the provider, and scimbridge has always read
// it so). A status the app invented after the mapping was written (0, 4, -1, 7 for a map of 1, 2, 3) then
// locks the account out instead of letting it in.
func (c *Column) failsClosed() bool { return c.src != nil && c.src.path == "active" }

// Unrecognized reports whether a database value of a value-mapped column is one its map does not list.
func (c *Column) Unrecognized(db any) bool {
	if c.codes == nil {
		return false
	}
	db = dbScalar(db)
	for _, cd := range c.codes {
		for _, cv := range cd.columns {
			if db != nil && sameScalar(cv, db) {
				return false
			}
		}
	}
	return true
}

// MappedValues lists every column value of a value-mapped column's map; nil for other columns.
func (c *Column) MappedValues() []any {
	var out []any
	for _, cd := range c.codes {
		out = append(out, cd.columns...)
	}
	return out
}

// dbScalar turns the bytes the driver scans text into a string, and a BIT(1) column's one raw byte into
// its number.
func dbScalar(db any) any {
	if b, ok := db.([]byte); ok {
		if len(b) == 1 && b[0] <= 1 {
			return int64(b[0])
		}
		return string(b)
	}
	return db
}

func matchesColumn(v value, db any) bool {
	if v.lit == nil && v.special == "" {
		return db == nil
	}
	return db != nil && v.special == "" && sameScalar(v.lit, db)
}

// EqualValues returns the column values that mean "attribute eq v", for translating filters on columns
// whose values are mapped (status codes, deactivation timestamps). isNull means the column IS NULL.
// Plain columns return v itself.
func (c *Column) EqualValues(v any) (vals []any, isNull bool, err error) {
	switch {
	case c.whenTrue != nil:
		b, ok := v.(bool)
		if !ok {
			return nil, false, scim.BadRequest(scim.TypeInvalidFilter, "%s compares with true or false", c.src.path)
		}
		want, other := *c.whenTrue, *c.whenFalse
		if !b {
			want, other = other, want
		}
		if want.special != "" { // "now": anything but the other case's constant
			return nil, false, errNegate{other}
		}
		if want.lit == nil {
			return nil, true, nil
		}
		return []any{want.lit}, false, nil
	case c.codes != nil:
		for _, cd := range c.codes {
			if sameScalar(cd.scim, v) {
				return cd.columns, false, nil
			}
		}
		return nil, false, nil // no code: nothing matches
	}
	if s, ok := v.(string); ok {
		return []any{c.transformed(s)}, false, nil
	}
	return []any{v}, false, nil
}

// errNegate tells EqualValues' caller to match "column is not <other>" (see IsNegation).
type errNegate struct{ other value }

// IsNegation reports whether an EqualValues error means "the column differs from Other", with Other's
// value (nil for NULL).
func IsNegation(err error) (other any, ok bool) {
	var n errNegate
	if errors.As(err, &n) {
		return n.other.lit, true
	}
	return nil, false
}

func (e errNegate) Error() string { return "negated match" }
