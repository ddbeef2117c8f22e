package scim_test

import (
	"reflect"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

// The shapes IdPs send in a user's roles: Okta's {"value": ...}, Entra's AppRoleAssignmentsComplex
// JSON-in-a-string, and what scimbridge's own GET returns (group-derived entries are not assignments).
func TestDirectRoles(t *testing.T) {
	got, err := scim.DirectRoles([]any{
		map[string]any{"value": "admin", "display": "Admin"},
		map[string]any{"value": `{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"Editor","displayName":"Editor"}`},
		map[string]any{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Viewer", "value": "viewer"},
		map[string]any{"value": "support", "type": "group"},
		map[string]any{"value": "admin", "type": "direct"},
		map[string]any{"display": "auditor"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"admin", "Editor", "viewer", "auditor"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := scim.DirectRoles([]any{map[string]any{"primary": true}}); err == nil {
		t.Fatal("a role without a value was accepted")
	}
	if _, err := scim.DirectRoles([]any{42.0}); err == nil {
		t.Fatal("a number was accepted as a role")
	}
}

func TestMatchRoleResource(t *testing.T) {
	role := map[string]any{"id": "admin", "displayName": "admin", "value": "admin", "enabled": true}
	for filter, want := range map[string]bool{`displayName eq "ADMIN"`: true, `value eq "ADMIN"`: false, `value sw "ad"`: true,
		`enabled eq true and id eq "admin"`: true, `displayName eq "viewer"`: false} {
		e, err := scim.ParseFilter(filter)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := scim.MatchResource(scim.RoleSchemaDef(), role, e); err != nil || got != want {
			t.Errorf("%s: %v, %v; want %v", filter, got, err, want)
		}
	}
}
