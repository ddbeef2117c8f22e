package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/bench/internal/benchsql"
	"github.com/scimbridge/scimbridge/bench/internal/loadstats"
	"github.com/scimbridge/scimbridge/scim"
)

var (
	givenNames  = []string{"Ann", "Bo", "Chen", "Dana", "Emeka", "Fatima", "Gert", "Hana", "Ivan", "Jules", "Kofi", "Lena", "Marta", "Nils", "Olu", "Priya"}
	familyNames = []string{"Lee", "Okafor", "Schmidt", "Tanaka", "Garcia", "Nowak", "Haddad", "Silva", "Kowalski", "Nguyen", "Brown", "Rossi", "Ivanova"}
	departments = []string{"Support", "Sales", "Engineering", "Finance", "Operations", "Legal", "Marketing"}
	titles      = []string{"Agent", "Team Lead", "Engineer", "Analyst", "Manager"}
)

// person is user number i of a kind ("s" seeded, "p" POSTed): the same values feed the seed and POST.
type person struct {
	login, work, home, given, family, title, dept, costCenter, employeeNo string
}

func newPerson(kind string, i int) person {
	given, family := givenNames[i%len(givenNames)], familyNames[(i/len(givenNames))%len(familyNames)]
	local := fmt.Sprintf("%s.%s.%s%06d", strings.ToLower(given), strings.ToLower(family), kind, i)
	return person{
		login: local + "@corp.example.com", work: local + "@corp.example.com", home: local + "@home.example.net",
		given: given, family: family, title: titles[i%len(titles)], dept: departments[i%len(departments)],
		costCenter: fmt.Sprintf("CC-%03d", i%250), employeeNo: fmt.Sprintf("E%s%06d", strings.ToUpper(kind), i),
	}
}

// resource is the body an IdP would POST: userName, name, a work primary and a home email, title, and
// the enterprise extension's department, costCenter and employeeNumber.
func (p person) resource() scim.Resource {
	return scim.Resource{
		"schemas":  []any{scim.UserSchema, scim.EnterpriseSchema},
		"userName": p.login,
		"name":     map[string]any{"givenName": p.given, "familyName": p.family},
		"emails": []any{
			map[string]any{"value": p.work, "type": "work", "primary": true},
			map[string]any{"value": p.home, "type": "home"},
		},
		"title":  p.title,
		"active": true,
		scim.EnterpriseSchema: map[string]any{
			"department": p.dept, "costCenter": p.costCenter, "employeeNumber": p.employeeNo,
		},
	}
}

// seedRows is what the seed writes for a person, as the store would; key columns and timestamps aside.
type seedRows struct {
	app     []any   // users: login, first_name, last_name, status, is_admin, is_agent
	emails  [][]any // user_emails: address, kind, is_default, verified_at; sorted by address
	profile []any   // user_profiles: department, title, cost_center, employee_no, desk_note
	book    []any   // scim_users: user_name, user_name_lc, active, version, external_id, deleted_at
	doc     string  // scim_users.doc
}

func (b *bench) rowsOf(p person) (seedRows, error) {
	// The doc is what no column holds, as mysql.Store keeps it (Store.docJSON): the mapping's Strip of
	// the resource as the agent hands it over (decoded JSON), less what the store never keeps.
	raw, _ := json.Marshal(p.resource())
	r := scim.Resource{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return seedRows{}, err
	}
	doc := b.m.Strip(r)
	for _, k := range []string{"id", "meta", "schemas", "externalId", "password", "groups"} {
		delete(doc, k)
	}
	docJSON, err := json.Marshal(doc)
	if err != nil {
		return seedRows{}, err
	}
	return seedRows{
		app:     []any{p.login, p.given, p.family, 1, 0, 0},
		emails:  [][]any{{p.work, "W", 1, nil}, {p.home, "H", 0, nil}},
		profile: []any{p.dept, p.title, p.costCenter, p.employeeNo, nil},
		book:    []any{p.login, strings.ToLower(p.login), 1, 1, nil, nil},
		doc:     string(docJSON),
	}, nil
}

// --- load ---

