package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/bench/internal/benchenv"
	"github.com/scimbridge/scimbridge/bench/internal/benchrun"
	"github.com/scimbridge/scimbridge/bench/internal/benchsql"
	"github.com/scimbridge/scimbridge/bench/internal/legacyusers"
	"github.com/scimbridge/scimbridge/bench/internal/loadstats"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/scim"
)

// appSchema is a typical legacy users table, and users_ceiling a copy of its shape for the plain-SQL ceiling.
var appSchema = legacyapp.UsersTable() + "CREATE TABLE users_ceiling LIKE users;\n"

const token = "scimload-bearer-token"

type bench struct {
	*benchenv.Env // the store's pool, the ceiling's, scimbridge on http://127.0.0.1:port/scim/v2
	o             options
	out           io.Writer
	store         *mysql.Store

	post, ceilInsert, seed, get, ceilSelect loadstats.Result
	seeded                                  int
}

func newBench(ctx context.Context, o options, dsn string, out io.Writer) (*bench, error) {
	env, err := benchenv.Open(ctx, dsn, benchenv.Options{Conns: o.dbConns, Ceiling: true, Schema: appSchema, Prefix: "scim_"})
	if err != nil {
		return nil, err
	}
	b := &bench{Env: env, o: o, out: out}
	fail := func(err error) (*bench, error) { b.Close(); return nil, err }
	cfg, err := legacyusers.Config("")
	if err != nil {
		return fail(err)
	}
	if err := b.Serve(ctx, cfg, token, app.Options{}, o.concurrency, 30*time.Second); err != nil {
		return fail(err)
	}
	b.store = b.App.Store()
	return b, nil
}

func (b *bench) printf(format string, args ...any) { fmt.Fprintf(b.out, format, args...) }

func (b *bench) run(ctx context.Context) error {
	if err := b.machine(ctx); err != nil {
		return err
	}
	if err := benchrun.Phases(ctx, b.out,
		benchrun.Phase{Name: "phase 1: POST /Users", Run: b.phasePost},
		benchrun.Phase{Name: "ceiling: plain sqlx INSERT into users_ceiling", Run: b.phaseCeilingInsert},
		benchrun.Phase{Name: "phase 2: seed", Run: b.phaseSeed},
		benchrun.Phase{Name: "phase 3: GET /Users?filter=userName eq ...", Run: b.phaseGet},
		benchrun.Phase{Name: "ceiling: plain sqlx SELECT ... WHERE email = ?", Run: b.phaseCeilingSelect},
	); err != nil {
		return err
	}
	b.summary()
	return nil
}

