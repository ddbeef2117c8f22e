package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/agent"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// appSchema is a typical legacy users table, and users_ceiling a copy of its shape for the plain-SQL ceiling.
var appSchema = legacyapp.UsersTable() + "CREATE TABLE users_ceiling LIKE users;\n"

// usersTOML maps it, as adapters/mysql/store_test.go does.
const usersTOML = legacyapp.UsersTOML

const token = "scimload-bearer-token"

type bench struct {
	o     options
	out   io.Writer
	db    *sqlx.DB // the store's pool
	ceil  *sqlx.DB // the ceiling's pool, same settings and size
	store *mysql.Store
	srv   *http.Server
	base  string // http://127.0.0.1:port/scim/v2
	http  *http.Client
	warns countingHandler

	post, ceilInsert, seed, get, ceilSelect result
	seeded                                  int
}

func newBench(ctx context.Context, o options, dsn string, out io.Writer) (*bench, error) {
	b := &bench{o: o, out: out, warns: countingHandler{n: new(atomic.Int64), first: new(atomic.Value)}}
	var err error
	if b.db, err = mysql.Open(dsn, o.dbConns); err != nil {
		return nil, err
	}
	if b.ceil, err = mysql.Open(dsn, o.dbConns); err != nil {
		b.db.Close()
		return nil, err
	}
	fail := func(err error) (*bench, error) { b.close(); return nil, err }
	for _, stmt := range testdb.Split(appSchema) {
		if _, err := b.db.ExecContext(ctx, stmt); err != nil {
			return fail(fmt.Errorf("%w\n%s", err, stmt))
		}
	}
	if _, err := mysql.Migrate(ctx, b.db, "scim_"); err != nil {
		return fail(err)
	}
	var cfg mapping.UsersConfig
	if _, err := toml.Decode(usersTOML, &cfg); err != nil {
		return fail(err)
	}
	m, err := mapping.Compile(cfg)
	if err != nil {
		return fail(err)
	}
	log := slog.New(b.warns)
	b.store = mysql.New(b.db, m, mysql.Options{Prefix: "scim_", Log: log})
	handler := agent.New(agent.Config{BasePath: "/scim/v2", Tokens: []string{token}, Users: b.store, UserType: m.Type, Log: log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	b.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute}
	go func() { _ = b.srv.Serve(ln) }()
	b.base = "http://" + ln.Addr().String() + "/scim/v2"
	b.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 2 * o.concurrency, MaxIdleConnsPerHost: 2 * o.concurrency, DisableCompression: true,
	}}
	return b, nil
}

func (b *bench) close() {
	if b.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = b.srv.Shutdown(ctx)
		cancel()
	}
	if b.http != nil {
		b.http.CloseIdleConnections()
	}
	if b.db != nil {
		b.db.Close()
	}
	if b.ceil != nil {
		b.ceil.Close()
	}
}

func (b *bench) printf(format string, args ...any) { fmt.Fprintf(b.out, format, args...) }

func (b *bench) run(ctx context.Context) error {
	if err := b.machine(ctx); err != nil {
		return err
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"phase 1: POST /Users", b.phasePost},
		{"ceiling: plain sqlx INSERT into users_ceiling", b.phaseCeilingInsert},
		{"phase 2: seed", b.phaseSeed},
		{"phase 3: GET /Users?filter=userName eq ...", b.phaseGet},
		{"ceiling: plain sqlx SELECT ... WHERE email = ?", b.phaseCeilingSelect},
	}
	for _, s := range steps {
		b.printf("\n== %s\n", s.name)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	b.summary()
	return nil
}

func (b *bench) machine(ctx context.Context) error {
	var version, flush, bufPool, logBin string
	if err := b.db.QueryRowxContext(ctx, `SELECT VERSION(), @@innodb_flush_log_at_trx_commit, @@innodb_buffer_pool_size,
		@@log_bin`).Scan(&version, &flush, &bufPool, &logBin); err != nil {
		return err
	}
	b.printf("machine: %s %s/%s, NumCPU %d, GOMAXPROCS %d; server %s (innodb_flush_log_at_trx_commit=%s, buffer pool %s bytes, log_bin=%s)\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), version, flush, bufPool, logBin)
	b.printf("client, scimbridge and the database share this machine; HTTP is loopback (%s), pool %d connections, concurrency %d\n",
		b.base, b.o.dbConns, b.o.concurrency)
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
	warns := b.warns.n.Load()
	res, err := hammer(ctx, b.o.posts, b.o.concurrency, func(ctx context.Context, i int) error {
		body, _ := json.Marshal(userResource(person("p", i)))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.base+"/Users", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/scim+json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := b.http.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("POST /Users: %d %s", resp.StatusCode, bytes.TrimSpace(got))
		}
		return nil
	})
	b.post = res
	b.printf("POST /Users over HTTP, %d clients, distinct users, each a new app row + bookkeeping row in one transaction\n", b.o.concurrency)
	b.printf("  %s\n  users/s %.0f; store warnings (transaction retries after lock conflicts) %d\n",
		res, res.perSecond(), b.warns.n.Load()-warns)
	if m, ok := b.warns.first.Load().(string); ok {
		b.printf("  first warning logged: %s\n", m)
	}
	if err != nil {
		return err
	}
	var doc string
	email, _, _ := person("p", 0)
	if err := b.db.GetContext(ctx, &doc, "SELECT doc FROM scim_users WHERE user_name = ?", email); err == nil {
		b.printf("  bookkeeping doc the store keeps for such a user: %s\n", doc)
	}
	return nil
}

