-- Redmine's principals as its migrations leave them on MySQL (redmine/redmine, db/migrate: 001_setup,
-- 080_add_users_type, 20090704172355_create_groups_users, 20120205111326_change_users_login_limit,
-- 20130215073721_change_users_lastname_length_to_255, 20150113194759_create_email_addresses,
-- 20150113213922_remove_users_mail, 20200826153401/2 (two-factor), 20210704125704, 20211213122100,
-- 20260319170822_add_index_to_users_login). One table, users, holds every principal by Rails' single
-- table inheritance: type 'User' (people), 'Group' (groups, the name in lastname), 'GroupAnonymous' and
-- 'GroupNonMember' (built-in groups) and 'AnonymousUser'. status: 1 active, 2 registered (awaiting
-- activation), 3 locked. A user's addresses are in email_addresses, the one Redmine mails being
-- is_default = 1; group membership is groups_users. Neither users.login nor email_addresses.address has
-- a unique index: Redmine's validations (case-insensitive) keep them unique. scimbridge maps it with
-- examples/redmine/scimbridge.toml.
-- Each statement ends with a semicolon at the end of a line.
CREATE TABLE IF NOT EXISTS users (
    id INT(11) NOT NULL AUTO_INCREMENT,
    login VARCHAR(255) NOT NULL DEFAULT '',
    hashed_password VARCHAR(40) NOT NULL DEFAULT '',
    firstname VARCHAR(30) NOT NULL DEFAULT '',
    lastname VARCHAR(255) NOT NULL DEFAULT '',
    admin TINYINT(1) NOT NULL DEFAULT 0,
    status INT(11) NOT NULL DEFAULT 1,
    last_login_on DATETIME NULL,
    language VARCHAR(5) NULL DEFAULT '',
    auth_source_id INT(11) NULL,
    created_on TIMESTAMP NULL,
    updated_on TIMESTAMP NULL,
    type VARCHAR(255) NULL,
    mail_notification VARCHAR(255) NOT NULL DEFAULT '',
    salt VARCHAR(64) NULL,
    must_change_passwd TINYINT(1) NOT NULL DEFAULT 0,
    passwd_changed_on DATETIME NULL,
    twofa_scheme VARCHAR(255) NULL,
    twofa_totp_key VARCHAR(255) NULL,
    twofa_totp_last_used_at INT(11) NULL,
    twofa_required TINYINT(1) NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY index_users_on_id_and_type (id, type),
    KEY index_users_on_auth_source_id (auth_source_id),
    KEY index_users_on_type (type),
    KEY index_users_on_login (login)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE IF NOT EXISTS email_addresses (
    id INT(11) NOT NULL AUTO_INCREMENT,
    user_id INT(11) NOT NULL,
    address VARCHAR(255) NOT NULL,
    is_default TINYINT(1) NOT NULL DEFAULT 0,
    notify TINYINT(1) NOT NULL DEFAULT 1,
    created_on DATETIME NOT NULL,
    updated_on DATETIME NOT NULL,
    PRIMARY KEY (id),
    KEY index_email_addresses_on_user_id (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE IF NOT EXISTS groups_users (
    group_id INT(11) NOT NULL,
    user_id INT(11) NOT NULL,
    UNIQUE KEY groups_users_ids (group_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
-- Project roles: a member row per (user or group, project), its roles in member_roles. scimbridge does
-- not write these (see the README: what TOML cannot say).
CREATE TABLE IF NOT EXISTS members (
    id INT(11) NOT NULL AUTO_INCREMENT,
    user_id INT(11) NOT NULL DEFAULT 0,
    project_id INT(11) NOT NULL DEFAULT 0,
    created_on TIMESTAMP NULL,
    mail_notification TINYINT(1) NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY index_members_on_user_id_and_project_id (user_id, project_id),
    KEY index_members_on_user_id (user_id),
    KEY index_members_on_project_id (project_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE IF NOT EXISTS member_roles (
    id INT(11) NOT NULL AUTO_INCREMENT,
    member_id INT(11) NOT NULL,
    role_id INT(11) NOT NULL,
    inherited_from INT(11) NULL,
    PRIMARY KEY (id),
    KEY index_member_roles_on_member_id (member_id),
    KEY index_member_roles_on_role_id (role_id),
    KEY index_member_roles_on_inherited_from (inherited_from)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
-- What Redmine's setup leaves: the admin account (001_setup: login admin, admin = 1, whose address
-- 20150113211532_populate_email_addresses moved here) and the built-in groups (20140920094058).
INSERT INTO users (id, login, hashed_password, firstname, lastname, admin, status, language, created_on, updated_on, type, mail_notification, salt)
    VALUES (1, 'admin', 'ea1d0c4b1a4b3f5e3c5b5e0c3d2a1f0e9d8c7b6a', 'Redmine', 'Admin', 1, 1, 'en', '2006-07-19 19:12:21', '2006-07-19 19:12:21', 'User', 'all', 'a1b2c3'),
    (2, '', '', '', 'Anonymous users', 0, 1, '', '2014-09-20 09:40:58', '2014-09-20 09:40:58', 'GroupAnonymous', '', NULL),
    (3, '', '', '', 'Non member users', 0, 1, '', '2014-09-20 09:40:58', '2014-09-20 09:40:58', 'GroupNonMember', '', NULL);
INSERT INTO email_addresses (user_id, address, is_default, notify, created_on, updated_on)
    VALUES (1, 'admin@example.net', 1, 1, '2006-07-19 19:12:21', '2006-07-19 19:12:21');
