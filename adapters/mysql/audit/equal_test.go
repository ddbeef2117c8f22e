package audit

import (
	"encoding/json"
	"testing"
	"time"
)

// equal answers as the JSON comparison for every pair of these values; only two different strings that
// are not UTF-8, which JSON would call the same, differ.
func TestEqualIsTheJSONComparison(t *testing.T) {
	at := time.Date(2026, 12, 6, 12, 0, 0, 123456000, time.UTC)
	values := []any{nil, "", "a", "A", "1", int64(0), int64(1), int64(-1), float64(1), json.Number("1"), true, false,
		[]byte(nil), []byte{}, []byte("a"), at, at.Add(time.Microsecond), at.In(time.FixedZone("x", 3600)),
		map[string]any{"a": "b"}, []any{"a"}}
	for _, a := range values {
		for _, b := range values {
			if got, want := equal(a, b), jsonEqual(a, b); got != want {
				t.Errorf("equal(%#v, %#v) = %v, JSON says %v", a, b, got, want)
			}
		}
	}
	if equal("\xff", "\xfe") {
		t.Error("two different strings that are not UTF-8 compare equal")
	}
	if !equal(at, at.Round(0)) {
		t.Error("a time and the same time without its monotonic reading differ")
	}
}

// BenchmarkColumnDiff is the diff of a PATCH of active on a 10-column app row.
func BenchmarkColumnDiff(b *testing.B) {
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	before := map[string]any{"id": int64(7), "email": "ann@example.com", "email_lower": "ann@example.com", "first_name": "Ann",
		"last_name": "Lee", "display_name": "Ann Lee", "status": int64(1), "password_hash": "!scim", "created_at": at, "updated_at": nil}
	after := map[string]any{}
	for k, v := range before {
		after[k] = v
	}
	after["status"], after["updated_at"] = int64(3), at.Add(time.Hour)
	for b.Loop() {
		if d := ColumnDiff(before, after, nil); len(d) != 2 {
			b.Fatal(d)
		}
	}
}
