package mapping

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

// value is what a column should hold, kept symbolic ("now") until the write so that two computations of
// the same intent compare equal.
type value struct {
	lit     any    // a constant; nil is SQL NULL
	special string // "now", "now_unix", "now_unix_ms", "uuid"; empty for a constant
}

var specials = map[string]bool{"now": true, "now_unix": true, "now_unix_ms": true, "uuid": true}

func parseValue(v any) (value, error) {
	switch v := v.(type) {
	case string:
		if v == "null" {
			return value{}, nil
		}
		if specials[v] {
			return value{special: v}, nil
		}
		return value{lit: v}, nil
	case int64, float64, bool:
		return value{lit: v}, nil
	}
	return value{}, fmt.Errorf("unsupported value %v (%T)", v, v)
}

func (v value) equal(o value) bool { return v.special == o.special && reflect.DeepEqual(v.lit, o.lit) }

func (v value) materialize(now time.Time, newUUID func() string) any {
	switch v.special {
	case "now":
		return now.UTC()
	case "now_unix":
		return now.Unix()
	case "now_unix_ms":
		return now.UnixMilli()
	case "uuid":
		return newUUID()
	}
	return v.lit
}

func fromDB(a *scim.Attribute, db any) any {
	switch v := db.(type) {
	case nil:
		return nil
	case time.Time:
		if a.Type == scim.DateTime || a.Type == scim.String {
			return v.UTC().Format(time.RFC3339)
		}
	}
	switch a.Type {
	case scim.Boolean:
		s := fmt.Sprint(db)
		return s != "0" && s != "" && !strings.EqualFold(s, "false")
	case scim.Integer, scim.Decimal:
		return json.Number(fmt.Sprint(db))
	}
	return fmt.Sprint(db)
}

// sameScalar compares a configured value with a SCIM or database value by their text, so that 1, "1"
// and int64(1) are one value, and true matches "true".
func sameScalar(a, b any) bool {
	return strings.EqualFold(scalarText(a), scalarText(b))
}

func scalarText(v any) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