func (b *bench) phaseLoad(ctx context.Context) error {
	// User 0 goes through POST /Users, and its rows must be exactly those the seed writes for it.
	t := time.Now()
	if err := b.postReference(ctx); err != nil {
		return err
	}
	b.printf("user 0 POSTed through HTTP; its rows in users, user_emails, user_profiles, %susers equal those the seed writes (checked)\n",
		b.ex.cfg.Database.BookkeepingPrefix)
	seeded := b.o.users - 1
	b.printf("seeding %d users with multi-row INSERTs straight into users, user_emails (2 rows each), user_profiles and %susers (%d users per transaction, %d goroutines; not through scimbridge)\n",
		seeded, b.ex.cfg.Database.BookkeepingPrefix, b.o.batch, b.o.seedWorkers)
	// Users 1..seeded: user 0 is the POSTed one.
	res, err := loadstats.Batches(ctx, seeded, b.o.batch, b.o.seedWorkers, func(ctx context.Context, from, to int) error {
		return b.seedBatch(ctx, 1+from, 1+to)
	})
	b.printf("  %d users in %s: %.0f users/s, %d failed batches\n", seeded, res.Elapsed.Round(time.Millisecond),
		float64(seeded)/res.Elapsed.Seconds(), res.Failures)
	if err := loadstats.Check(res, err); err != nil {
		return err
	}
	t2 := time.Now()
	tables := []string{"users", "user_emails", "user_profiles", b.ex.cfg.Database.BookkeepingPrefix + "users"}
	if err := benchsql.Analyze(ctx, b.DB, tables...); err != nil {
		return err
	}
	b.printf("  ANALYZE TABLE %s: %s\n", strings.Join(tables, ", "), time.Since(t2).Round(time.Millisecond))
	for _, tbl := range tables {
		var n int
		if err := b.DB.GetContext(ctx, &n, "SELECT COUNT(*) FROM "+tbl); err != nil {
			return err
		}
		b.printf("  %-14s %7d rows\n", tbl, n)
	}
	var all []struct {
		Address string `db:"address"`
		Login   string `db:"login"`
		Kind    string `db:"kind"`
	}
	if err := b.DB.SelectContext(ctx, &all, "SELECT e.address, u.login, e.kind FROM user_emails e JOIN users u ON u.id = e.user_id"); err != nil {
		return err
	}
	for _, a := range all {
		b.addrs = append(b.addrs, addrUser{a.Address, a.Login})
		if a.Kind == "H" {
			b.homes = append(b.homes, addrUser{a.Address, a.Login})
		}
	}
	if len(b.homes) == 0 {
		return errors.New("no home addresses loaded")
	}
	b.printf("  load took %s in all\n", time.Since(t).Round(time.Millisecond))
	return nil
}

type addrUser struct{ addr, login string }

// post sends POST /Users for p and expects 201.
func (b *bench) post(ctx context.Context, p person) error {
	body, _ := json.Marshal(p.resource())
	return b.API.Call(ctx, http.MethodPost, "/Users", body, http.StatusCreated, nil)
}

// seedBatch writes seeded users [from, to) in one transaction, rows as rowsOf says.
func (b *bench) seedBatch(ctx context.Context, from, to int) error {
	tx, err := b.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	rows := make([]seedRows, 0, to-from)
	logins := make([]string, 0, to-from)
	var app [][]any
	for i := from; i < to; i++ {
		r, err := b.rowsOf(newPerson("s", i))
		if err != nil {
			return err
		}
		rows = append(rows, r)
		logins = append(logins, r.app[0].(string))
		app = append(app, append(append([]any{}, r.app...), now.Truncate(time.Second)))
	}
	if err := benchsql.Insert(ctx, tx, "users (login, first_name, last_name, status, is_admin, is_agent, created_at)", app); err != nil {
		return err
	}
	ids, err := benchsql.IDs(ctx, tx, "users", "login", logins)
	if err != nil {
		return err
	}
	var emails, profiles, book [][]any
	for _, r := range rows {
		id := ids[r.app[0].(string)]
		for _, e := range r.emails {
			emails = append(emails, append([]any{id}, e...))
		}
		profiles = append(profiles, append([]any{id}, r.profile...))
		book = append(book, append(append([]any{uuid.NewString(), id}, r.book...), now, now, r.doc))
	}
	bookTable := b.ex.cfg.Database.BookkeepingPrefix + "users"
	for _, ins := range []struct {
		target string
		rows   [][]any
	}{
		{"user_emails (user_id, address, kind, is_default, verified_at)", emails},
		{"user_profiles (user_id, department, title, cost_center, employee_no, desk_note)", profiles},
		{bookTable + " (id, app_id, user_name, user_name_lc, active, version, external_id, deleted_at, created, last_modified, doc)", book},
	} {
		if err := benchsql.Insert(ctx, tx, ins.target, ins.rows); err != nil {
			return err
		}
	}
	return tx.Commit()
}
