package bookkeeping

import (
	"context"
	crand "crypto/rand"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
)

// cluster is what the connections of one pool learned about their server: whether it is a Galera node,
// whether it answers INSERT ... RETURNING.
type cluster struct {
	galera    atomic.Bool
	returning atomic.Bool
	learned   atomic.Bool // a connection has asked (onConnect): galera and returning are known
	guarded   guarded     // the pool's autocommit-off twin for transactions (guard.go)
}

// clusters maps the pools Open made to what their connections learned.
var clusters sync.Map // *sql.DB -> *cluster

// IsGalera reports whether db (opened with Open) is connected to a Galera node (wsrep_on is ON); false
// before its first connection and for pools Open did not make.
func IsGalera(db *sqlx.DB) bool {
	if db == nil {
		return false
	}
	c, ok := clusters.Load(db.DB)
	return ok && c.(*cluster).galera.Load()
}

// onGalera is IsGalera once the pool knows: a pool that has made no connection yet makes one (Ping)
// and asks. Begin needs the answer before its first transaction: the replicas' first writes after a
// start, run at once, would otherwise all begin as on one server (no guard) on a Galera node.
func onGalera(ctx context.Context, db *sqlx.DB) bool {
	v, ok := clusters.Load(db.DB)
	if !ok {
		return false
	}
	c := v.(*cluster)
	if !c.learned.Load() {
		_ = db.PingContext(ctx) // an error shows again in the transaction's own begin
	}
	return c.galera.Load()
}

// InsertReturns reports whether db (opened with Open) is connected to a server that answers
// INSERT ... RETURNING (MariaDB 10.5 and later): a create then reads the row it inserted, with what the
// app's defaults made of it, in the INSERT's own statement rather than one more. False for other servers
// (MySQL has no RETURNING) and pools Open did not make.
func InsertReturns(ctx context.Context, db *sqlx.DB) bool {
	if db == nil {
		return false
	}
	v, ok := clusters.Load(db.DB)
	if !ok {
		return false
	}
	c := v.(*cluster)
	if !c.learned.Load() {
		_ = db.PingContext(ctx)
	}
	return c.returning.Load()
}

// answersReturning tells from @@version whether the server is MariaDB 10.5 or later.
func answersReturning(version string) bool {
	if !strings.Contains(version, "MariaDB") {
		return false
	}
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 10 || (major == 10 && minor >= 5)
}

// onConnect runs on each new connection. On a Galera node it turns on causal reads
// (wsrep_sync_wait=1): a read then waits until the node has applied every write the cluster committed
// before it, so that a replica reading through one node sees what another replica committed through
// another a moment ago (a lease, a delivery's status, a user just created).
func (c *cluster) onConnect(ctx context.Context, conn driver.Conn) error {
	q, ok := conn.(driver.QueryerContext)
	if !ok {
		return nil
	}
	rows, err := q.QueryContext(ctx, "SHOW VARIABLES WHERE Variable_name IN ('wsrep_on', 'version')", nil)
	if err != nil {
		c.learned.Store(true)
		return nil // not MariaDB or MySQL as we know it (the demo's engine): no cluster
	}
	vals := make([]driver.Value, len(rows.Columns()))
	on := false
	for len(vals) == 2 && rows.Next(vals) == nil {
		name, _ := vals[0].([]byte)
		v, _ := vals[1].([]byte)
		switch strings.ToLower(string(name)) {
		case "wsrep_on":
			on = strings.EqualFold(string(v), "ON")
		case "version":
			if answersReturning(string(v)) {
				c.returning.Store(true)
			}
		}
	}
	_ = rows.Close()
	if on {
		c.galera.Store(true)
	}
	c.learned.Store(true)
	if !on {
		return nil
	}
	e, ok := conn.(driver.ExecerContext)
	if !ok {
		return nil
	}
	_, err = e.ExecContext(ctx, "SET SESSION wsrep_sync_wait = 1", nil)
	return err
}

// jitter is the package's own source of randomness for the waits between attempts.
var jitter = func() func() float64 {
	var seed [16]byte
	_, _ = io.ReadFull(crand.Reader, seed[:])
	r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	var mu sync.Mutex
	return func() float64 { mu.Lock(); defer mu.Unlock(); return r.Float64() }
}()
