package agent_test

import (
	"fmt"
	"slices"
	"testing"
)

// Cursor pagination (RFC 9865) over HTTP: declared in /ServiceProviderConfig, the same users in the same
// order as index paging, no startIndex in its pages, nextCursor until the last, and a clear 400 for a
// cursor the server did not issue or for both ways of paging at once. POST /.search takes it too.
func TestE2ECursorPagination(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	spc := e.want(e.do("GET", "/ServiceProviderConfig", nil), 200, "ServiceProviderConfig")
	for path, want := range map[string]any{"pagination.cursor": true, "pagination.index": true, "pagination.defaultPaginationMethod": "index"} {
		if got := e2eAt(spc.Body, path); got != want {
			t.Errorf("ServiceProviderConfig %s = %v, want %v", path, got, want)
		}
	}
	for i := range 7 {
		e.createUser(fmt.Sprintf(`{"userName":"c%d@example.com"}`, i))
	}
	ids := func(r *e2eResp) []string {
		var out []string
		for _, u := range e2eResources(t, r) {
			out = append(out, u["id"].(string))
		}
		return out
	}
	byIndex := ids(e.want(e.list("count", "100"), 200, "index list"))
	var byCursor []string
	next := ""
	for pages := 0; pages < 10; pages++ {
		r := e.want(e.list("cursor", next, "count", "3"), 200, "cursor page")
		if _, ok := r.Body["startIndex"]; ok || e2eNum(r.Body["totalResults"]) != 7 {
			t.Fatalf("cursor page: %s; want totalResults 7 and no startIndex", r)
		}
		byCursor = append(byCursor, ids(r)...)
		n, _ := r.Body["nextCursor"].(string)
		if n == "" {
			break
		}
		next = n
	}
	if len(byIndex) != 7 || !slices.Equal(byCursor, byIndex) {
		t.Fatalf("by cursor %v; by index %v", byCursor, byIndex)
	}
	s := e.want(e.do("POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"cursor":"","count":5}`), 200, ".search by cursor")
	if got := ids(s); !slices.Equal(got, byIndex[:5]) || s.Body["nextCursor"] == nil {
		t.Fatalf(".search by cursor: %s", s)
	}
	e2eWantError(t, e.list("cursor", "not-ours"), 400, "invalidCursor")
	e2eWantError(t, e.list("cursor", "", "startIndex", "2"), 400, "invalidValue")
}
