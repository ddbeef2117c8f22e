package config

import (
	"strconv"
	"strings"
	"time"
)

// DefaultAuditRetention is how long audit rows are kept unless [audit] retention says otherwise.
const DefaultAuditRetention = 400 * 24 * time.Hour

// Audit is the [audit] section: the audit trail every change writes (adapters/mysql/audit).
type Audit struct {
	// Retention is how long rows are kept; serve prunes older ones. 0 keeps them for ever.
	Retention Duration `toml:"retention"`
	// Redact names app columns whose values are recorded as "[redacted]", besides those whose names look
	// like secrets (password, hash, token, ...), which always are.
	Redact []string `toml:"redact"`
}

// parseDuration is time.ParseDuration, and also "N d" for N whole days, which retention periods need.
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	return time.ParseDuration(s)
}