func (b *bench) machine(ctx context.Context) error {
	var version, flush, bufPool, logBin string
	if err := b.DB.QueryRowxContext(ctx, `SELECT VERSION(), @@innodb_flush_log_at_trx_commit, @@innodb_buffer_pool_size,
		@@log_bin`).Scan(&version, &flush, &bufPool, &logBin); err != nil {
		return err
	}
	b.printf("machine: %s %s/%s, NumCPU %d, GOMAXPROCS %d; server %s (innodb_flush_log_at_trx_commit=%s, buffer pool %s bytes, log_bin=%s)\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), version, flush, bufPool, logBin)
	b.printf("client, scimbridge and the database share this machine; HTTP is loopback (%s), pool %d connections, concurrency %d\n",
		b.API.URL, b.o.dbConns, b.o.concurrency)
	return nil
}

var (
	givenNames  = []string{"Ann", "Bo", "Chen", "Dana", "Emeka", "Fatima", "Gert", "Hana", "Ivan", "Jules", "Kofi", "Lena", "Marta", "Nils", "Olu", "Priya"}
	familyNames = []string{"Lee", "Okafor", "Schmidt", "Tanaka", "Garcia", "Nowak", "Haddad", "Silva", "Kowalski", "Nguyen", "Brown", "Rossi", "Ivanova"}
)

// person is user number i: the same rows feed POST /Users, the seeding and the INSERT ceiling.
func person(kind string, i int) (email, given, family string) {
	given, family = givenNames[i%len(givenNames)], familyNames[(i/len(givenNames))%len(familyNames)]
	return fmt.Sprintf("%s.%s.%s%06d@bench.example.com", strings.ToLower(given), strings.ToLower(family), kind, i), given, family
}

// userResource is the body an IdP would POST for the person.
func userResource(email, given, family string) scim.Resource {
	return scim.Resource{
		"schemas":  []any{scim.UserSchema},
		"userName": email,
		"name":     map[string]any{"givenName": given, "familyName": family},
		"emails":   []any{map[string]any{"value": email, "type": "work", "primary": true}},
		"active":   true,
	}
}

// --- phase 1 ---

func (b *bench) phasePost(ctx context.Context) error {
	warns := b.Warns.Count()
	res, err := loadstats.Hammer(ctx, b.o.posts, b.o.concurrency, func(ctx context.Context, i int) error {
		body, _ := json.Marshal(userResource(person("p", i)))
		return b.API.Call(ctx, http.MethodPost, "/Users", body, http.StatusCreated, nil)
	})
	b.post = res
	b.printf("POST /Users over HTTP, %d clients, distinct users, each a new app row + bookkeeping row in one transaction\n", b.o.concurrency)
	b.printf("  %s\n  users/s %.0f; store warnings (transaction retries after lock conflicts) %d\n",
		res, res.PerSecond(), b.Warns.Count()-warns)
	if m := b.Warns.First(); m != "" {
		b.printf("  first warning logged: %s\n", m)
	}
	if err != nil {
		return err
	}
	var doc string
	email, _, _ := person("p", 0)
	if err := b.DB.GetContext(ctx, &doc, "SELECT doc FROM scim_users WHERE user_name = ?", email); err == nil {
		b.printf("  bookkeeping doc the store keeps for such a user: %s\n", doc)
	}
	return nil
}

// --- ceiling for phase 1 ---

const ceilingInsertSQL = `INSERT INTO users_ceiling (email, email_lower, first_name, last_name, display_name, status,
	password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, '!scim', ?, ?)`

func (b *bench) phaseCeilingInsert(ctx context.Context) error {
	res, err := loadstats.Hammer(ctx, b.o.posts, b.o.concurrency, func(ctx context.Context, i int) error {
		email, given, family := person("p", i)
		now := time.Now().UTC().Truncate(time.Second)
		_, err := b.Ceil.ExecContext(ctx, ceilingInsertSQL, email, strings.ToLower(email), given, family, given+" "+family, now, now)
		return err
	})
	b.ceilInsert = res
	b.printf("one autocommit INSERT per row, the same %d rows, %d goroutines\n  %s\n", b.o.posts, b.o.concurrency, res)
	return err
}

// --- phase 2 ---

func (b *bench) phaseSeed(ctx context.Context) error {
	var have int
	if err := b.DB.GetContext(ctx, &have, "SELECT COUNT(*) FROM scim_users WHERE deleted_at IS NULL"); err != nil {
		return err
	}
	b.seeded = max(0, b.o.users-have)
	if b.seeded > 0 {
		var res loadstats.Result
		var err error
		if b.o.seed == "store" {
			b.printf("seeding %d users through the store (mysql.Store.CreateUser, %d goroutines, no HTTP)\n", b.seeded, b.o.concurrency)
			res, err = loadstats.Hammer(ctx, b.seeded, b.o.concurrency, func(ctx context.Context, i int) error {
				_, err := b.store.CreateUser(ctx, userResource(person("s", i)))
				return err
			})
		} else {
			b.printf("seeding %d users with multi-row INSERTs straight into users and scim_users (%d rows per transaction, %d goroutines; not through scimbridge)\n",
				b.seeded, b.o.batch, b.o.concurrency)
			res, err = loadstats.Batches(ctx, b.seeded, b.o.batch, b.o.concurrency, b.seedBatch)
		}
		b.seed = res
		b.printf("  %d users in %s: %.0f users/s, %d failed operations", b.seeded, res.Elapsed.Round(time.Millisecond),
			float64(b.seeded)/res.Elapsed.Seconds(), res.Failures)
		if res.FirstErr != nil {
			b.printf(" (first: %v)", res.FirstErr)
		}
		b.printf("\n")
		if err != nil {
			return err
		}
		if res.Failures > 0 {
			return errors.New("seeding failed")
		}
	}
	t := time.Now()
	if err := benchsql.Analyze(ctx, b.DB, "users", "scim_users", "users_ceiling"); err != nil {
		return err
	}
	var users, book int
	if err := b.DB.GetContext(ctx, &users, "SELECT COUNT(*) FROM users"); err != nil {
		return err
	}
	if err := b.DB.GetContext(ctx, &book, "SELECT COUNT(*) FROM scim_users"); err != nil {
		return err
	}
	b.printf("  ANALYZE TABLE users, scim_users, users_ceiling: %s; users has %d rows, scim_users %d\n",
		time.Since(t).Round(time.Millisecond), users, book)
	return nil
}

// seedBatch writes users [from, to) as the store would have (legacyusers.Seed), with the doc it keeps.
func (b *bench) seedBatch(ctx context.Context, from, to int) error {
	users := make([]legacyusers.User, 0, to-from)
	for i := from; i < to; i++ {
		email, given, family := person("s", i)
		users = append(users, legacyusers.User{Email: email, Given: given, Family: family, Doc: seedDoc(email)})
	}
	return legacyusers.Seed(ctx, b.DB, users)
}

// seedDoc is the bookkeeping doc the store keeps for userResource: what no column holds, the emails.
func seedDoc(email string) string {
	doc, _ := json.Marshal(map[string]any{"emails": []any{map[string]any{"primary": true, "type": "work", "value": email}}})
	return string(doc)
}

// --- phase 3 ---

func (b *bench) userNames(ctx context.Context) ([]string, error) {
	var names []string
	err := b.DB.SelectContext(ctx, &names, "SELECT user_name FROM scim_users WHERE deleted_at IS NULL")
	if err == nil && len(names) == 0 {
		err = errors.New("no users to look up")
	}
	return names, err
}

func (b *bench) phaseGet(ctx context.Context) error {
	names, err := b.userNames(ctx)
	if err != nil {
		return err
	}
	res, err := loadstats.Hammer(ctx, b.o.gets, b.o.concurrency, func(ctx context.Context, _ int) error {
		name := names[rand.IntN(len(names))]
		var list struct {
			TotalResults int `json:"totalResults"`
			Resources    []struct {
				UserName string `json:"userName"`
			} `json:"Resources"`
		}
		path := "/Users?filter=" + url.QueryEscape(`userName eq "`+name+`"`)
		if err := b.API.Call(ctx, http.MethodGet, path, nil, http.StatusOK, &list); err != nil {
			return err
		}
		if list.TotalResults != 1 || len(list.Resources) != 1 || !strings.EqualFold(list.Resources[0].UserName, name) {
			return fmt.Errorf("GET %s: totalResults %d, %d resources", name, list.TotalResults, len(list.Resources))
		}
		return nil
	})
	b.get = res
	b.printf("GET /Users?filter=userName eq \"<random one of %d users>\" over HTTP, %d clients; each answer checked for totalResults 1\n",
		len(names), b.o.concurrency)
	b.printf("  %s\n", res)
	if err != nil {
		return err
	}
	// EXPLAIN the very queries the store runs for this filter.
	filter, err := scim.ParseFilter(`userName eq "` + names[0] + `"`)
	if err != nil {
		return err
	}
	countQ, pageQ, args, err := b.store.ListUsersSQL(filter, 100)
	if err != nil {
		return err
	}
	for _, q := range []string{countQ, pageQ} {
		if err := b.explain(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// explain prints EXPLAIN's rows for the query as a table.
func (b *bench) explain(ctx context.Context, query string, args ...any) error {
	b.printf("\nEXPLAIN %s   -- args %v\n", query, args)
	cols, rows, err := benchsql.Strings(ctx, b.DB, "EXPLAIN "+query, args...)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// --- ceiling for phase 3 ---

const ceilingSelectSQL = `SELECT id, email, email_lower, first_name, last_name, display_name, status, password_hash,
	created_at, updated_at FROM users WHERE email = ?`

func (b *bench) phaseCeilingSelect(ctx context.Context) error {
	names, err := b.userNames(ctx)
	if err != nil {
		return err
	}
	res, err := loadstats.Hammer(ctx, b.o.gets, b.o.concurrency, func(ctx context.Context, _ int) error {
		var u struct {
			ID           int64          `db:"id"`
			Email        string         `db:"email"`
			EmailLower   sql.NullString `db:"email_lower"`
			FirstName    sql.NullString `db:"first_name"`
			LastName     sql.NullString `db:"last_name"`
			DisplayName  sql.NullString `db:"display_name"`
			Status       int            `db:"status"`
			PasswordHash string         `db:"password_hash"`
			CreatedAt    time.Time      `db:"created_at"`
			UpdatedAt    sql.NullTime   `db:"updated_at"`
		}
		return b.Ceil.GetContext(ctx, &u, ceilingSelectSQL, names[rand.IntN(len(names))])
	})
	b.ceilSelect = res
	b.printf("one SELECT of the app row by its unique email per request, random users, %d goroutines\n  %s\n", b.o.concurrency, res)
	if err != nil {
		return err
	}
	return b.explain(ctx, strings.ReplaceAll(strings.ReplaceAll(ceilingSelectSQL, "\n\t", " "), "?", "'"+strings.ReplaceAll(names[0], "'", "''")+"'"))
}

// --- summary ---

func (b *bench) summary() {
	b.printf("\n== summary (concurrency %d, GOMAXPROCS %d, %s)\n", b.o.concurrency, runtime.GOMAXPROCS(0), runtime.Version())
	var rows [][4]string
	row := func(name, a, c, ratio string) { rows = append(rows, [4]string{name, a, c, ratio}) }
	rate := func(r loadstats.Result) string { return fmt.Sprintf("%.0f/s", r.PerSecond()) }
	ratio := func(a, c float64) string {
		if c == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", a/c)
	}
	lat := func(a, c loadstats.Result, p float64) {
		row(fmt.Sprintf("  p%.0f latency", p), loadstats.MS(a.Pct(p)), loadstats.MS(c.Pct(p)), ratio(float64(a.Pct(p)), float64(c.Pct(p))))
	}
	row("", "scimbridge (HTTP)", "ceiling (plain sqlx)", "scimbridge/ceiling")
	row(fmt.Sprintf("create %d users: POST /Users | INSERT", b.o.posts), rate(b.post), rate(b.ceilInsert), ratio(b.post.PerSecond(), b.ceilInsert.PerSecond()))
	lat(b.post, b.ceilInsert, 50)
	lat(b.post, b.ceilInsert, 99)
	row("  failed", fmt.Sprint(b.post.Failures), fmt.Sprint(b.ceilInsert.Failures), "")
	row(fmt.Sprintf("look up %d users: filter userName eq | WHERE email =", b.o.gets), rate(b.get), rate(b.ceilSelect), ratio(b.get.PerSecond(), b.ceilSelect.PerSecond()))
	lat(b.get, b.ceilSelect, 50)
	lat(b.get, b.ceilSelect, 99)
	row("  failed (error or totalResults != 1)", fmt.Sprint(b.get.Failures), fmt.Sprint(b.ceilSelect.Failures), "")
	var w [4]int
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], len(c))
		}
	}
	for _, r := range rows {
		b.printf("%-*s  %*s  %*s  %*s\n", w[0], r[0], w[1], r[1], w[2], r[2], w[3], r[3])
	}
	how := "multi-row SQL INSERTs into users + scim_users, not through scimbridge"
	if b.o.seed == "store" {
		how = "mysql.Store.CreateUser, no HTTP"
	}
	if b.seeded > 0 {
		b.printf("seeded %d users (%s) at %.0f users/s; lookups ran on %d users\n", b.seeded, how,
			float64(b.seeded)/b.seed.Elapsed.Seconds(), b.o.users)
	}
}
