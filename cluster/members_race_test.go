package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/invariants"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// A user added to a group through one Galera node while its DELETE runs through the other, many times
// at once: whichever commits first, the other sees it (the add is refused, or the DELETE takes the user
// out of the group). Never both: no member row of a deleted user on either node. Row locks are local to
// a node, so only a row both transactions write (the user's mark, bookkeeping.MarkUsers) makes
// certification order them; and a transaction the node aborts for that without telling its client must
// not half-commit (bookkeeping.Begin). With [roles] too: the role recompute wrote the mark before, but the
// DELETE only after reading the user's memberships, so an add applied on its node in between went unseen.
//
// Before MarkUsers about 170 of 240 races left such a row; with it and before the guard, 1 or 2 in 6 of 8
// runs (the DELETE's statements after the node's silent abort committed one by one).
func TestGaleraAddMemberRacesDelete(t *testing.T) {
	needGalera(t)
	nodes := startCluster(t, 2)
	t.Run("first transaction guarded", func(t *testing.T) { firstTransactionGuarded(t, nodes[1]) })
	for i, roles := range []bool{false, true} {
		t.Run(fmt.Sprintf("roles=%v", roles), func(t *testing.T) { raceAddDelete(t, nodes, fmt.Sprintf("%s_%d", dbName, i), roles) })
	}
}

func raceAddDelete(t *testing.T, nodes []*node, dbName string, roles bool) {
	admin := nodes[0].admin("")
	admin.MustExec("CREATE DATABASE " + dbName)
	var opts mysql.Options
	if roles {
		nodes[0].admin(dbName).MustExec(legacyapp.UsersTable(legacyapp.RoleColumn))
		opts.Roles = testfix.Roles(t, legacyapp.ColumnRolesTOML)
	} else {
		nodes[0].admin(dbName).MustExec(legacyapp.UsersTable())
	}
	ctx := context.Background()
	stores := make([]*mysql.Store, 2)
	dbs := make([]*bookkeeping.Runner, 2)
	for i := range stores {
		db, err := bookkeeping.Open(nodes[i].dsn(dbName), 20)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if i == 0 {
			if _, err := mysql.Migrate(ctx, db, "scim_"); err != nil {
				t.Fatal(err)
			}
		}
		stores[i] = mysql.New(db, testfix.Users(t, legacyapp.UsersTOML), opts)
		dbs[i] = &bookkeeping.Runner{DB: db}
	}
	var groups []string
	for _, name := range []string{"Admins", "Support"} {
		g, err := stores[0].CreateGroup(ctx, scim.Resource{"displayName": name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g["id"].(string))
	}
	// A 503 (the conflict's retries ran out) is sent again, as an IdP does; anything else is an outcome.
	var mu sync.Mutex
	history := map[string][]string{} // user id -> what its add and DELETE answered, for a failure's message
	note := func(id, what string) { mu.Lock(); defer mu.Unlock(); history[id] = append(history[id], what) }
	again := func(id, what string, op func() error) error {
		for {
			err := op()
			var se *scim.Error
			if !errors.As(err, &se) || se.Status != http.StatusServiceUnavailable {
				return err
			}
			note(id, what+" 503")
			time.Sleep(20 * time.Millisecond)
		}
	}
	rounds, pairs := 30, 8
	if testing.Short() {
		rounds = 10
	}
	added, refused := 0, 0
	for round := range rounds {
		var wg sync.WaitGroup
		for p := range pairs {
			u, err := stores[0].CreateUser(ctx, scim.Resource{"userName": fmt.Sprintf("r%d-p%d@example.com", round, p),
				"name": map[string]any{"givenName": "R", "familyName": fmt.Sprint(p)}, "active": true})
			if err != nil {
				t.Fatal(err)
			}
			id := u["id"].(string)
			start := make(chan struct{})
			wg.Go(func() {
				<-start
				err := again(id, "add", func() error {
					_, err := stores[0].UpdateGroup(ctx, groups[p%2], func(cur scim.Resource) (scim.Resource, error) { return cur, nil },
						scim.MemberChange{Add: []scim.Member{{Value: id}}}, false)
					return err
				})
				note(id, fmt.Sprintf("add %v", err))
				mu.Lock()
				defer mu.Unlock()
				switch se := (*scim.Error)(nil); {
				case err == nil:
					added++
				case errors.As(err, &se) && se.Status == http.StatusBadRequest:
					refused++ // the DELETE came first
				default:
					t.Errorf("add %s: %v", id, err)
				}
			})
			wg.Go(func() {
				<-start
				err := again(id, "delete", func() error { return stores[1].DeleteUser(ctx, id, nil) })
				note(id, fmt.Sprintf("delete %v", err))
				if err != nil {
					t.Errorf("delete %s: %v", id, err)
				}
			})
			close(start)
		}
		wg.Wait()
	}
	t.Logf("%d races: %d adds committed before the DELETE, %d refused after it", rounds*pairs, added, refused)
	for i, r := range dbs {
		violations, err := invariants.Check(ctx, r.DB, invariants.Setup{})
		if err != nil || len(violations) > 0 {
			var orphans []string
			_ = r.DB.SelectContext(ctx, &orphans, "SELECT m.user_id FROM scim_group_members m JOIN scim_users u ON u.id = m.user_id WHERE u.deleted_at IS NOT NULL")
			for _, id := range orphans[:min(len(orphans), 5)] {
				var marks []int
				_ = r.DB.SelectContext(ctx, &marks, "SELECT n FROM scim_role_marks WHERE user_id = ?", id)
				var bk []string
				_ = r.DB.SelectContext(ctx, &bk, "SELECT CONCAT(version, ' ', deleted_at, ' ', last_modified) FROM scim_users WHERE id = ?", id)
				t.Logf("%s: orphan member %s: %v marks %v user %v", nodes[i].name, id, history[id], marks, bk)
			}
			t.Errorf("%s: %v %v", nodes[i].name, violations, err)
		}
	}
}

// The first transaction of a pool that has not connected yet is guarded already: replicas starting
// together send their first writes at once, before any connection has told the pool it is on Galera.
// The transaction ends itself (ROLLBACK) and writes again after that: guarded, the write after the end
// is not kept and the transaction runs again; unguarded, it would commit on its own.
func firstTransactionGuarded(t *testing.T, nd *node) {
	nd.admin("").MustExec("CREATE DATABASE scim_guard")
	nd.admin("scim_guard").MustExec("CREATE TABLE t (id INT PRIMARY KEY, attempt INT NOT NULL)")
	db, err := bookkeeping.Open(nd.dsn("scim_guard"), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	attempts := 0
	r := &bookkeeping.Runner{DB: db, Rand: func() float64 { return 0 }}
	if err := r.InTx(ctx, func(tx *bookkeeping.Tx) error {
		attempts++
		if attempts == 1 {
			if _, err := tx.ExecContext(ctx, "ROLLBACK"); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO t (id, attempt) VALUES (1, ?)", attempts)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var got []int
	if err := db.Select(&got, "SELECT attempt FROM t"); err != nil {
		t.Fatal(err)
	}
	if attempts != 2 || len(got) != 1 || got[0] != 2 {
		t.Fatalf("%d attempts, rows of attempts %v; want the second attempt's row alone", attempts, got)
	}
}
