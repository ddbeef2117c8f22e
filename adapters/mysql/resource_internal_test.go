package mysql

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

// copyResource copies what JSON decodes into directly; whatever it is given, the copy must be what the
// JSON round trip (copyViaJSON, which it used to be) makes of it, and share nothing with the original.
func TestCopyResourceIsTheJSONRoundTrip(t *testing.T) {
	for name, r := range map[string]scim.Resource{
		"decoded": {"userName": "ann", "active": true, "n": json.Number("7"), "none": nil,
			"name":   map[string]any{"givenName": "Ann", "deep": map[string]any{"x": []any{"a", json.Number("1.5"), nil}}},
			"emails": []any{map[string]any{"value": "a@example.com", "primary": true}}, "empty": []any{}, "nomap": map[string]any{}},
		"typed nils":      {"list": []any(nil), "map": map[string]any(nil)},
		"invalid UTF-8":   {"userName": "a\xffb"},
		"invalid key":     {"a\xff": "x"},
		"Go numbers":      {"i": 3, "f": 1.5, "i64": int64(9)},
		"other types":     {"t": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "s": []string{"a"}, "m": map[string]string{"k": "v"}},
		"nested resource": {"r": scim.Resource{"a": "b"}},
	} {
		got := copyResource(r)
		if want := copyViaJSON(r); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: copy %#v; the JSON round trip %#v", name, got, want)
		}
	}
	orig := scim.Resource{"name": map[string]any{"givenName": "Ann"}, "emails": []any{map[string]any{"value": "a"}}}
	c := copyResource(orig)
	c["name"].(map[string]any)["givenName"] = "Bob"
	c["emails"].([]any)[0].(map[string]any)["value"] = "b"
	if orig["name"].(map[string]any)["givenName"] != "Ann" || orig["emails"].([]any)[0].(map[string]any)["value"] != "a" {
		t.Errorf("the copy shares the original's maps: %v", orig)
	}
}
