package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"

	"github.com/scimbridge/scimbridge/bench/internal/loadstats"
)

// lookup is one way to find a user: a SCIM filter for a random address's user, and its page query.
type lookup struct {
	name   string                  // in the summary
	filter func(a addrUser) string // SCIM filter
	value  func(a addrUser) string // the value the filter compares, the page query's only argument
}

var lookups = []lookup{
	{`emails.value eq`, func(a addrUser) string { return `emails.value eq "` + a.addr + `"` }, func(a addrUser) string { return a.addr }},
	{`userName eq`, func(a addrUser) string { return `userName eq "` + a.login + `"` }, func(a addrUser) string { return a.login }},
}

func (b *bench) phaseGet(ctx context.Context) error {
	b.printf("every lookup picks one of %d addresses (work and home) at random; every answer must be 200 with totalResults 1, the address's user, and its 2 emails\n", len(b.addrs))
	for _, c := range b.o.concurrency {
		for _, l := range lookups {
			res, err := loadstats.Hammer(ctx, b.o.requests, c, func(ctx context.Context, _ int) error {
				a := b.addrs[rand.IntN(len(b.addrs))]
				return b.get(ctx, l.filter(a), a)
			})
			name := "GET filter=" + l.name
			b.printf("\n%s \"<random>\" over HTTP, %d client(s)\n  %s\n", name, c, res)
			b.record(name, c, res)
			if err := loadstats.Check(res, err); err != nil {
				return err
			}
		}
		for _, l := range lookups {
			res, err := b.ceiling(ctx, l, c)
			name := "ceiling: page query of " + l.name + " (sqlx)"
			b.printf("\n%s, %d goroutine(s)\n  %s\n", name, c, res)
			b.record(name, c, res)
			if err := loadstats.Check(res, err); err != nil {
				return err
			}
		}
	}
	return nil
}

// get sends GET /Users?filter=... and checks the answer is exactly a's user.
func (b *bench) get(ctx context.Context, filter string, a addrUser) error {
	var list struct {
		TotalResults int `json:"totalResults"`
		Resources    []struct {
			UserName string `json:"userName"`
			Emails   []struct {
				Value string `json:"value"`
			} `json:"emails"`
		} `json:"Resources"`
	}
	if err := b.API.Call(ctx, http.MethodGet, "/Users?filter="+url.QueryEscape(filter), nil, http.StatusOK, &list); err != nil {
		return err
	}
	if list.TotalResults != 1 || len(list.Resources) != 1 {
		return fmt.Errorf("GET %s: totalResults %d, %d resources", filter, list.TotalResults, len(list.Resources))
	}
	u := list.Resources[0]
	has := false
	for _, e := range u.Emails {
		has = has || strings.EqualFold(e.Value, a.addr)
	}
	if !strings.EqualFold(u.UserName, a.login) || len(u.Emails) != 2 || !has {
		return fmt.Errorf("GET %s: got userName %q with %d emails, want %q with 2 emails including %q", filter, u.UserName, len(u.Emails), a.login, a.addr)
	}
	return nil
}

// ceiling runs the store's page query for the lookup directly with sqlx (no HTTP, no COUNT, no side-table
// reads, no JSON) and checks it returns the one right user.
func (b *bench) ceiling(ctx context.Context, l lookup, conc int) (loadstats.Result, error) {
	sample := b.addrs[0]
	_, pageQ, args, err := b.filterSQL(l.filter(sample))
	if err != nil {
		return loadstats.Result{}, err
	}
	// Identity lookups (userName, emails) pass the value three times: the index lookup and the two
	// binary case comparisons (see adapters/mysql identityMatch).
	for _, arg := range args {
		if arg != l.value(sample) {
			return loadstats.Result{}, fmt.Errorf("page query of %s: arguments %q, want only %q", l.name, args, l.value(sample))
		}
	}
	return loadstats.Hammer(ctx, b.o.requests, conc, func(ctx context.Context, _ int) error {
		a := b.addrs[rand.IntN(len(b.addrs))]
		same := make([]any, len(args))
		for i := range same {
			same[i] = l.value(a)
		}
		rows, err := b.Ceil.QueryxContext(ctx, pageQ, same...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		n, login := 0, ""
		for rows.Next() {
			vals, err := rows.SliceScan()
			if err != nil {
				return err
			}
			n++
			for i, c := range cols {
				if c == "login" {
					login = fmt.Sprintf("%s", vals[i])
				}
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if n != 1 || !strings.EqualFold(login, a.login) {
			return fmt.Errorf("page query for %q: %d rows, login %q, want 1 row of %q", l.value(a), n, login, a.login)
		}
		return nil
	})
}

// phasePost creates -posts users per concurrency through POST /Users: each one users row, 2 user_emails
// rows, a user_profiles row, the bookkeeping row and the outbox event, in one transaction.
func (b *bench) phasePost(ctx context.Context) error {
	for n, c := range b.o.concurrency {
		warns := b.Warns.Count()
		res, err := loadstats.Hammer(ctx, b.o.posts, c, func(ctx context.Context, i int) error {
			return b.post(ctx, newPerson("p", n*b.o.posts+i))
		})
		b.printf("POST /Users (userName, name, 2 emails, title, enterprise department/costCenter/employeeNumber) over HTTP, %d client(s), distinct users\n", c)
		b.printf("  %s\n  users/s %.0f; store warnings (transaction retries after lock conflicts) %d\n", res, res.PerSecond(), b.Warns.Count()-warns)
		b.record("POST /Users, 2 emails + profile", c, res)
		if err := loadstats.Check(res, err); err != nil {
			return err
		}
	}
	return nil
}
