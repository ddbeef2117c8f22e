package mysql_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

var appSchema = legacyapp.UsersTable()

const usersTOML = legacyapp.UsersTOML

type fixture struct {
	store *mysql.Store
	db    *sqlx.DB
	clock *time.Time
}

func newFixture(t *testing.T, tomlText string) *fixture {
	t.Helper()
	return newFixtureWith(t, appSchema, tomlText)
}

// newFixtureWith is newFixture on another app schema.
func newFixtureWith(t *testing.T, schema, tomlText string) *fixture {
	t.Helper()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f := &fixture{clock: &now}
	f.store, f.db, _ = testfix.Store(t, 10, schema, tomlText, mysql.Options{Now: func() time.Time { return *f.clock }})
	return f
}

func resource(t *testing.T, js string) scim.Resource {
	t.Helper()
	var r scim.Resource
	dec := json.NewDecoder(bytes.NewBufferString(js))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func appRow(t *testing.T, db *sqlx.DB, email string) map[string]any {
	t.Helper()
	row := map[string]any{}
	if err := db.QueryRowx("SELECT id, email, email_lower, first_name, last_name, display_name, status, password_hash, updated_at IS NOT NULL AS touched FROM users WHERE email = ?", email).MapScan(row); err != nil {
		t.Fatalf("app row %s: %v", email, err)
	}
	for k, v := range row {
		if b, ok := v.([]byte); ok {
			row[k] = string(b)
		}
	}
	return row
}

func TestCreateWritesAppRowAndReadsBack(t *testing.T) {
	f := newFixture(t, usersTOML)
	ctx := context.Background()
	r, err := f.store.CreateUser(ctx, resource(t, `{"userName":"Ann@Example.com","name":{"givenName":"Ann","familyName":"Lee"},
		"emails":[{"value":"ann@example.com","type":"work","primary":true}],"nickName":"annie","externalId":"ext-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	row := appRow(t, f.db, "Ann@Example.com")
	want := map[string]any{"email_lower": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
		"display_name": "Ann Lee", "status": "1", "password_hash": "!scim"}
	for k, v := range want {
		if got := toString(row[k]); got != v {
			t.Errorf("app column %s = %v, want %v", k, got, v)
		}
	}
	if r["active"] != true || r["nickName"] != "annie" || r["externalId"] != "ext-1" || r["displayName"] != "Ann Lee" {
		t.Errorf("resource read back wrong: %v", r)
	}
	got, err := f.store.GetUser(ctx, r["id"].(string))
	if err != nil || got["userName"] != "Ann@Example.com" {
		t.Fatalf("GetUser: %v %v", got, err)
	}
}

func toString(v any) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case int64:
		return json.Number(itoa(v)).String()
	}
	if v == nil {
		return "<nil>"
	}
	return v.(string)
}

func itoa(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestDuplicateUserNameConcurrentlyYieldsOneRow(t *testing.T) {
	f := newFixture(t, usersTOML)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = f.store.CreateUser(context.Background(), resource(t, `{"userName":"dup@example.com"}`))
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if se := scim.AsError(err); se.Status != 409 || se.ScimType != scim.TypeUniqueness {
			t.Errorf("want 409 uniqueness, got %v", err)
		}
	}
	var n int
	_ = f.db.Get(&n, "SELECT COUNT(*) FROM users WHERE email = 'dup@example.com'")
	if ok != 1 || n != 1 {
		t.Fatalf("%d creates succeeded and %d app rows exist; want exactly 1 of each", ok, n)
	}
}

func TestDeleteDeactivatesAndRepostRelinks(t *testing.T) {
	f := newFixture(t, usersTOML)
	ctx := context.Background()
	r, err := f.store.CreateUser(ctx, resource(t, `{"userName":"bo@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	before := appRow(t, f.db, "bo@example.com")
	if err := f.store.DeleteUser(ctx, r["id"].(string), nil); err != nil {
		t.Fatal(err)
	}
	if got := toString(appRow(t, f.db, "bo@example.com")["status"]); got != "3" {
		t.Errorf("status after delete = %s, want 3", got)
	}
	if _, err := f.store.GetUser(ctx, r["id"].(string)); scim.AsError(err).Status != 404 {
		t.Errorf("GET after delete: %v, want 404", err)
	}
	r2, err := f.store.CreateUser(ctx, resource(t, `{"userName":"BO@example.com","active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	after := appRow(t, f.db, "BO@example.com")
	if toString(after["id"]) != toString(before["id"]) || toString(after["status"]) != "1" {
		t.Errorf("re-POST: app row %v, want id %v reactivated", after, before["id"])
	}
	if r2["id"] == r["id"] {
		t.Errorf("re-POST reused the deleted SCIM id")
	}
}

func TestFilterTranslatesToSQL(t *testing.T) {
	f := newFixture(t, usersTOML)
	ctx := context.Background()
	for _, js := range []string{
		`{"userName":"o.malley@example.com","name":{"familyName":"Employee"},"emails":[{"value":"x@example.com","type":"work"}],"active":true}`,
		`{"userName":"emp2@example.org","name":{"familyName":"Employee"},"emails":[{"value":"y@example.org","type":"home"}],"active":false}`,
		`{"userName":"other@example.net","name":{"familyName":"Other"},"externalId":"ABC"}`,
	} {
		if _, err := f.store.CreateUser(ctx, resource(t, js)); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]int{
		`userName eq "O.MALLEY@example.com"`: 1,
		`userName sw "o"`:                    2,
		`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`: 2,
		`emails[type eq "work"].value eq "x@example.com"`:                                              1,
		`emails[type eq "home" and value co "@example"]`:                                               1,
		`active eq false`:      1,
		`active eq "True"`:     2,
		`not (active eq true)`: 1,
		`externalId eq "ABC"`:  1,
		`externalId eq "abc"`:  0,
		`meta.created gt 2015-10-10T14:38:21.8617979-07:00`: 3,
		`emails pr`: 2,
		`userName eq "9c1b5c4e-2cd2-4b4b-8c8b-0c0b6b1c5e0e"`: 0,
	}
	for filter, want := range cases {
		e, err := scim.ParseFilter(filter)
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		page, err := f.store.ListUsers(ctx, scim.ListQuery{Filter: e, StartIndex: 1, Count: 100})
		if err != nil {
			t.Errorf("%s: %v", filter, err)
			continue
		}
		if page.Total != want || len(page.Resources) != want {
			t.Errorf("%s: %d results (%d on page), want %d", filter, page.Total, len(page.Resources), want)
		}
	}
}
