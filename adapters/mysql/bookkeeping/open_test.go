package bookkeeping

import (
	"strings"
	"testing"
)

// A URL-style or broken DSN is refused with the form the driver expects, never with the password.
func TestOpenNamesTheDSNForm(t *testing.T) {
	for _, dsn := range []string{
		"mysql://app:s3cret-pw@db.example.com/legacy",
		"mariadb://app@db.example.com:3306/legacy",
		"app:s3cret-pw@tcp(db.example.com:3306",
	} {
		_, err := Open(dsn, 1)
		if err == nil {
			t.Fatalf("%s: no error", dsn)
		}
		msg := err.Error()
		if !strings.Contains(msg, "user:pass@tcp(host:3306)/db") || strings.Contains(msg, "s3cret-pw") {
			t.Errorf("%s: %s", dsn, msg)
		}
	}
	db, err := Open("app:pw@tcp(127.0.0.1:3306)/legacy", 1)
	if err != nil {
		t.Fatalf("a good DSN: %v", err)
	}
	db.Close()
}
