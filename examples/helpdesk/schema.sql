-- "Helpdesk": a ticketing app whose accounts spread over several tables. scimbridge maps it with
-- examples/helpdesk/scimbridge.toml: emails and phone numbers in their own tables (one row per address),
-- the HR profile in a one-to-one table, and app roles as boolean flag columns.
-- Each statement ends with a semicolon at the end of a line.

-- status: 1 = active, 3 = suspended.
CREATE TABLE IF NOT EXISTS users (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT,
  login       VARCHAR(191) NOT NULL,
  first_name  VARCHAR(100) NULL,
  last_name   VARCHAR(100) NULL,
  status      TINYINT NOT NULL DEFAULT 1,
  is_admin    TINYINT(1) NOT NULL DEFAULT 0,
  is_agent    TINYINT(1) NOT NULL DEFAULT 0,
  created_at  DATETIME NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY login (login)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every address a user has. kind: W = work, H = home, O = other. verified_at is the app's own: the app
-- sets it when the user clicks a confirmation link, and scimbridge never writes it.
CREATE TABLE IF NOT EXISTS user_emails (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT,
  user_id     INT UNSIGNED NOT NULL,
  address     VARCHAR(191) NOT NULL,
  kind        CHAR(1) NOT NULL DEFAULT 'W',
  is_default  TINYINT(1) NOT NULL DEFAULT 0,
  verified_at DATETIME NULL,
  PRIMARY KEY (id),
  KEY address (address),
  KEY user_id (user_id),
  CONSTRAINT user_emails_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS user_phones (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT,
  user_id     INT UNSIGNED NOT NULL,
  number      VARCHAR(40) NOT NULL,
  kind        VARCHAR(10) NULL,
  PRIMARY KEY (id),
  KEY user_id (user_id),
  CONSTRAINT user_phones_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- At most one row per user, created by whoever first has something to put in it. desk_note is the app's.
CREATE TABLE IF NOT EXISTS user_profiles (
  user_id     INT UNSIGNED NOT NULL,
  department  VARCHAR(120) NULL,
  title       VARCHAR(120) NULL,
  cost_center VARCHAR(40) NULL,
  employee_no VARCHAR(40) NULL,
  desk_note   TEXT NULL,
  PRIMARY KEY (user_id),
  KEY department (department),
  CONSTRAINT user_profiles_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