// --- ceiling for phase 1 ---

const ceilingInsertSQL = `INSERT INTO users_ceiling (email, email_lower, first_name, last_name, display_name, status,
	password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, '!scim', ?, ?)`

func (b *bench) phaseCeilingInsert(ctx context.Context) error {
	res, err := hammer(ctx, b.o.posts, b.o.concurrency, func(ctx context.Context, i int) error {
		email, given, family := person("p", i)
		now := time.Now().UTC().Truncate(time.Second)
		_, err := b.ceil.ExecContext(ctx, ceilingInsertSQL, email, strings.ToLower(email), given, family, given+" "+family, now, now)
		return err
	})
	b.ceilInsert = res
	b.printf("one autocommit INSERT per row, the same %d rows, %d goroutines\n  %s\n", b.o.posts, b.o.concurrency, res)
	return err
}

// --- phase 2 ---

func (b *bench) phaseSeed(ctx context.Context) error {
	var have int
	if err := b.db.GetContext(ctx, &have, "SELECT COUNT(*) FROM scim_users WHERE deleted_at IS NULL"); err != nil {
		return err
	}
	b.seeded = max(0, b.o.users-have)
	if b.seeded > 0 {
		var res result
		var err error
		if b.o.seed == "store" {
			b.printf("seeding %d users through the store (mysql.Store.CreateUser, %d goroutines, no HTTP)\n", b.seeded, b.o.concurrency)
			res, err = hammer(ctx, b.seeded, b.o.concurrency, func(ctx context.Context, i int) error {
				_, err := b.store.CreateUser(ctx, userResource(person("s", i)))
				return err
			})
		} else {
			b.printf("seeding %d users with multi-row INSERTs straight into users and scim_users (%d rows per transaction, %d goroutines; not through scimbridge)\n",
				b.seeded, b.o.batch, b.o.concurrency)
			batches := (b.seeded + b.o.batch - 1) / b.o.batch
			res, err = hammer(ctx, batches, b.o.concurrency, func(ctx context.Context, n int) error {
				return b.seedBatch(ctx, n*b.o.batch, min((n+1)*b.o.batch, b.seeded))
			})
		}
		b.seed = res
		b.printf("  %d users in %s: %.0f users/s, %d failed operations", b.seeded, res.elapsed.Round(time.Millisecond),
			float64(b.seeded)/res.elapsed.Seconds(), res.failures)
		if res.firstErr != nil {
			b.printf(" (first: %v)", res.firstErr)
		}
		b.printf("\n")
		if err != nil {
			return err
		}
		if res.failures > 0 {
			return errors.New("seeding failed")
		}
	}
	t := time.Now()
	for _, tbl := range []string{"users", "scim_users", "users_ceiling"} {
		rows, err := b.db.QueryxContext(ctx, "ANALYZE TABLE "+tbl)
		if err != nil {
			return err
		}
		rows.Close()
	}
	var users, book int
	if err := b.db.GetContext(ctx, &users, "SELECT COUNT(*) FROM users"); err != nil {
		return err
	}
	if err := b.db.GetContext(ctx, &book, "SELECT COUNT(*) FROM scim_users"); err != nil {
		return err
	}
	b.printf("  ANALYZE TABLE users, scim_users, users_ceiling: %s; users has %d rows, scim_users %d\n",
		time.Since(t).Round(time.Millisecond), users, book)
	return nil
}

