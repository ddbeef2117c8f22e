package invariants

import (
	"fmt"
	"strings"

	"github.com/scimbridge/scimbridge/internal/legacyapp"
)

// Harness constants shared by the single-server test and the cluster test (cluster/): the token, the
// webhook secret, and a configuration of the legacy app with roles and one webhook endpoint.
const (
	Token      = "invariants-bearer-token-0123456789"
	HookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	HookName   = "app"
	BasePath   = "/scim/v2"
)

// ConfigTOML is scimbridge's configuration for the legacy app (legacyapp.UsersTable with
// legacyapp.RoleColumn): its users, a role column by legacyapp.RoleRules, and every event sent to
// hookURL. The token, the DSN and the webhook secret come from SCIMBRIDGE_TOKEN, SCIMBRIDGE_DSN and
// HOOK_SECRET.
func ConfigTOML(hookURL string) string {
	users := strings.Replace(legacyapp.UsersTOML, "\n[columns]\n", "\n[users.columns]\n", 1)
	roles := strings.ReplaceAll(legacyapp.ColumnRolesTOML, "[[rules]]", "[[roles.rules]]")
	return fmt.Sprintf(`[server]
listen = "127.0.0.1:0"
base_path = %q
[auth]
tokens_env = ["SCIMBRIDGE_TOKEN"]
[database]
dsn_env = "SCIMBRIDGE_DSN"
[users]%s
[roles]%s
[[webhooks]]
name = %q
url = %q
events = ["*"]
secret_env = "HOOK_SECRET"
timeout = "5s"
`, BasePath, users, roles, HookName, hookURL)
}

// Env is the environment ConfigTOML reads, for the database at dsn.
func Env(dsn string) func(string) string {
	vars := map[string]string{"SCIMBRIDGE_TOKEN": Token, "SCIMBRIDGE_DSN": dsn, "HOOK_SECRET": HookSecret}
	return func(k string) string { return vars[k] }
}
