package scim_test

import (
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

const projectDoc = `{
  "schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id":"u1","externalId":"e1","userName":"ann","active":true,
  "name":{"givenName":"Ann","familyName":"Lee"},
  "emails":[{"value":"ann@work.example","type":"work","primary":true},{"value":"ann@home.example","type":"home"}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","employeeNumber":"7","manager":{"value":"boss"}},
  "meta":{"resourceType":"User","version":"W/\"1\""}
}`

// projectKeep is what attributes= always keeps of projectDoc, followed by the given members.
func projectKeep(members string) string {
	s := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"id":"u1","meta":{"resourceType":"User","version":"W/\"1\""}`
	if members != "" {
		s += "," + members
	}
	return s + "}"
}

// projectDrop is projectDoc without the given top-level attributes and with the given members set.
func projectDrop(t *testing.T, members string, drop ...string) string {
	t.Helper()
	m := jsonObj(t, projectDoc)
	for _, k := range drop {
		delete(m, k)
	}
	for k, v := range jsonObj(t, "{"+members+"}") {
		m[k] = v
	}
	return canonJSON(t, m)
}

func TestProject(t *testing.T) {
	cases := []struct {
		name, attributes, excluded, want string
	}{
		{"no parameters", "", "", projectDoc},
		{"attributes=userName,emails keeps id, schemas and meta", "userName,emails", "",
			projectKeep(`"userName":"ann","emails":[{"value":"ann@work.example","type":"work","primary":true},{"value":"ann@home.example","type":"home"}]`)},
		{"attribute names in any case", "USERNAME,Name.GivenName", "",
			projectKeep(`"userName":"ann","name":{"givenName":"Ann"}`)},
		{"attributes=name.givenName keeps only that sub-attribute", "name.givenName", "",
			projectKeep(`"name":{"givenName":"Ann"}`)},
		{"attributes=name.givenName,name.familyName", "name.givenName,name.familyName", "",
			projectKeep(`"name":{"givenName":"Ann","familyName":"Lee"}`)},
		{"attributes=emails.value on a list", "emails.value", "",
			projectKeep(`"emails":[{"value":"ann@work.example"},{"value":"ann@home.example"}]`)},
		{"attributes=emails.value,emails.type", "emails.value,emails.type", "",
			projectKeep(`"emails":[{"value":"ann@work.example","type":"work"},{"value":"ann@home.example","type":"home"}]`)},
		{"Microsoft's attributes=emails[type eq \"work\"].value is per attribute", `emails[type eq "work"].value`, "",
			projectKeep(`"emails":[{"value":"ann@work.example"},{"value":"ann@home.example"}]`)},
		{"attributes=<enterprise URN> keeps the extension", entURN, "",
			projectKeep(`"` + entURN + `":{"department":"R&D","employeeNumber":"7","manager":{"value":"boss"}}`)},
		{"attributes=<enterprise URN> in lower case", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user", "",
			projectKeep(`"` + entURN + `":{"department":"R&D","employeeNumber":"7","manager":{"value":"boss"}}`)},
		{"attributes=<URN>:department", entURN + ":department", "",
			projectKeep(`"` + entURN + `":{"department":"R&D"}`)},
		{"attributes=<URN>:department,<URN>:manager.value", entURN + ":department," + entURN + ":manager.value", "",
			projectKeep(`"` + entURN + `":{"department":"R&D","manager":{"value":"boss"}}`)},
		{"attributes=core URN-qualified userName", scim.UserSchema + ":userName", "", projectKeep(`"userName":"ann"`)},
		{"attributes=unknown keeps only what is always returned", "favoriteColor", "", projectKeep("")},
		{"attributes=id", "id", "", projectKeep("")},
		{"attributes= an absent attribute", "nickName", "", projectKeep("")},

		{"excludedAttributes=emails", "", "emails", projectDrop(t, "", "emails")},
		{"excludedAttributes=name.familyName", "", "name.familyName", projectDrop(t, `"name":{"givenName":"Ann"}`)},
		{"excludedAttributes=id keeps id (returned always)", "", "id", projectDoc},
		{"excludedAttributes=emails.value", "", "emails.value",
			projectDrop(t, `"emails":[{"type":"work","primary":true},{"type":"home"}]`)},
		{"excludedAttributes=<enterprise URN>", "", entURN, projectDrop(t, "", entURN)},
		{"excludedAttributes=<URN>:department", "", entURN + ":department",
			projectDrop(t, `"`+entURN+`":{"employeeNumber":"7","manager":{"value":"boss"}}`)},
		{"excludedAttributes=unknown is ignored", "", "favoriteColor,name.nick", projectDoc},
		{"excludedAttributes in any case", "", "EMAILS,NAME", projectDrop(t, "", "emails", "name")},
	}
	rt := rtUser()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := jsonObj(t, projectDoc)
			before := canonJSON(t, in)
			attrs, err := scim.ParseAttrList(c.attributes)
			if err != nil {
				t.Fatal(err)
			}
			excl, err := scim.ParseAttrList(c.excluded)
			if err != nil {
				t.Fatal(err)
			}
			got := rt.Project(in, attrs, excl)
			sameJSONAs(t, got, c.want)
			if after := canonJSON(t, in); after != before {
				t.Errorf("Project changed its input:\nbefore %s\n after %s", before, after)
			}
		})
	}
}

// Projection must not leave empty objects behind (an empty "name" or an empty extension object while
// "schemas" still lists it): RFC 7643 section 2.5 treats them as unassigned, and a server omits
// unassigned attributes from its responses.
func TestProjectLeavesNoEmptyObjects(t *testing.T) {
	rt := rtUser()
	cases := []struct{ name, attributes, excluded, want string }{
		{"attributes=<URN>:costCenter when the extension lacks it", entURN + ":costCenter", "", projectKeep("")},
		{"attributes=name.middleName when name lacks it", "name.middleName", "", projectKeep("")},
		{"excludedAttributes=name.givenName,name.familyName", "", "name.givenName,name.familyName", projectDrop(t, "", "name")},
		{"excludedAttributes=<URN>:manager.value", "", entURN + ":manager.value",
			projectDrop(t, `"`+entURN+`":{"department":"R&D","employeeNumber":"7"}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			attrs, _ := scim.ParseAttrList(c.attributes)
			excl, _ := scim.ParseAttrList(c.excluded)
			sameJSONAs(t, rt.Project(jsonObj(t, projectDoc), attrs, excl), c.want)
		})
	}
}

func TestProjectGroup(t *testing.T) {
	rt := rtGroup()
	doc := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Admins",
		"members":[{"value":"a","display":"A"},{"value":"b","display":"B"}],"meta":{"resourceType":"Group"}}`
	excl, _ := scim.ParseAttrList("members")
	sameJSONAs(t, rt.Project(jsonObj(t, doc), nil, excl),
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Admins","meta":{"resourceType":"Group"}}`)
	attrs, _ := scim.ParseAttrList("members.value")
	sameJSONAs(t, rt.Project(jsonObj(t, doc), attrs, nil),
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","meta":{"resourceType":"Group"},"members":[{"value":"a"},{"value":"b"}]}`)
}
