package agent_test

import "testing"

// An IdP retrying `replace emails[value eq "old"].value` (its first answer lost) gets 400 noTarget
// from the second try on, and one address is stored, not one per retry.
func TestE2EPatchRetriedValueFilterReplaceStoresOneAddress(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"retry@example.com","emails":[{"value":"old@example.com","type":"work"}]}`)
	id := e2eStr(u["id"])
	ops := `[{"op":"replace","path":"emails[value eq \"old@example.com\"].value","value":"new@example.com"}]`
	e.want(e.patch(id, ops), 200, "first replace")
	for range 2 {
		e2eWantError(t, e.patch(id, ops), 400, "noTarget")
	}
	emails, _ := e.getUser(id)["emails"].([]any)
	if len(emails) != 1 || e2eStr(emails[0].(map[string]any)["value"]) != "new@example.com" {
		t.Errorf("GET emails = %v, want only new@example.com", emails)
	}
	var stored int
	if err := e.db.Get(&stored, "SELECT JSON_LENGTH(doc, '$.emails') FROM scim_users WHERE id = ?", id); err != nil || stored != 1 {
		t.Errorf("%d addresses stored (%v), want 1", stored, err)
	}
}
