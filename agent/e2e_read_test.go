package agent_test

import (
	"net/url"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/google/uuid"
)

func TestE2EGetUser(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"get@example.com","name":{"givenName":"Gina","familyName":"Get"},"title":"Tester",
		"emails":[{"value":"get@example.com","type":"work","primary":true},{"value":"g@home.example","type":"home"}],
		"` + e2eEnterprise + `":{"employeeNumber":"E-9","department":"QA"}}`)
	id := e2eStr(u["id"])

	r := e.want(e.do("GET", "/Users/"+id, nil), 200, "GET")
	if r.Header.Get("ETag") != e2eAt(u, "meta.version") || r.Body["userName"] != "get@example.com" ||
		e2eAt(r.Body, "name.familyName") != "Get" || e2eExt(r.Body, "department") != "QA" || e2eExt(r.Body, "employeeNumber") != "E-9" {
		t.Errorf("GET: %s (ETag %q)", r.Raw, r.Header.Get("ETag"))
	}

	e2eWantError(t, e.do("GET", "/Users/"+uuid.NewString(), nil), 404, "")
	e2eWantError(t, e.do("GET", "/Users/not-a-uuid", nil), 404, "")

	projections := map[string][]string{
		"attributes=userName,emails":                              {"emails", "id", "meta", "schemas", "userName"},
		"attributes=" + url.QueryEscape(`emails[type eq "work"]`): {"emails", "id", "meta", "schemas"},
		"attributes=name.givenName":                               {"id", "meta", "name", "schemas"},
		"attributes=" + e2eEnterprise + ":department":             {"id", "meta", "schemas", e2eEnterprise},
		"attributes=USERNAME":                                     {"id", "meta", "schemas", "userName"},
	}
	for q, want := range projections {
		r := e.want(e.do("GET", "/Users/"+id+"?"+q, nil), 200, "GET ?"+q)
		got := e2eKeys(r.Body)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("GET ?%s returned %v, want %v", q, got, want)
		}
	}
	if r := e.do("GET", "/Users/"+id+"?attributes=name.givenName", nil); e2eAt(r.Body, "name.familyName") != nil || e2eAt(r.Body, "name.givenName") != "Gina" {
		t.Errorf("attributes=name.givenName: %s", r.Raw)
	}
	if r := e.do("GET", "/Users/"+id+"?attributes="+e2eEnterprise+":department", nil); e2eExt(r.Body, "employeeNumber") != nil || e2eExt(r.Body, "department") != "QA" {
		t.Errorf("attributes=enterprise:department: %s", r.Raw)
	}

	ex := e.want(e.do("GET", "/Users/"+id+"?excludedAttributes=name", nil), 200, "excludedAttributes")
	if _, has := ex.Body["name"]; has || ex.Body["userName"] != "get@example.com" || ex.Body["title"] != "Tester" {
		t.Errorf("excludedAttributes=name: %s", ex.Raw)
	}
	ex = e.want(e.do("GET", "/Users/"+id+"?excludedAttributes=id,emails", nil), 200, "excludedAttributes=id")
	if ex.Body["id"] != id || ex.Body["emails"] != nil {
		t.Errorf("excludedAttributes=id,emails: id is always returned, emails not: %s", ex.Raw)
	}

	// The list applies projections the same way (Entra asks for attributes=userName).
	l := e.want(e.list("attributes", "userName", "filter", `userName eq "get@example.com"`), 200, "list attributes")
	res := e2eResources(t, l)
	if len(res) != 1 {
		t.Fatalf("list: %s", l.Raw)
	}
	got := e2eKeys(res[0])
	sort.Strings(got)
	if !slices.Equal(got, []string{"id", "meta", "schemas", "userName"}) {
		t.Errorf("list attributes=userName returned %v", got)
	}
	e2eWantError(t, e.list("attributes", "emails[type eq"), 400, "")
}

func TestE2EListPagingAndFilters(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	guid := uuid.NewString()
	for _, js := range []string{
		`{"userName":"o.malley@example.com","name":{"givenName":"Olivia","familyName":"Employee"},"displayName":"Olivia O'Malley",
			"emails":[{"value":"x@example.com","type":"work"}],"externalId":"` + guid + `"}`,
		`{"userName":"emp2@example.org","name":{"familyName":"Employee"},"emails":[{"value":"y@example.org","type":"home"}],"active":false}`,
		`{"userName":"other@example.net","name":{"familyName":"Other"},"emails":[{"value":"z@example.net","type":"work"}],"title":"Boss"}`,
		`{"userName":"Owen@Example.com","displayName":"Owen"}`,
		`{"userName":"zed@example.com"}`,
	} {
		e.createUser(js)
	}

	seen := map[string]bool{}
	for _, start := range []int{1, 3, 5} {
		r := e.want(e.list("startIndex", strconv.Itoa(start), "count", "2"), 200, "page")
		res := e2eResources(t, r)
		wantLen := min(2, 5-start+1)
		if e2eNum(r.Body["totalResults"]) != 5 || e2eNum(r.Body["itemsPerPage"]) != wantLen ||
			e2eNum(r.Body["startIndex"]) != start || len(res) != wantLen {
			t.Errorf("startIndex=%d&count=2: %s", start, r.Raw)
		}
		for _, u := range res {
			seen[e2eStr(u["id"])] = true
		}
	}
	if len(seen) != 5 {
		t.Errorf("paging through 5 users saw %d distinct ids", len(seen))
	}
	zero := e.want(e.list("count", "0"), 200, "count=0")
	if e2eNum(zero.Body["totalResults"]) != 5 || len(e2eResources(t, zero)) != 0 || e2eNum(zero.Body["itemsPerPage"]) != 0 {
		t.Errorf("count=0: %s", zero.Raw)
	}
	for _, q := range [][]string{{"startIndex", "0"}, {"startIndex", "-3"}} {
		r := e.want(e.list(q...), 200, "startIndex "+q[1])
		if e2eNum(r.Body["startIndex"]) != 1 || len(e2eResources(t, r)) != 5 {
			t.Errorf("startIndex=%s is read as 1: %s", q[1], r.Raw)
		}
	}
	if r := e.want(e.list("startIndex", "9"), 200, "past the end"); e2eNum(r.Body["totalResults"]) != 5 || len(e2eResources(t, r)) != 0 {
		t.Errorf("startIndex past the end: %s", r.Raw)
	}
	e2eWantError(t, e.list("count", "ten"), 400, "invalidValue")

	filters := map[string][]string{
		`userName eq "O.MALLEY@EXAMPLE.COM"`: {"o.malley@example.com"},
		`DisplayName eq "Owen"`:              {"Owen@Example.com"},
		`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`: {"o.malley@example.com", "emp2@example.org"},
		`userName sw O`: {"o.malley@example.com", "other@example.net", "Owen@Example.com"},
		`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`:  {"o.malley@example.com", "emp2@example.org", "other@example.net", "Owen@Example.com", "zed@example.com"},
		`meta.created lt 2015-10-10T14:38:21Z`:               {},
		`emails[type eq "work"].value eq "x@example.com"`:    {"o.malley@example.com"},
		`emails[type eq "work"]`:                             {"o.malley@example.com", "other@example.net"},
		`externalId eq "` + guid + `"`:                       {"o.malley@example.com"},
		`active eq false`:                                    {"emp2@example.org"},
		`active eq "True"`:                                   {"o.malley@example.com", "other@example.net", "Owen@Example.com", "zed@example.com"},
		`title eq "Boss"`:                                    {"other@example.net"},
		`title pr`:                                           {"other@example.net"},
		`not (title pr)`:                                     {"o.malley@example.com", "emp2@example.org", "Owen@Example.com", "zed@example.com"},
		`userName ew "example.com" and not (active eq true)`: {},
		`displayName co "'"`:                                 {"o.malley@example.com"},
		`userName eq "100%"`:                                 {},
	}
	for f, want := range filters {
		r := e.list("filter", f)
		if r.Status != 200 {
			t.Errorf("filter %s: %s", f, r)
			continue
		}
		var got []string
		for _, u := range e2eResources(t, r) {
			got = append(got, e2eStr(u["userName"]))
		}
		if !slices.Equal(got, want) || e2eNum(r.Body["totalResults"]) != len(want) {
			t.Errorf("filter %s: got %v (total %v), want %v", f, got, r.Body["totalResults"], want)
		}
	}

	for _, bad := range []string{`userName eq`, `userName xx "a"`, `nosuch eq "x"`, `(userName eq "a"`, `emails[type eq "work"`,
		`name eq "x"`, `meta.created gt yesterday`, `active gt true`, `userName eq "a" and`} {
		e2eWantError(t, e.list("filter", bad), 400, "invalidFilter")
	}

	// POST /.search takes the same query in a body.
	s := e.want(e.do("POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
		"filter":"userName sw \"o\"","startIndex":1,"count":2,"attributes":["userName"]}`), 200, "search")
	if e2eNum(s.Body["totalResults"]) != 3 || len(e2eResources(t, s)) != 2 || e2eResources(t, s)[0]["name"] != nil {
		t.Errorf(".search: %s", s.Raw)
	}
}
