package bookkeeping

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/scim"
)

// A migration is one step of the bookkeeping schema: SQL, where "{p}" stands for the table prefix, or a
// Go function for a step SQL cannot do. Steps are Go rather than goose files because the table names carry
// the configured prefix. Append only: never edit a shipped one.
type migration struct {
	sql string
	run func(ctx context.Context, conn *sqlx.Conn, prefix string) error
}

func sqlStep(stmt string) migration { return migration{sql: stmt} }

var migrations = []migration{
	// 1: users. live_user_name is the userName of a user that is not deleted: its unique index makes
	// concurrent duplicate POSTs fail in the database instead of racing a read-then-write check, while a
	// deleted user's tombstone keeps the link to the app row for a later re-POST.
	sqlStep(`CREATE TABLE {p}users (
		id            CHAR(36)     NOT NULL,
		app_id        BIGINT       NULL,
		app_key       VARCHAR(191) NULL,
		user_name     VARCHAR(255) NOT NULL,
		user_name_lc  VARCHAR(255) NOT NULL,
		external_id   VARCHAR(255) NULL,
		active        TINYINT(1)   NOT NULL,
		version       BIGINT       NOT NULL,
		created       DATETIME(6)  NOT NULL,
		last_modified DATETIME(6)  NOT NULL,
		deleted_at    DATETIME(6)  NULL,
		doc           JSON         NOT NULL,
		live_user_name VARCHAR(255) AS (IF(deleted_at IS NULL, user_name_lc, NULL)) STORED,
		PRIMARY KEY (id),
		UNIQUE KEY live_user_name (live_user_name),
		UNIQUE KEY app_id (app_id),
		UNIQUE KEY app_key (app_key),
		KEY user_name_lc (user_name_lc),
		KEY external_id (external_id),
		KEY created (created)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 2: the outbox. Every change writes its event here in the change's own transaction, so an event
	// exists exactly when its change committed. seq orders events; subject ("user:<id>") groups those
	// whose order matters to a receiver.
	sqlStep(`CREATE TABLE {p}outbox (
		seq         BIGINT       NOT NULL AUTO_INCREMENT,
		event_id    CHAR(36)     NOT NULL,
		type        VARCHAR(64)  NOT NULL,
		subject     VARCHAR(80)  NOT NULL,
		occurred_at DATETIME(6)  NOT NULL,
		payload     JSON         NOT NULL,
		PRIMARY KEY (seq),
		UNIQUE KEY event_id (event_id),
		KEY subject_seq (subject, seq),
		KEY occurred_at (occurred_at)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 3: groups. display_name_lc serves case-insensitive displayName filters (Okta and Entra look
	// groups up by name); displayName is not unique, as RFC 7643 does not make it so.
	sqlStep(`CREATE TABLE {p}groups (
		id              CHAR(36)     NOT NULL,
		display_name    VARCHAR(255) NOT NULL,
		display_name_lc VARCHAR(255) NOT NULL,
		external_id     VARCHAR(255) NULL,
		version         BIGINT       NOT NULL,
		created         DATETIME(6)  NOT NULL,
		last_modified   DATETIME(6)  NOT NULL,
		doc             JSON         NOT NULL,
		PRIMARY KEY (id),
		KEY display_name_lc (display_name_lc),
		KEY external_id (external_id),
		KEY created (created)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 4: memberships. The user key cascades: a user re-created after DELETE gets a new SCIM id, and a
	// hard-deleted user leaves no membership behind.
	sqlStep(`CREATE TABLE {p}group_members (
		group_id CHAR(36)     NOT NULL,
		user_id  CHAR(36)     NOT NULL,
		display  VARCHAR(255) NULL,
		PRIMARY KEY (group_id, user_id),
		KEY user_id (user_id),
		CONSTRAINT {p}group_members_group FOREIGN KEY (group_id) REFERENCES {p}groups (id) ON DELETE CASCADE,
		CONSTRAINT {p}group_members_user FOREIGN KEY (user_id) REFERENCES {p}users (id) ON DELETE CASCADE ON UPDATE CASCADE
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 5: webhook cursors, one row per endpoint (package webhook). Fan-out copies outbox rows past
	// scan_seq into deliveries; last_seq trails it while an outbox seq is missing (a transaction that
	// took its seq but had not committed yet, or rolled back): such a gap is watched from gap_since and
	// given up, with every gap up to gap_upto, after a grace period. disabled_at: the endpoint answered
	// 410 Gone.
	sqlStep(`CREATE TABLE {p}webhook_cursors (
		endpoint        VARCHAR(64)   NOT NULL,
		last_seq        BIGINT        NOT NULL,
		scan_seq        BIGINT        NOT NULL,
		gap_since       DATETIME(6)   NULL,
		gap_upto        BIGINT        NULL,
		disabled_at     DATETIME(6)   NULL,
		disabled_reason VARCHAR(1000) NULL,
		created_at      DATETIME(6)   NOT NULL,
		PRIMARY KEY (endpoint)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 6: webhook deliveries, one row per (endpoint, outbox event). waiting marks the rows still to be
	// sent: claims scan (endpoint, waiting, next_attempt_at) and keep each subject in seq order.
	sqlStep(`CREATE TABLE {p}webhook_deliveries (
		id              BIGINT        NOT NULL AUTO_INCREMENT,
		endpoint        VARCHAR(64)   NOT NULL,
		seq             BIGINT        NOT NULL,
		event_id        CHAR(36)      NOT NULL,
		type            VARCHAR(64)   NOT NULL,
		subject         VARCHAR(80)   NOT NULL,
		status          VARCHAR(16)   NOT NULL,
		attempts        INT           NOT NULL DEFAULT 0,
		enqueued_at     DATETIME(6)   NOT NULL,
		next_attempt_at DATETIME(6)   NOT NULL,
		lease_owner     VARCHAR(100)  NULL,
		lease_until     DATETIME(6)   NULL,
		last_attempt_at DATETIME(6)   NULL,
		last_status     INT           NULL,
		last_error      VARCHAR(1000) NULL,
		delivered_at    DATETIME(6)   NULL,
		waiting         TINYINT AS (IF(status IN ('pending', 'failed'), 1, 0)) STORED,
		PRIMARY KEY (id),
		UNIQUE KEY endpoint_seq (endpoint, seq),
		KEY due (endpoint, waiting, next_attempt_at, seq),
		KEY subject_order (endpoint, subject, waiting, seq),
		KEY seq_status (seq, status),
		KEY delivered (status, delivered_at)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 7: the app's key of a group mirrored into the app's groups table ([groups.mirror]); NULL while the
	// group is not mirrored. Unique: one app group row belongs to one SCIM group.
	sqlStep(`ALTER TABLE {p}groups ADD COLUMN app_key VARCHAR(191) NULL, ADD UNIQUE KEY app_key (app_key)`),
	// 8: userName's unique key becomes scim.FoldIdentity (Unicode case folding only) instead of Go's
	// strings.ToLower, which turned VİCTIM into victim: the keys of existing users are computed again.
	{run: refoldUserNames},
	// 9: the SAML gate's sessions (gatesessions.go), shared by every gate replica. token_hash is the
	// hex SHA-256 of the cookie's random token: the table never holds a value a browser could present.
	// user_id is the SCIM id the identity resolved to at login; no foreign key, so that ending sessions
	// stays an explicit DELETE in the SCIM write's transaction.
	sqlStep(`CREATE TABLE {p}gate_sessions (
		token_hash CHAR(64)      NOT NULL,
		user_id    CHAR(36)      NOT NULL,
		app_key    VARCHAR(191)  NULL,
		identity   VARCHAR(1024) NOT NULL,
		created_at DATETIME(6)   NOT NULL,
		expires_at DATETIME(6)   NOT NULL,
		PRIMARY KEY (token_hash),
		KEY user_id (user_id),
		KEY expires_at (expires_at)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 10: SAML assertions already used to sign in (hex SHA-256 of the assertion ID), kept until they
	// expire, so that a replay is refused by every gate replica and after a restart.
	sqlStep(`CREATE TABLE {p}gate_assertions (
		id_hash    CHAR(64)    NOT NULL,
		expires_at DATETIME(6) NOT NULL,
		PRIMARY KEY (id_hash),
		KEY expires_at (expires_at)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 11: the outbox seqs a webhook cursor found missing, as a JSON array of [lo, hi, seen] runs (package
	// webhook, gaps.go). Fan-out re-reads exactly these instead of everything after the first gap, which
	// made a single rolled-back change slow delivery for the whole grace period. gap_since and gap_upto
	// are no longer written.
	sqlStep(`ALTER TABLE {p}webhook_cursors ADD COLUMN gaps MEDIUMTEXT NULL`),
	// 12: the audit trail (package audit): one row per change of a user, a group, a membership or a user's
	// roles, written in the change's transaction. name_lc (scim.FoldIdentity of the userName or
	// displayName) and member_id serve `scimbridge audit --user`; at serves --since and the pruning.
	sqlStep(`CREATE TABLE {p}audit (
		id            BIGINT       NOT NULL AUTO_INCREMENT,
		at            DATETIME(6)  NOT NULL,
		actor         VARCHAR(100) NOT NULL,
		request_id    VARCHAR(100) NOT NULL,
		operation     VARCHAR(64)  NOT NULL,
		resource_type VARCHAR(16)  NOT NULL,
		scim_id       CHAR(36)     NOT NULL,
		name          VARCHAR(255) NOT NULL,
		name_lc       VARCHAR(255) NOT NULL,
		app_key       VARCHAR(191) NULL,
		member_id     CHAR(36)     NULL,
		changes       JSON         NOT NULL,
		PRIMARY KEY (id),
		KEY scim_id (scim_id, id),
		KEY member_id (member_id, id),
		KEY name_lc (name_lc, id),
		KEY actor (actor, id),
		KEY at (at)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 13: one row per folded userName ever created (scim.FoldIdentity), which a POST locked first so
	// that creates of one login ran one after another. No longer written: live_user_name's unique index
	// (1) decides between two creates of one login (adapters/mysql findExisting). The table stays: the
	// migrating account needs no DROP.
	sqlStep(`CREATE TABLE {p}user_name_locks (
		user_name_lc VARCHAR(255) NOT NULL,
		PRIMARY KEY (user_name_lc)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 14: which app roles scimbridge granted, per user and role store ([roles] Name): the role recompute
	// adds and removes only these, so that roles given by hand in the app (an adopted admin's) survive,
	// unless the role mapping is authoritative.
	sqlStep(`CREATE TABLE {p}role_grants (
		user_id CHAR(36)     NOT NULL,
		store   VARCHAR(191) NOT NULL,
		role    VARCHAR(191) NOT NULL,
		PRIMARY KEY (user_id, store, role)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 15, 16: users that existed before role_grants have roles_untracked = 1: their first recompute takes
	// the managed roles they hold that their groups grant as scimbridge's (the old code wrote exactly
	// those) and the others as given by hand. serve's start-up reconcile, before any SCIM write, is that
	// first recompute. Users created later start tracked (0).
	sqlStep(`ALTER TABLE {p}users ADD COLUMN roles_untracked TINYINT(1) NOT NULL DEFAULT 1`),
	sqlStep(`ALTER TABLE {p}users ALTER COLUMN roles_untracked SET DEFAULT 0`),
	// 17: the values table (values.go): each user's document values, so that an eq filter on an attribute
	// kept only in the document is an index lookup rather than a scan of every user's JSON. The key
	// (attr, value_fold) serves the lookup. The foreign key takes a hard-deleted user's rows along, and
	// a revived tombstone's to its new id.
	sqlStep(`CREATE TABLE {p}user_values (
		user_id    CHAR(36)     NOT NULL,
		attr       VARCHAR(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
		value_fold VARCHAR(680) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
		PRIMARY KEY (user_id, attr, value_fold),
		KEY attr_value (attr, value_fold),
		CONSTRAINT {p}user_values_user FOREIGN KEY (user_id) REFERENCES {p}users (id) ON DELETE CASCADE ON UPDATE CASCADE
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 18: the values of the users that exist, read from their documents (inserts only: no DELETE privilege).
	{run: fillValues},
	// 19: named leases (lease.go) instead of GET_LOCK, which is local to one node of a cluster: the
	// migration lease, and the work only one replica does (the role reconcile at start, webhook fan-out,
	// pruning). Migrate creates it before anything else; this step is for databases migrated before.
	sqlStep(leaseTableSQL),
	// 20, 21: no foreign keys on scimbridge's own tables. Galera certifies a cascade's changes poorly
	// (the rows a cascade deletes are not all in the writeset's keys), MySQL Group Replication in
	// multi-primary mode refuses commits on tables with cascading keys, and TiDB ignores them: the
	// transactions that delete or re-key a user or a group delete and move these rows themselves
	// (ForgetUser, MoveUser, the group's DELETE).
	sqlStep(`ALTER TABLE {p}group_members DROP FOREIGN KEY {p}group_members_group, DROP FOREIGN KEY {p}group_members_user`),
	sqlStep(`ALTER TABLE {p}user_values DROP FOREIGN KEY {p}user_values_user`),
	// 22: one row per user whose roles a recompute wrote (MarkRoles): two recomputes of one user's roles
	// at once both write it, so that they conflict even when the role rows they change differ.
	sqlStep(`CREATE TABLE {p}role_marks (
		user_id CHAR(36) NOT NULL,
		n       BIGINT   NOT NULL,
		PRIMARY KEY (user_id)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 23: the list rows ([[users.lists]]) scimbridge wrote, per user and list (mapping.List.Name), by the
	// SHA-256 of the value's identity fold (mapping.RowKey): a replacement of the list deletes only these,
	// and keeps the rows the app added (keep_app_rows). No foreign key (see 20, 21): ForgetUser and
	// MoveUser delete and move these rows.
	sqlStep(`CREATE TABLE {p}list_rows (
		user_id  CHAR(36)     NOT NULL,
		list     VARCHAR(191) NOT NULL,
		row_key  CHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
		PRIMARY KEY (user_id, list, row_key)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 24, 25: users that existed before list_rows have lists_untracked = 1: every managed list row of theirs
	// counts as scimbridge's (as the code of that time treated them) until their next write records them.
	// Users created later start tracked (0).
	sqlStep(`ALTER TABLE {p}users ADD COLUMN lists_untracked TINYINT(1) NOT NULL DEFAULT 1`),
	sqlStep(`ALTER TABLE {p}users ALTER COLUMN lists_untracked SET DEFAULT 0`),
	// 26, 27: the number of users that are not deleted, kept in the write's own transaction (counts.go),
	// so that an unfiltered list's totalResults is a read of 16 rows rather than a COUNT over every
	// user. 16 shards (by the first hex digit of the user's id) so that concurrent creates and deletes
	// rarely wait on one another's row. changes counts every create and delete, so a reader can tell
	// whether the list's order of older users can have moved. Shard 0 starts with the users that exist;
	// IGNORE: a run that filled the rows but crashed before recording the step finds them kept since.
	sqlStep(`CREATE TABLE {p}user_counts (
		shard   TINYINT UNSIGNED NOT NULL,
		live    BIGINT           NOT NULL,
		changes BIGINT           NOT NULL,
		PRIMARY KEY (shard)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	sqlStep(`INSERT IGNORE INTO {p}user_counts (shard, live, changes)
		SELECT s.n, IF(s.n = 0, (SELECT COUNT(*) FROM {p}users WHERE deleted_at IS NULL), 0), 0 FROM (` + countShards + `) s`),
	// 28: roles assigned on a user itself (SCIM "roles": Okta's entitlements, Entra's app roles), by
	// role name, combined with the roles its groups grant ([roles] direct). No foreign key (see 20, 21):
	// ForgetUser deletes a hard-deleted user's rows and MoveUser moves a revived tombstone's to its new id.
	// IF NOT EXISTS: tests run the migrations before it again.
	sqlStep(`CREATE TABLE IF NOT EXISTS {p}role_direct (
		user_id CHAR(36)     NOT NULL,
		role    VARCHAR(191) NOT NULL,
		PRIMARY KEY (user_id, role)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 29: go-live's state (internal/app/golive.go), one row: shadow mode started (status "shadow"), its
	// state is being applied to the app's tables ("applying", with the phase and the last id done, so a
	// go-live killed half-way resumes after the last batch it committed) or it was ("live"). IF NOT EXISTS:
	// a test runs the steps after 18 again.
	sqlStep(`CREATE TABLE IF NOT EXISTS {p}golive (
		id          TINYINT      NOT NULL,
		status      VARCHAR(16)  NOT NULL,
		phase       VARCHAR(16)  NOT NULL DEFAULT '',
		cursor_id   VARCHAR(64)  NOT NULL DEFAULT '',
		done        INT          NOT NULL DEFAULT 0,
		started     DATETIME(6)  NOT NULL,
		updated     DATETIME(6)  NOT NULL,
		PRIMARY KEY (id)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 30-34 can run again (IF NOT EXISTS, INSERT IGNORE): a crash between a step and its record repeats
	// it, and a test re-running migration 18 re-runs those after it.
	// 30, 31: the deactivation circuit breaker (adapters/mysql/breaker). breaker is its one row, locked and
	// written (n) by every deactivation so that replicas count together, on a cluster's nodes too:
	// closed or tripped, since when and why.
	sqlStep(`CREATE TABLE IF NOT EXISTS {p}breaker (
		id         TINYINT      NOT NULL,
		state      VARCHAR(16)  NOT NULL,
		tripped_at DATETIME(6)  NULL,
		reason     VARCHAR(255) NOT NULL DEFAULT '',
		changed_at DATETIME(6)  NULL,
		changed_by VARCHAR(100) NOT NULL DEFAULT '',
		n          BIGINT       NOT NULL DEFAULT 0,
		PRIMARY KEY (id)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	sqlStep(`INSERT IGNORE INTO {p}breaker (id, state) VALUES (1, 'closed')`),
	// 32: breaker_counts: one row per deactivation let through, while it is within the window.
	sqlStep(`CREATE TABLE IF NOT EXISTS {p}breaker_counts (
		seq     BIGINT      NOT NULL AUTO_INCREMENT,
		user_id CHAR(36)    NOT NULL,
		at      DATETIME(6) NOT NULL,
		PRIMARY KEY (seq),
		KEY at (at)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 33: breaker_held: the deactivations held since the trip, one per user, and what an admin decided
	// (release or reject) for their next retry.
	sqlStep(`CREATE TABLE IF NOT EXISTS {p}breaker_held (
		user_id    CHAR(36)     NOT NULL,
		user_name  VARCHAR(255) NOT NULL,
		operation  VARCHAR(16)  NOT NULL,
		first_held DATETIME(6)  NOT NULL,
		last_held  DATETIME(6)  NOT NULL,
		attempts   INT          NOT NULL,
		decision   VARCHAR(16)  NULL,
		decided_at DATETIME(6)  NULL,
		PRIMARY KEY (user_id)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 34: user_written: per user, the managed columns of its app row as scimbridge's last write left them
	// (adapters/mysql/written.go), which `scimbridge drift` compares the row with.
	sqlStep(`CREATE TABLE IF NOT EXISTS {p}user_written (
		user_id CHAR(36)    NOT NULL,
		cols    JSON        NOT NULL,
		at      DATETIME(6) NOT NULL,
		PRIMARY KEY (user_id)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
	// 35: the audit rows of one request, for the admin console's link from a request to what it wrote. Added
	// only when missing, so that a test may run the migrations after 18 again.
	{run: auditRequestIndex},
	// 36, 37: in_groups says a user may be in a group: set when it becomes a member (adapters/mysql
	// changeMembers, in that transaction), never cleared but by Reindex. Reads of users ask the
	// membership query only for those users. The UPDATE can run again: it sets what is already set.
	sqlStep(`ALTER TABLE {p}users ADD COLUMN in_groups TINYINT(1) NOT NULL DEFAULT 0`),
	sqlStep(`UPDATE {p}users b JOIN (SELECT DISTINCT user_id FROM {p}group_members) m ON m.user_id = b.id SET b.in_groups = 1`),
	// 38, 39: has_direct says a user may have roles assigned directly (role_direct), as in_groups does for
	// groups: set by the write that assigns one (adapters/mysql writeDirect), cleared by Reindex only.
	sqlStep(`ALTER TABLE {p}users ADD COLUMN has_direct TINYINT(1) NOT NULL DEFAULT 0`),
	sqlStep(`UPDATE {p}users b JOIN (SELECT DISTINCT user_id FROM {p}role_direct) d ON d.user_id = b.id SET b.has_direct = 1`),
}

func auditRequestIndex(ctx context.Context, conn *sqlx.Conn, prefix string) error {
	table := MySQL.Quote(prefix + "audit")
	var n int
	if err := conn.GetContext(ctx, &n, "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE()"+
		" AND table_name = ? AND index_name = 'request_id'", prefix+"audit"); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, err := conn.ExecContext(ctx, "ALTER TABLE "+table+" ADD KEY request_id (request_id, id)")
	return err
}

// refoldUserNames sets every user's user_name_lc to scim.FoldIdentity(user_name). It can run again after
// a crash: rows already right are left alone.
func refoldUserNames(ctx context.Context, conn *sqlx.Conn, prefix string) error {
	table := MySQL.Quote(prefix + "users")
	var rows []struct {
		ID       string `db:"id"`
		UserName string `db:"user_name"`
		Key      string `db:"user_name_lc"`
	}
	if err := conn.SelectContext(ctx, &rows, "SELECT id, user_name, user_name_lc FROM "+table); err != nil {
		return err
	}
	for _, r := range rows {
		if key := scim.FoldIdentity(r.UserName); key != r.Key {
			if _, err := conn.ExecContext(ctx, "UPDATE "+table+" SET user_name_lc = ? WHERE id = ?", key, r.ID); err != nil {
				return fmt.Errorf("user %s (%q): %w", r.ID, r.UserName, err)
			}
		}
	}
	return nil
}
