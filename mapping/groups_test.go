package mapping_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/mapping"
)

func compileGroups(t *testing.T, text string) (*mapping.Groups, error) {
	t.Helper()
	var cfg mapping.GroupsConfig
	if _, err := toml.Decode(text, &cfg); err != nil {
		t.Fatal(err)
	}
	return mapping.CompileGroups(&cfg)
}

func TestCompileGroupsMirror(t *testing.T) {
	g, err := compileGroups(t, `
[mirror]
table = "teams"
name = "name"
members_table = "team_members"
member_group = "team_id"
member_user = "user_id"
`)
	if err != nil {
		t.Fatal(err)
	}
	want := &mapping.GroupMirror{Table: "teams", Key: "id", KeyGen: "auto_increment", Name: "name",
		MembersTable: "team_members", MemberGroup: "team_id", MemberUser: "user_id"}
	if !reflect.DeepEqual(g.MirrorMapping(), want) {
		t.Errorf("mirror = %+v, want %+v", g.MirrorMapping(), want)
	}

	g, err = compileGroups(t, `
[mirror]
table = "grp"
key = "uid"
key_generation = "uuid"
name = "label"
external_id = "ext"
members_table = "grp_users"
member_group = "grp_uid"
member_user = "usr"
`)
	if err != nil {
		t.Fatal(err)
	}
	if m := g.MirrorMapping(); m.Key != "uid" || m.KeyGen != "uuid" || m.ExternalID != "ext" {
		t.Errorf("mirror = %+v", m)
	}
}

func TestCompileGroupsNone(t *testing.T) {
	g, err := mapping.CompileGroups(nil)
	if g != nil || err != nil {
		t.Errorf("nil config: %v, %v", g, err)
	}
	if g.MirrorMapping() != nil {
		t.Error("a nil Groups has a mirror")
	}
	g, err = compileGroups(t, "")
	if err != nil || g == nil || g.MirrorMapping() != nil {
		t.Errorf("[groups] without a mirror: %+v, %v", g, err)
	}
}

func TestCompileGroupsMirrorErrors(t *testing.T) {
	const base = `
[mirror]
table = "teams"
name = "name"
members_table = "team_members"
member_group = "team_id"
member_user = "user_id"
`
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"everything missing", "[mirror]\n", []string{
			"groups.mirror.table is required", "groups.mirror.name is required", "groups.mirror.members_table is required",
			"groups.mirror.member_group is required", "groups.mirror.member_user is required"}},
		{"key generation", strings.Replace(base, "[mirror]", "[mirror]\nkey_generation = \"random\"", 1),
			[]string{`groups.mirror.key_generation must be "auto_increment" or "uuid", got "random"`}},
		{"name is the key", strings.Replace(base, `name = "name"`, `name = "ID"`, 1),
			[]string{`groups.mirror.name: column "ID" of table is already groups.mirror.key`}},
		{"external id is the name", strings.Replace(base, `name = "name"`, "name = \"name\"\nexternal_id = \"name\"", 1),
			[]string{`groups.mirror.external_id: column "name" of table is already groups.mirror.name`}},
		{"member columns", strings.Replace(base, `member_user = "user_id"`, `member_user = "team_id"`, 1),
			[]string{`groups.mirror.member_user: column "team_id" of members_table is already groups.mirror.member_group`}},
		{"one table", strings.Replace(base, `members_table = "team_members"`, `members_table = "Teams"`, 1),
			[]string{`groups.mirror.members_table: "Teams" is also groups.mirror.table`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := compileGroups(t, tt.text)
			if err == nil {
				t.Fatalf("compiled: %+v", g.MirrorMapping())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// The [groups.mirror] config.example.toml shows in comments parses, and mistakes in it name their key.
func TestExampleGroupMirror(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	start := -1
	for i, l := range lines {
		if l == "# [groups.mirror]" {
			start = i
		}
	}
	if start < 0 {
		t.Fatal("config.example.toml has no commented [groups.mirror]")
	}
	for i := start; i < len(lines) && strings.HasPrefix(lines[i], "# "); i++ {
		lines[i] = strings.TrimPrefix(lines[i], "# ")
	}
	cfg, err := config.Parse([]byte(strings.Join(lines, "\n")), "config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := &mapping.GroupMirror{Table: "teams", Key: "id", KeyGen: "auto_increment", Name: "name", ExternalID: "ext_id",
		MembersTable: "team_members", MemberGroup: "team_id", MemberUser: "user_id"}
	if got := cfg.GroupsMapping().MirrorMapping(); !reflect.DeepEqual(got, want) {
		t.Errorf("example mirror = %+v, want %+v", got, want)
	}
	// A mistake in it is reported by key.
	text := strings.Replace(strings.Join(lines, "\n"), "[groups.mirror]\n", "[groups.mirror]\nkey_generation = \"serial\"\n", 1)
	_, err = config.Parse([]byte(text), "config.example.toml")
	if err == nil || !strings.Contains(err.Error(), "groups.mirror.key_generation must be") {
		t.Fatalf("bad key_generation: %v", err)
	}
	// So is an unknown key.
	text = strings.Replace(strings.Join(lines, "\n"), `member_user = "user_id"`, `member_users = "user_id"`, 1)
	if _, err = config.Parse([]byte(text), "config.example.toml"); err == nil || !strings.Contains(err.Error(), `"groups.mirror.member_users"`) {
		t.Errorf("unknown key: %v", err)
	}
	// Without the section, there is no mirror.
	cfg, err = config.Parse(data, "config.example.toml")
	if err != nil || cfg.GroupsMapping().MirrorMapping() != nil {
		t.Errorf("the commented example mirrors: %v", err)
	}
}
