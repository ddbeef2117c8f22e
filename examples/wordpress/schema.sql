-- WordPress's own user tables, as wp-admin/includes/schema.php (WordPress/WordPress) creates them for a
-- single site: wp_users, and wp_usermeta holding the profile and the roles. Roles live in the meta row
-- wp_capabilities as a PHP-serialized map, e.g. a:1:{s:13:"administrator";b:1;}, which WordPress reads
-- with maybe_unserialize(); wp_user_level is the deprecated numeric level next to it. scimbridge maps them
-- with examples/wordpress/scimbridge.toml.
-- WordPress's login and email columns have no unique index: WordPress itself checks username_exists()
-- and email_exists(), and scimbridge serialises creates per login itself.
-- Each statement ends with a semicolon at the end of a line.
CREATE TABLE IF NOT EXISTS wp_users (
  ID bigint(20) unsigned NOT NULL auto_increment,
  user_login varchar(60) NOT NULL default '',
  user_pass varchar(255) NOT NULL default '',
  user_nicename varchar(50) NOT NULL default '',
  user_email varchar(100) NOT NULL default '',
  user_url varchar(100) NOT NULL default '',
  user_registered datetime NOT NULL default '0000-00-00 00:00:00',
  user_activation_key varchar(255) NOT NULL default '',
  user_status int(11) NOT NULL default '0',
  display_name varchar(250) NOT NULL default '',
  PRIMARY KEY  (ID),
  KEY user_login_key (user_login),
  KEY user_nicename (user_nicename),
  KEY user_email (user_email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE IF NOT EXISTS wp_usermeta (
  umeta_id bigint(20) unsigned NOT NULL auto_increment,
  user_id bigint(20) unsigned NOT NULL default '0',
  meta_key varchar(255) default NULL,
  meta_value longtext,
  PRIMARY KEY  (umeta_id),
  KEY user_id (user_id),
  KEY meta_key (meta_key(191))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
