// Package roles keeps the app's own role storage in line with the SCIM groups of its users, as the
// [roles] mapping says: which IdP group grants which app role, and how the app stores roles. Each way
// of storing them (mapping.RoleStore) is one storage implementation; Sync is the part they share: whom
// to recompute, what they are granted, and what changed.
package roles

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
)

// batch is how many users one recompute statement covers.
const batch = 1000

// Sync recomputes users' app roles in one role store, inside SCIM writes' transactions (Set runs them).
type Sync struct {
	Rules *mapping.Roles
	table string // the app's users table, quoted
	key   string // its key column, quoted
	// joinKey is the bookkeeping column holding the app's key: app_id or app_key.
	joinKey string
	store   storage
}

// storage is how the app stores roles: one implementation per mapping.RoleStore.
type storage interface {
	// want is what the app should hold for a user granted these roles (highest priority first) who
	// holds these managed roles given by hand (see handGiven).
	want(granted, hand []string) []string
	// read returns what the app holds now for the users with these keys (by KeyString), locking the rows.
	read(ctx context.Context, tx *bookkeeping.Tx, keys []any) (map[string]state, error)
	// write makes the app hold what each user should, where it differs from have.
	write(ctx context.Context, tx *bookkeeping.Tx, users []*user, have map[string]state) error
}

// state is what the app stores now for one user: the managed roles, and the raw value (list store)
// whose unmanaged entries a rewrite must keep.
type state struct {
	roles   []string
	raw     string
	present bool // list store: the column is not NULL, or the key-value row exists
}

// user is one SCIM user whose roles are being recomputed.
type user struct {
	id        string
	key       any // the app's key
	untracked bool
	granted   []string // what the user gets in this store: its groups' roles combined with direct
	direct    []string // the roles assigned to the user directly, in every store
	want      []string
	ours      []string // the roles of want that are there by scimbridge's doing: its record after the write
}

// Change is a user whose stored roles changed: the managed roles before and after, and the roles
// assigned to the user directly (their provenance: the others come from its groups).
type Change struct {
	UserID   string
	AppKey   any
	Old, New []string
	Direct   []string
}

// New builds the Sync of a role mapping (as mapping.CompileRoles checked it) for the app's users table
// (quoted names) whose key the bookkeeping holds in joinKey.
func New(r *mapping.Roles, usersTable, usersKey, joinKey string) *Sync {
	s := &Sync{Rules: r, table: usersTable, key: usersKey, joinKey: joinKey}
	d := bookkeeping.MySQL
	switch r.Store {
	case mapping.RoleColumn:
		s.store = &columnStore{r: r, table: usersTable, key: usersKey, column: d.Quote(r.Column)}
	case mapping.RoleList:
		s.store = &listStore{r: r, table: usersTable, key: usersKey, column: d.Quote(r.Column)}
	case mapping.RoleFlags:
		s.store = &flagsStore{r: r, table: usersTable, key: usersKey}
	case mapping.RoleJoin:
		s.store = &joinStore{r: r}
	default:
		panic(fmt.Sprintf("roles: store %q, which mapping.CompileRoles refuses", r.Store))
	}
	return s
}

// recompute brings this store's roles of these SCIM users (at most batch) in line with their groups,
// inside tx. It returns every user's managed roles before and after, and the users it loaded. The users
// of known are not read but taken as known says (their grants are none).
func (s *Sync) recompute(ctx context.Context, tx *bookkeeping.Tx, ids []string, known map[string]Known) ([]Change, []*user, error) {
	var read []string
	var given []*user
	for _, id := range ids {
		if k, ok := known[id]; ok {
			given = append(given, s.known(id, k))
		} else {
			read = append(read, id)
		}
	}
	users, err := s.load(ctx, tx, read)
	if err != nil {
		return nil, nil, err
	}
	readUsers := users
	if len(given) > 0 {
		users = append(slices.Clip(users), given...)
		slices.SortFunc(users, func(a, b *user) int { return strings.Compare(a.id, b.id) }) // load's order
	}
	// The app rows, then the grants: the order every recompute locks them in.
	have, err := s.store.read(ctx, tx, appKeys(users))
	if err != nil {
		return nil, nil, err
	}
	recorded, err := s.readGrants(ctx, tx, readUsers)
	if err != nil {
		return nil, nil, err
	}
	for _, u := range users {
		hand := s.handGiven(u, have[bookkeeping.KeyString(u.key)].roles, recorded[u.id])
		u.want = s.store.want(u.granted, hand)
		u.ours = minus(u.want, hand)
	}
	if err := s.store.write(ctx, tx, users, have); err != nil {
		return nil, nil, err
	}
	if err := s.writeGrants(ctx, tx, users, recorded); err != nil {
		return nil, nil, err
	}
	outs := make([]Change, 0, len(users))
	for _, u := range users {
		outs = append(outs, Change{UserID: u.id, AppKey: u.key, Old: orEmpty(have[bookkeeping.KeyString(u.key)].roles), New: orEmpty(u.want),
			Direct: orEmpty(u.direct)})
	}
	return outs, users, nil
}

// Granted returns the roles the user's groups grant (none while the user is deleted, or inactive with
// while_inactive = "clear"), read in tx.
func (s *Sync) Granted(ctx context.Context, tx *bookkeeping.Tx, userID string) ([]string, error) {
	users, err := s.load(ctx, tx, []string{userID})
	if err != nil || len(users) != 1 {
		return nil, err
	}
	return users[0].granted, nil
}

func same(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func appKeys(users []*user) []any {
	out := make([]any, 0, len(users))
	for _, u := range users {
		if u.key != nil {
			out = append(out, u.key)
		}
	}
	return out
}

func minus(a, b []string) []string { return bookkeeping.Without(a, b) }