// seedBatch writes users [from, to) as the store would have: the app row as the mapping fills it, and a
// bookkeeping row (random UUID id, app_id, userName, active, version 1, timestamps, doc) linked to it.
func (b *bench) seedBatch(ctx context.Context, from, to int) error {
	tx, err := b.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	nowSec := now.Truncate(time.Second)
	var q strings.Builder
	args := make([]any, 0, (to-from)*9)
	emails := make([]any, 0, to-from)
	q.WriteString(`INSERT INTO users (email, email_lower, first_name, last_name, display_name, status, password_hash, created_at, updated_at) VALUES `)
	for i := from; i < to; i++ {
		email, given, family := person("s", i)
		if i > from {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, 1, '!scim', ?, ?)")
		args = append(args, email, strings.ToLower(email), given, family, given+" "+family, nowSec, nowSec)
		emails = append(emails, email)
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return err
	}
	in, inArgs, err := sqlx.In("SELECT id, email FROM users WHERE email IN (?)", emails)
	if err != nil {
		return err
	}
	rows, err := tx.QueryxContext(ctx, in, inArgs...)
	if err != nil {
		return err
	}
	ids := make(map[string]int64, to-from)
	for rows.Next() {
		var id int64
		var email string
		if err := rows.Scan(&id, &email); err != nil {
			rows.Close()
			return err
		}
		ids[email] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	q.Reset()
	args = args[:0]
	q.WriteString(`INSERT INTO scim_users (id, app_id, user_name, user_name_lc, active, version, created, last_modified, doc) VALUES `)
	for n, e := range emails {
		email := e.(string)
		id, ok := ids[email]
		if !ok {
			return fmt.Errorf("seeded user %s not found again", email)
		}
		if n > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, 1, 1, ?, ?, ?)")
		args = append(args, uuid.NewString(), id, email, strings.ToLower(email), now, now, seedDoc(email))
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return err
	}
	return tx.Commit()
}

// seedDoc is the bookkeeping doc the store keeps for userResource: what no column holds, the emails.
func seedDoc(email string) string {
	doc, _ := json.Marshal(map[string]any{"emails": []any{map[string]any{"primary": true, "type": "work", "value": email}}})
	return string(doc)
}

// --- phase 3 ---

func (b *bench) userNames(ctx context.Context) ([]string, error) {
	var names []string
	err := b.db.SelectContext(ctx, &names, "SELECT user_name FROM scim_users WHERE deleted_at IS NULL")
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
	res, err := hammer(ctx, b.o.gets, b.o.concurrency, func(ctx context.Context, _ int) error {
		name := names[rand.IntN(len(names))]
		filter := url.QueryEscape(`userName eq "` + name + `"`)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/Users?filter="+filter, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := b.http.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", name, resp.StatusCode, bytes.TrimSpace(got))
		}
		var list struct {
			TotalResults int `json:"totalResults"`
			Resources    []struct {
				UserName string `json:"userName"`
			} `json:"Resources"`
		}
		if err := json.Unmarshal(got, &list); err != nil {
			return fmt.Errorf("GET %s: %v", name, err)
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
	rows, err := b.db.QueryxContext(ctx, "EXPLAIN "+query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		cells := make([]string, len(cols))
		for i, v := range vals {
			cells[i] = "NULL"
			if v.Valid {
				cells[i] = v.String
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := rows.Err(); err != nil {
		return err
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
	res, err := hammer(ctx, b.o.gets, b.o.concurrency, func(ctx context.Context, _ int) error {
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
		return b.ceil.GetContext(ctx, &u, ceilingSelectSQL, names[rand.IntN(len(names))])
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
	rate := func(r result) string { return fmt.Sprintf("%.0f/s", r.perSecond()) }
	ratio := func(a, c float64) string {
		if c == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", a/c)
	}
	lat := func(a, c result, p float64) {
		row(fmt.Sprintf("  p%.0f latency", p), ms(a.pct(p)), ms(c.pct(p)), ratio(float64(a.pct(p)), float64(c.pct(p))))
	}
	row("", "scimbridge (HTTP)", "ceiling (plain sqlx)", "scimbridge/ceiling")
	row(fmt.Sprintf("create %d users: POST /Users | INSERT", b.o.posts), rate(b.post), rate(b.ceilInsert), ratio(b.post.perSecond(), b.ceilInsert.perSecond()))
	lat(b.post, b.ceilInsert, 50)
	lat(b.post, b.ceilInsert, 99)
	row("  failed", fmt.Sprint(b.post.failures), fmt.Sprint(b.ceilInsert.failures), "")
	row(fmt.Sprintf("look up %d users: filter userName eq | WHERE email =", b.o.gets), rate(b.get), rate(b.ceilSelect), ratio(b.get.perSecond(), b.ceilSelect.perSecond()))
	lat(b.get, b.ceilSelect, 50)
	lat(b.get, b.ceilSelect, 99)
	row("  failed (error or totalResults != 1)", fmt.Sprint(b.get.failures), fmt.Sprint(b.ceilSelect.failures), "")
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
			float64(b.seeded)/b.seed.elapsed.Seconds(), b.o.users)
	}
}

// countingHandler counts the store's and the agent's warnings and errors (transaction retries, 5xx).
type countingHandler struct {
	n     *atomic.Int64
	first *atomic.Value
}

func (h countingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.n.Add(1)
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			msg += ": " + a.Value.String()
		}
		return true
	})
	h.first.CompareAndSwap(nil, msg)
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }
