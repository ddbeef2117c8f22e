package mapping_test

import (
	"github.com/BurntSushi/toml"
	"github.com/scimbridge/scimbridge/mapping"
	"strings"
	"testing"
)

func TestLoginTransforms(t *testing.T) {
	m := compileTOML(t, `
table = "users"
on_delete = "delete"
[columns]
mail = "userName"
login = { from = "userName", transform = "email_local, lower, slug", allowed = "a-z0-9._", max_length = 12 }
nick = { from = "userName", transform = "email_local" }
`)
	for in, want := range map[string][2]string{
		"Ann.Lee@example.com":            {"ann.lee", "Ann.Lee"},
		"O'Brien+tag@example.com":        {"obrientag", "O'Brien+tag"},
		"Jean-Émile.Very.Long@x.example": {"jeanmile.ver", "Jean-Émile.Very.Long"},
		"no-at-sign":                     {"noatsign", "no-at-sign"},
	} {
		cols, err := m.InsertColumns(res(t, `{"userName":"`+in+`"}`), testEnv)
		if err != nil {
			t.Fatal(err)
		}
		if cols["login"] != want[0] || cols["nick"] != want[1] || cols["mail"] != in {
			t.Errorf("%s: login %q nick %q mail %q, want %q %q", in, cols["login"], cols["nick"], cols["mail"], want[0], want[1])
		}
	}
	// The lossy columns are never read back: userName comes from mail.
	if c := m.Column("userName"); c == nil || c.Name != "mail" {
		t.Errorf("userName is read from %v", c)
	}
	for _, bad := range []string{
		`login = { from = "userName", transform = "email_local, shout" }`,
		`login = { from = "userName", allowed = "a-z" }`,
		`login = { from = "active", transform = "slug" }`,
	} {
		_, err := compileErr(`table = "users"
on_delete = "delete"
[columns]
mail = "userName"
` + bad)
		if err == nil || !strings.Contains(err.Error(), "login") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func compileErr(src string) (*mapping.Users, error) {
	var cfg mapping.UsersConfig
	if _, err := toml.Decode(src, &cfg); err != nil {
		return nil, err
	}
	return mapping.Compile(cfg)
}
