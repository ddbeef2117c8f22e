package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/scimbridge/scimbridge/bench/internal/benchsql"
)

// postReference POSTs user 0 and compares the rows the store wrote with rowsOf.
func (b *bench) postReference(ctx context.Context) error {
	p := newPerson("s", 0)
	if err := b.post(ctx, p); err != nil {
		return err
	}
	want, err := b.rowsOf(p)
	if err != nil {
		return err
	}
	var id int64
	if err := b.DB.GetContext(ctx, &id, "SELECT id FROM users WHERE login = ?", p.login); err != nil {
		return err
	}
	book := b.ex.cfg.Database.BookkeepingPrefix + "users"
	checks := []struct {
		what, query string
		want        [][]any
	}{
		{"users", "SELECT login, first_name, last_name, status, is_admin, is_agent FROM users WHERE id = ?", [][]any{want.app}},
		{"user_emails", "SELECT address, kind, is_default, verified_at FROM user_emails WHERE user_id = ? ORDER BY address", want.emails},
		{"user_profiles", "SELECT department, title, cost_center, employee_no, desk_note FROM user_profiles WHERE user_id = ?", [][]any{want.profile}},
		{book, "SELECT user_name, user_name_lc, active, version, external_id, deleted_at FROM " + book + " WHERE app_id = ?", [][]any{want.book}},
	}
	for _, c := range checks {
		_, got, err := benchsql.Strings(ctx, b.DB, c.query, id)
		if err != nil {
			return err
		}
		if w := anyStrings(c.want); !reflect.DeepEqual(got, w) {
			return fmt.Errorf("the seed would not write what the store wrote in %s for user 0:\n  store %q\n  seed  %q", c.what, got, w)
		}
	}
	var doc string
	if err := b.DB.GetContext(ctx, &doc, "SELECT doc FROM "+book+" WHERE app_id = ?", id); err != nil {
		return err
	}
	var gotDoc, wantDoc any
	if json.Unmarshal([]byte(doc), &gotDoc) != nil || json.Unmarshal([]byte(want.doc), &wantDoc) != nil || !reflect.DeepEqual(gotDoc, wantDoc) {
		return fmt.Errorf("the seed would not write the bookkeeping doc the store wrote for user 0:\n  store %s\n  seed  %s", doc, want.doc)
	}
	return nil
}

// anyStrings is rows as benchsql.Strings reads them back (nil as "NULL"), sorted, as the queries' ORDER BY
// returns them.
func anyStrings(rows [][]any) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = make([]string, len(r))
		for j, v := range r {
			out[i][j] = "NULL"
			if v != nil {
				out[i][j] = fmt.Sprint(v)
			}
		}
	}
	sort.Slice(out, func(a, b int) bool { return strings.Join(out[a], "\x00") < strings.Join(out[b], "\x00") })
	return out
}
