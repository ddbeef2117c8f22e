package config

import (
	"strings"
	"testing"
	"time"
)

func TestAuditSection(t *testing.T) {
	cfg, err := Parse([]byte(minimal), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Audit.Retention.Duration != 400*24*time.Hour || cfg.Audit.Redact != nil {
		t.Errorf("defaults: %+v", cfg.Audit)
	}
	cfg, err = Parse([]byte(minimal+"\n[audit]\nretention = \"30d\"\nredact = [\"ssn\"]\n"), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Audit.Retention.Duration != 30*24*time.Hour || len(cfg.Audit.Redact) != 1 {
		t.Errorf("set: %+v", cfg.Audit)
	}
	for _, bad := range []string{`"-1h"`, `"30 days"`, `"d"`} {
		_, err := Parse([]byte(minimal+"\n[audit]\nretention = "+bad+"\n"), "config.toml")
		if err == nil || !strings.Contains(err.Error(), "retention") && !strings.Contains(err.Error(), "400d") {
			t.Errorf("retention = %s: %v", bad, err)
		}
	}
}
