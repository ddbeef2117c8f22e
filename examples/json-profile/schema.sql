-- "Tracker": a project tracker that keeps a user's profile in one JSON document column. scimbridge maps it
-- with examples/json-profile/scimbridge.toml and writes only the members it maps; the app's own members
-- (preferences, onboarding) stay as they are.
-- Each statement ends with a semicolon at the end of a line.

CREATE TABLE IF NOT EXISTS accounts (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT,
  username    VARCHAR(191) NOT NULL,
  email       VARCHAR(191) NULL,
  enabled     TINYINT(1) NOT NULL DEFAULT 1,
  profile     JSON NULL,
  created_at  DATETIME NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
