package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestNamedTokens(t *testing.T) {
	tests := []struct {
		name    string
		auth    string // [auth] keys, then [[auth.tokens]] tables
		env     map[string]string
		files   map[string]string
		want    []NamedToken
		wantErr []string
	}{
		{
			name: "two IdPs, one rotating through two variables, one from a file",
			auth: "[[auth.tokens]]\nname = \"okta\"\nenv = \"OKTA\"\n[[auth.tokens]]\nname = \"okta\"\nenv = \"OKTA_NEXT\"\n" +
				"[[auth.tokens]]\nname = \"entra\"\nfile = \"/run/entra\"\n",
			env:   map[string]string{"OKTA": tokA, "OKTA_NEXT": tokB, "SCIMBRIDGE_TOKEN": tokD},
			files: map[string]string{"/run/entra": "# entra\n" + tokC + "\n"},
			// SCIMBRIDGE_TOKEN is not read: named tokens replace the default variables unless tokens_env is written.
			want: []NamedToken{{"okta", tokA}, {"okta", tokB}, {"entra", tokC}},
		},
		{
			name: "the flat form beside named tokens when tokens_env is written",
			auth: "tokens_env = [\"SCIMBRIDGE_TOKEN\"]\n[[auth.tokens]]\nname = \"okta\"\nenv = \"OKTA\"\n",
			env:  map[string]string{"OKTA": tokA, "SCIMBRIDGE_TOKEN": tokB},
			want: []NamedToken{{"default", tokB}, {"okta", tokA}},
		},
		{
			name: "the old flat form is named default",
			env:  map[string]string{"SCIMBRIDGE_TOKEN": tokA, "SCIMBRIDGE_TOKEN_NEXT": tokB},
			want: []NamedToken{{"default", tokA}, {"default", tokB}},
		},
		{
			name: "a rotation variable not set yet is fine while its name has a token",
			auth: "[[auth.tokens]]\nname = \"okta\"\nenv = \"OKTA\"\n[[auth.tokens]]\nname = \"okta\"\nenv = \"OKTA_NEXT\"\n",
			env:  map[string]string{"OKTA": tokA},
			want: []NamedToken{{"okta", tokA}},
		},
		{
			name:    "a name with no token at all",
			auth:    "[[auth.tokens]]\nname = \"okta\"\nenv = \"OKTA\"\n[[auth.tokens]]\nname = \"entra\"\nenv = \"ENTRA\"\n",
			env:     map[string]string{"OKTA": tokA},
			wantErr: []string{"no token for entra: the environment variable ENTRA is empty or not set"},
		},
		{
			name:    "one token under two names",
			auth:    "[[auth.tokens]]\nname = \"okta\"\nenv = \"OKTA\"\n[[auth.tokens]]\nname = \"entra\"\nenv = \"ENTRA\"\n",
			env:     map[string]string{"OKTA": tokA, "ENTRA": tokA},
			wantErr: []string{`$ENTRA (auth.tokens "entra") (name "entra") is also the token from $OKTA (auth.tokens "okta") (name "okta")`},
		},
		{
			name:    "too short, named",
			auth:    "[[auth.tokens]]\nname = \"okta\"\nenv = \"OKTA\"\n",
			env:     map[string]string{"OKTA": "short"},
			wantErr: []string{`$OKTA (auth.tokens "okta") is 5 characters long`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(minimal+"\n[auth]\n"+tt.auth), "config.toml")
			if err != nil {
				t.Fatal(err)
			}
			getenv, readFile := fakeEnv(tt.env, tt.files)
			got, err := cfg.NamedTokens(getenv, readFile)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; tokens %q", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				for _, tok := range []string{tokA, tokB, tokC, tokD, "short"} {
					if strings.Contains(err.Error(), tok) {
						t.Errorf("error %q reveals a token", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tokens = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNamedTokensConfigErrors(t *testing.T) {
	src := minimal + `
[auth]
[[auth.tokens]]
env = "OKTA"

[[auth.tokens]]
name = "bad name!"
env = "X"

[[auth.tokens]]
name = "both"
env = "A"
file = "/b"

[[auth.tokens]]
name = "neither"

[[auth.tokens]]
name = "literal"
token = "a-token-in-the-file-0123456789"

[[auth.tokens]]
name = "varname"
env = "a-token-in-the-env-key"
`
	_, err := Parse([]byte(src), "config.toml")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`config.toml:10: auth.tokens[0] has no name: give each token source a name`,
		`config.toml:13: auth.tokens[1].name must be 1 to 64 letters`,
		`config.toml:17: auth.tokens[2] (both) has both env and file`,
		`config.toml:22: auth.tokens[3] (neither) needs env = "VARIABLE" or file`,
		`config.toml:25: auth.tokens[4]: unknown key "token"`,
		`config.toml:29: auth.tokens[5].env is not an environment variable name`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	for _, secret := range []string{"a-token-in-the-file-0123456789", "a-token-in-the-env-key"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error reveals %q:\n%s", secret, msg)
		}
	}
}

func TestTokensLiteralWarning(t *testing.T) {
	cfg, err := Parse([]byte(minimal+"\n[auth]\n[[auth.tokens]]\nname = \"okta\"\nenv = \"OKTA\"\n"), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("named tokens from env warn: %q", w)
	}
	cfg, err = Parse([]byte("[auth]\ntokens = [\""+tokA+"\"]\n"+minimal), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Warnings(); len(w) != 1 || !strings.Contains(w[0], "[[auth.tokens]]") {
		t.Errorf("literal token warnings: %q", w)
	}
}

func TestMetricsListen(t *testing.T) {
	cfg, err := Parse([]byte(minimal), "config.toml")
	if err != nil || cfg.Metrics.Listen != "" {
		t.Fatalf("default metrics.listen = %q, %v; want off", cfg.Metrics.Listen, err)
	}
	if cfg, err = Parse([]byte(minimal+"\n[metrics]\nlisten = \"127.0.0.1:9464\"\n"), "config.toml"); err != nil || cfg.Metrics.Listen != "127.0.0.1:9464" {
		t.Fatalf("metrics.listen = %v, %v", cfg, err)
	}
	_, err = Parse([]byte(minimal+"\n[metrics]\nlisten = \"9464\"\n"), "config.toml")
	if err == nil || !strings.Contains(err.Error(), `config.toml:10: metrics.listen must be host:port`) {
		t.Fatalf("error = %v", err)
	}
}

// auth.tokens that is neither a list of tokens nor of tables is refused without echoing its value.
func TestTokensOfTheWrongShape(t *testing.T) {
	for _, v := range []string{`"a-single-secret-token-0123"`, `[1, 2]`} {
		_, err := Parse([]byte("[auth]\ntokens = "+v+"\n"+minimal), "config.toml")
		if err == nil || !strings.Contains(err.Error(), "config.toml:2:") || !strings.Contains(err.Error(), "auth.tokens") ||
			strings.Contains(err.Error(), "a-single-secret") {
			t.Errorf("tokens = %s: %v", v, err)
		}
	}
}
