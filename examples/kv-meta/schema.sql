-- "Community": a forum whose accounts are keyed by a random string the app never generated itself (so
-- scimbridge makes it), whose profile lives in a key-value table, and whose roles are one comma-separated
-- column. scimbridge maps it with examples/kv-meta/scimbridge.toml.
-- The key-value table is called `keys` and its columns `key` and `value`: reserved words in MySQL and
-- MariaDB, which scimbridge quotes everywhere.
-- Each statement ends with a semicolon at the end of a line.

-- deactivated_at: NULL while the account may sign in. roles: comma-separated, e.g. "member,moderator";
-- "founder" is granted by hand in the app and no IdP group maps to it.
CREATE TABLE IF NOT EXISTS members (
  member_key     CHAR(24) NOT NULL,
  email          VARCHAR(191) NOT NULL,
  display_name   VARCHAR(191) NULL,
  roles          VARCHAR(255) NOT NULL DEFAULT '',
  deactivated_at DATETIME NULL,
  joined_at      DATETIME NOT NULL,
  PRIMARY KEY (member_key),
  UNIQUE KEY email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per (member, key). The app keeps its own keys here too (theme, signature, last_seen).
CREATE TABLE IF NOT EXISTS `keys` (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  member_key  CHAR(24) NOT NULL,
  `key`       VARCHAR(64) NOT NULL,
  `value`     TEXT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY member_key (member_key, `key`),
  KEY key_value (`key`, `value`(64)),
  CONSTRAINT keys_member FOREIGN KEY (member_key) REFERENCES members (member_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
