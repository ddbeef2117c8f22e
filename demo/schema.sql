-- The database of "Legacy App", a PHP-era intranet application that keeps its own user accounts.
-- scimbridge's config.example.toml maps this schema. MySQL 5.7+ or MariaDB 10.3+, InnoDB, utf8mb4.
--
-- The script can be run more than once: tables are created only when missing and seed rows are
-- inserted with INSERT IGNORE. Each statement ends with a semicolon at the end of a line, so a
-- simple line-based splitter can run it statement by statement.

-- The application's accounts. The app itself writes every row it creates: it hashes passwords,
-- fills email_lower for its case-insensitive login, and sets created_at (no column default for it).
-- status: 1 = active, 2 = pending (invited, never logged in), 3 = suspended.
-- source: who created the account ("signup", "admin", "import", ...).
CREATE TABLE IF NOT EXISTS users (
  id            INT UNSIGNED NOT NULL AUTO_INCREMENT,
  email         VARCHAR(190) NOT NULL,
  email_lower   VARCHAR(190) DEFAULT NULL,
  first_name    VARCHAR(100) DEFAULT NULL,
  last_name     VARCHAR(100) DEFAULT NULL,
  display_name  VARCHAR(200) DEFAULT NULL,
  job_title     VARCHAR(120) NULL DEFAULT NULL,
  phone         VARCHAR(40) NULL DEFAULT NULL,
  locale        VARCHAR(16) NULL DEFAULT NULL,
  employee_no   VARCHAR(40) NULL DEFAULT NULL,
  department    VARCHAR(120) NULL DEFAULT NULL,
  status        TINYINT NOT NULL DEFAULT 1,
  password_hash VARCHAR(255) NOT NULL,
  source        VARCHAR(20) NOT NULL,
  created_at    DATETIME NOT NULL,
  updated_at    DATETIME NULL DEFAULT NULL,
  last_login_at DATETIME NULL DEFAULT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_users_email (email),
  KEY idx_users_email_lower (email_lower),
  KEY idx_users_status (status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The application's roles, managed by hand in its admin screens.
CREATE TABLE IF NOT EXISTS roles (
  id   INT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_roles_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS user_roles (
  user_id INT UNSIGNED NOT NULL,
  role_id INT UNSIGNED NOT NULL,
  PRIMARY KEY (user_id, role_id),
  KEY idx_user_roles_role (role_id),
  CONSTRAINT fk_user_roles_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT fk_user_roles_role FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO roles (name) VALUES ('admin'), ('support'), ('tester'), ('viewer');

-- Two accounts that existed long before single sign-on. When the IdP first provisions
-- alice@example.com, scimbridge adopts this row (users.on_existing = "adopt") instead of
-- creating a duplicate. Bob has left the company: his account is suspended.
INSERT IGNORE INTO users
  (email, email_lower, first_name, last_name, display_name, job_title, phone, locale,
   employee_no, department, status, password_hash, source, created_at, updated_at, last_login_at)
VALUES
  ('alice@example.com', 'alice@example.com', 'Alice', 'Anderson', 'Alice Anderson', 'Support Lead',
   '+1 555 0100', 'en_US', 'E1001', 'Customer Support', 1,
   '$2y$10$Q9wqH1w3a1C1n5z3m2Yt9eJ3d8o3k2M2YtW1pQe7sH0bK9uV6xG2a', 'signup',
   '2014-03-12 09:15:00', '2021-11-02 16:40:12', '2024-05-06 08:01:44'),
  ('bob@example.com', 'bob@example.com', 'Bob', 'Brown', 'Bob Brown', NULL,
   NULL, 'en_GB', NULL, 'Engineering', 3,
   '$2y$10$Zk3t7Rr1c8Vb2NnQ5x9LuOa4eT6yW0mS1dF3gH5jK7lP9qR2sT4uv', 'admin',
   '2016-07-01 12:00:00', '2023-01-31 18:05:00', '2022-12-20 10:12:09');

INSERT IGNORE INTO user_roles (user_id, role_id)
  SELECT u.id, r.id FROM users u JOIN roles r ON r.name = 'support' WHERE u.email = 'alice@example.com';

INSERT IGNORE INTO user_roles (user_id, role_id)
  SELECT u.id, r.id FROM users u JOIN roles r ON r.name = 'viewer' WHERE u.email = 'bob@example.com';
