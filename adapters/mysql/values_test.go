package mysql_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/scim"
)

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// valuesTable fills a fixture with users whose document values test the values table: emails in letter
// case variants, accents and several per user, emails changed by an update (the old ones must no longer
// match), users deleted through SCIM, titles and an enterprise employeeNumber.
func valuesTable(t *testing.T, f *fixture) map[string]string {
	t.Helper()
	ctx := context.Background()
	emails := [][]string{
		{"Alice@Example.com"}, {"alice@example.com", "a2@example.com"}, {"ALICE@EXAMPLE.COM"}, {"alicé@example.com"},
		{"bob@example.com"}, {"Bob@example.com ", "work@example.com"}, {"carol@example.com"}, {"dave@example.com"},
		{"erin@example.com"}, {"frank@example.com"}, {"ß@example.com"}, {"ss@example.com"},
	}
	ids := map[string]string{}
	for i, list := range emails {
		var els []string
		for j, e := range list {
			els = append(els, fmt.Sprintf(`{"value":%q,"type":%q}`, e, []string{"work", "home"}[j%2]))
		}
		js := fmt.Sprintf(`{"userName":"u%02d","title":%q,"emails":[%s],%q:{"employeeNumber":"E%d"}}`,
			i, []string{"Engineer", "engineer", "Manager"}[i%3], strings.Join(els, ","), ent, i%5)
		r, err := f.store.CreateUser(ctx, resource(t, js))
		if err != nil {
			t.Fatal(err)
		}
		ids[fmt.Sprintf("u%02d", i)] = r["id"].(string)
	}
	for _, u := range []string{"u02", "u07"} {
		if err := f.store.DeleteUser(ctx, ids[u], nil); err != nil {
			t.Fatal(err)
		}
	}
	for u, email := range map[string]string{"u04": "robert@example.com", "u08": "Alice@example.com"} {
		if _, err := f.store.UpdateUser(ctx, ids[u], func(cur scim.Resource) (scim.Resource, error) {
			cur["emails"] = []any{map[string]any{"value": email, "type": "work"}}
			return cur, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// listed is the ids and total of a filtered list, from the store.
func listed(t *testing.T, f *fixture, filter string) ([]string, int) {
	t.Helper()
	e, err := scim.ParseFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	page, err := f.store.ListUsers(context.Background(), scim.ListQuery{Filter: e, StartIndex: 1, Count: 100})
	if err != nil {
		t.Fatalf("%s: %v", filter, err)
	}
	var ids []string
	for _, r := range page.Resources {
		ids = append(ids, r["id"].(string))
	}
	return ids, page.Total
}

func TestValueFiltersMatchDocumentScan(t *testing.T) {
	f := newFixture(t, usersTOML)
	ids := valuesTable(t, f)
	filters := []string{
		`emails.value eq "alice@example.com"`, `emails.value eq "ALICE@example.COM"`, `emails.value eq "alicé@example.com"`,
		`emails.value eq "bob@example.com"`, `emails.value eq "bob@example.com "`, `emails.value eq "robert@example.com"`,
		`emails.value eq "dave@example.com"`, `emails.value eq "ss@example.com"`, `emails.value eq "nobody@example.com"`,
		`emails eq "carol@example.com"`, `emails[value eq "work@example.com"]`, `emails[type eq "home" and value eq "A2@example.com"]`,
		`emails[type eq "work" and value eq "a2@example.com"]`, `not (emails.value eq "alice@example.com")`,
		`emails.value eq "alice@example.com" or title eq "manager"`, `emails.value ne "alice@example.com"`,
		`emails.value co "ALICE"`, `emails.value sw "b"`, `title eq "engineer"`, `title eq "ENGINEER"`, `title ne "engineer"`,
		`title co "gine"`, ent + `:employeeNumber eq "E1"`, ent + `:employeeNumber eq "e1"`, ent + `:employeeNumber ne "E1"`,
		ent + `:employeeNumber co "1"`, `emails.type eq "home"`,
	}
	nonEmpty := 0
	for _, filter := range filters {
		mysql.ScanDocuments(f.store, true)
		want, wantTotal := listed(t, f, filter)
		mysql.ScanDocuments(f.store, false)
		got, total := listed(t, f, filter)
		if !slices.Equal(got, want) || total != wantTotal {
			t.Errorf("%s: values table gives %v (total %d), the document scan %v (total %d)", filter, got, total, want, wantTotal)
		}
		if len(want) > 0 {
			nonEmpty++
		} else {
			t.Logf("no match: %s", filter)
		}
	}
	// Four match nobody by design: bob's email changed and "Bob@example.com " is not bob (identities
	// keep trailing spaces), dave was deleted, nobody is nobody, a2 is a home address.
	if nonEmpty < len(filters)-4 {
		t.Fatalf("only %d of %d filters matched anyone: the comparison proves little", nonEmpty, len(filters))
	}
	// Sanity of the fixture itself: case variants match, the deleted and the changed email do not.
	got, _ := listed(t, f, `emails.value eq "alice@example.com"`)
	want := []string{ids["u00"], ids["u01"], ids["u08"]}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("alice@example.com: got %v, want u00, u01, u08 %v", got, want)
	}
}

// The filter really goes through the values table: a user whose rows are gone is not found by eq (until
// reindex), and a row left behind finds nobody whose document does not have the value.
func TestValueFilterUsesValuesTable(t *testing.T) {
	f := newFixture(t, usersTOML)
	ids := valuesTable(t, f)
	if _, err := f.db.Exec("DELETE FROM scim_user_values WHERE user_id = ?", ids["u06"]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec("INSERT INTO scim_user_values (user_id, attr, value_fold) VALUES (?, 'emails.value', 'carol@example.com')", ids["u09"]); err != nil {
		t.Fatal(err)
	}
	if got, _ := listed(t, f, `emails.value eq "carol@example.com"`); len(got) != 0 {
		t.Fatalf("carol found without a values row, or frank by a stale one: %v", got)
	}
	if err := mysql.Reindex(context.Background(), f.db, "scim_", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := listed(t, f, `emails.value eq "carol@example.com"`); !slices.Equal(got, []string{ids["u06"]}) {
		t.Fatalf("after reindex: %v, want carol %s", got, ids["u06"])
	}
	var stale int
	if err := f.db.Get(&stale, "SELECT COUNT(*) FROM scim_user_values WHERE user_id = ? AND value_fold = 'carol@example.com'", ids["u09"]); err != nil || stale != 0 {
		t.Fatalf("reindex left frank's stale row: %d %v", stale, err)
	}
	var deleted int
	if err := f.db.Get(&deleted, "SELECT COUNT(*) FROM scim_user_values WHERE user_id IN (?, ?)", ids["u02"], ids["u07"]); err != nil || deleted != 0 {
		t.Fatalf("deleted users keep %d values rows (%v)", deleted, err)
	}
}
