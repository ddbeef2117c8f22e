-- Mattermost's Users table as its MySQL migrations leave it (mattermost/mattermost,
-- server/channels/db/migrations/mysql: 000046_create_users and the v6.0 upgrade turning Props,
-- NotifyProps and Timezone into JSON). Ids are 26 characters of Mattermost's base32 alphabet (NewId);
-- Roles is space-separated ("system_user system_admin"); DeleteAt is 0 for an active account and the
-- epoch milliseconds of its deactivation otherwise. scimbridge maps it with
-- examples/mattermost/scimbridge.toml.
-- Each statement ends with a semicolon at the end of a line.
CREATE TABLE IF NOT EXISTS Users (
    Id varchar(26) NOT NULL,
    CreateAt bigint(20) DEFAULT NULL,
    UpdateAt bigint(20) DEFAULT NULL,
    DeleteAt bigint(20) DEFAULT NULL,
    Username varchar(64) DEFAULT NULL,
    Password varchar(128) DEFAULT NULL,
    AuthData varchar(128) DEFAULT NULL,
    AuthService varchar(32) DEFAULT NULL,
    Email varchar(128) DEFAULT NULL,
    EmailVerified tinyint(1),
    Nickname varchar(64) DEFAULT NULL,
    FirstName varchar(64) DEFAULT NULL,
    LastName varchar(64) DEFAULT NULL,
    Roles varchar(256) DEFAULT NULL,
    AllowMarketing tinyint(1),
    Props json DEFAULT NULL,
    NotifyProps json DEFAULT NULL,
    LastPasswordUpdate bigint(20) DEFAULT NULL,
    LastPictureUpdate bigint(20) DEFAULT NULL,
    FailedAttempts integer,
    Locale varchar(5) DEFAULT NULL,
    MfaActive tinyint(1),
    MfaSecret varchar(128) DEFAULT NULL,
    Position varchar(128) DEFAULT NULL,
    Timezone json DEFAULT NULL,
    RemoteId varchar(26) DEFAULT NULL,
    PRIMARY KEY (Id),
    UNIQUE KEY Username (Username),
    UNIQUE KEY AuthData (AuthData),
    UNIQUE KEY Email (Email),
    KEY idx_users_update_at (UpdateAt),
    KEY idx_users_create_at (CreateAt),
    KEY idx_users_delete_at (DeleteAt)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
