package schemacheck

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Topology is what kind of server or cluster the database is, as `scimbridge check` tells it.
type Topology struct {
	Kind string // "single", "galera", "group-replication-single-primary", "group-replication-multi-primary", "tidb", "interleaved"
	Note string // what is supported there, and how to point several replicas at it
}

// DetectTopology asks the server what it is: TiDB (its VERSION()), a Galera node (wsrep_on), a member
// of MySQL Group Replication (group_replication_single_primary_mode, with a group name), or a server
// whose auto_increment_increment is above 1 (multi-source replication, a cluster scimbridge does not
// recognise); else a single server.
func DetectTopology(ctx context.Context, db *sqlx.DB) (Topology, error) {
	var version string
	if err := db.GetContext(ctx, &version, "SELECT VERSION()"); err != nil {
		return Topology{}, err
	}
	if strings.Contains(strings.ToLower(version), "tidb") {
		return Topology{Kind: "tidb", Note: "topology: TiDB. Not tested: FOR UPDATE SKIP LOCKED does not lock there, and auto-increment values are cached per server. " +
			"Webhook claims check their lease update and the outbox tolerates gaps, but run a single scimbridge replica until this setup is tested."}, nil
	}
	vars, err := variables(ctx, db, "wsrep_on", "group_replication_single_primary_mode", "group_replication_group_name", "auto_increment_increment")
	if err != nil {
		return Topology{}, err
	}
	step := vars["auto_increment_increment"]
	if strings.EqualFold(vars["wsrep_on"], "ON") {
		size := status(ctx, db, "wsrep_cluster_size")
		return Topology{Kind: "galera", Note: fmt.Sprintf("topology: MariaDB Galera cluster (wsrep_on, %s nodes, auto_increment_increment %s). Supported: "+
			"replicas may write through any node (certification conflicts are retried, up to 12 attempts, then answered 503 with Retry-After), "+
			"or, with fewer conflicts, all through one writer node (MaxScale readwritesplit, ProxySQL with one writer hostgroup). "+
			"Outbox seqs interleave across nodes: the webhook cursor trails by the gap grace period, not by the events.", size, step)}, nil
	}
	if g := vars["group_replication_group_name"]; g != "" && vars["group_replication_single_primary_mode"] != "" {
		if strings.EqualFold(vars["group_replication_single_primary_mode"], "ON") {
			return Topology{Kind: "group-replication-single-primary", Note: "topology: MySQL Group Replication, single primary. Supported: point every replica at " +
				"the primary through MySQL Router's read-write port, which follows a failover."}, nil
		}
		return Topology{Kind: "group-replication-multi-primary", Note: "topology: MySQL Group Replication, multi-primary. Supported: scimbridge's tables " +
			"have no cascading foreign keys (migrations 20, 21) and conflicts are retried, then answered 503; fewer conflicts with all replicas on one member (MySQL Router read-write port)."}, nil
	}
	if step != "" && step != "1" {
		return Topology{Kind: "interleaved", Note: fmt.Sprintf("topology: auto_increment_increment is %s (multi-source replication or a cluster): outbox seqs interleave; "+
			"webhooks track the gaps explicitly. Send all writes to one server unless the engine certifies conflicting writes.", step)}, nil
	}
	return Topology{Kind: "single", Note: "topology: a single server: any number of scimbridge replicas may share it."}, nil
}

// variables reads server variables by name; those the server does not have are "".
func variables(ctx context.Context, db *sqlx.DB, names ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		var name, value string
		err := db.QueryRowxContext(ctx, "SHOW VARIABLES LIKE '"+n+"'").Scan(&name, &value)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[n] = value
	}
	return out, nil
}

// status reads a status variable; "?" when the server does not say.
func status(ctx context.Context, db *sqlx.DB, name string) string {
	var n, v string
	if err := db.QueryRowxContext(ctx, "SHOW STATUS LIKE '"+name+"'").Scan(&n, &v); err != nil {
		return "?"
	}
	return v
}
