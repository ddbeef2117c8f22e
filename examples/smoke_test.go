package examples_test

import (
	"net/url"
	"testing"
)

func TestSmokeAll(t *testing.T) {
	for _, dir := range []string{"helpdesk", "kv-meta", "json-profile"} {
		t.Run(dir, func(t *testing.T) {
			e := start(t, dir)
			r := e.must(201, "POST", "/Users", map[string]any{
				"schemas": []string{userSchema, enterprise}, "userName": "ann@example.com",
				"name":         map[string]any{"givenName": "Ann", "familyName": "Lee"},
				"title":        "Engineer",
				"emails":       []any{map[string]any{"value": "ann@example.com", "type": "work", "primary": true}, map[string]any{"value": "ann@home.example", "type": "home"}},
				"phoneNumbers": []any{map[string]any{"value": "+1 555 0100", "type": "work"}},
				enterprise:     map[string]any{"department": "R&D", "employeeNumber": "42", "manager": map[string]any{"value": "m-1"}},
			})
			t.Log(r)
			id := r.Body["id"].(string)
			r = e.must(200, "PATCH", "/Users/"+id, map[string]any{"schemas": []string{patchOp}, "Operations": []any{
				map[string]any{"op": "replace", "path": `emails[type eq "work"].value`, "value": "ann.lee@example.com"},
				map[string]any{"op": "replace", "path": enterprise + ":department", "value": "Sales"},
				map[string]any{"op": "replace", "path": "active", "value": false},
			}})
			t.Log(r)
			r = e.must(200, "GET", "/Users?filter="+url.QueryEscape(`emails.value eq "ann.lee@example.com"`), nil)
			t.Log(r)
			r = e.must(200, "GET", "/Users?filter="+url.QueryEscape(enterprise+`:department eq "Sales"`), nil)
			t.Log(r)
			for _, tb := range []string{"users", "user_emails", "user_phones", "user_profiles", "members", "keys", "accounts"} {
				var n int
				if e.db.Get(&n, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", tb); n > 0 {
					t.Log(e.dump(tb))
				}
			}
		})
	}
}
