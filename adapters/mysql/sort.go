package mysql

import (
	"maps"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/scim"
)

// The attributes a list can be sorted by (sortBy, RFC 7644 3.4.2.3): those with an index in
// scimbridge's own tables, so that a sorted page is read in index order like the default one. Each
// secondary index holds the primary key (id) after its column, which breaks ties. Other attributes
// (the app's columns, the document's) would need every matching row read and sorted: they are refused.
var (
	userSorts = map[string]string{"id": "b.id", "userName": "b.user_name_lc", "externalId": "b.external_id",
		"meta.created": "b.created"}
	groupSorts = map[string]string{"id": "g.id", "displayName": "g.display_name_lc", "externalId": "g.external_id",
		"meta.created": "g.created"}
)

// orderBy is the ORDER BY of a list on table alias a: the (created, id) order without sortBy, else the
// sort attribute's indexed column, then id, both in sortOrder's direction. A resource without a value
// (no externalId) sorts first in ascending order and last in descending, as MySQL orders NULL.
func orderBy(q scim.ListQuery, sorts map[string]string, a, kind string) (string, error) {
	if q.SortBy == "" {
		return a + ".created, " + a + ".id", nil
	}
	if q.ByCursor {
		return "", scim.BadRequest(scim.TypeInvalidValue, "sortBy works with startIndex paging; a cursor follows the (created, id) order")
	}
	col, ok := sorts[q.SortBy]
	if !ok {
		return "", scim.BadRequest(scim.TypeInvalidValue, "sortBy %q: a %s list cannot be sorted by it without reading every %s; "+
			"it can be sorted by %s", q.SortBy, kind, kind, strings.Join(slices.Sorted(maps.Keys(sorts)), ", "))
	}
	dir := " ASC"
	if q.SortDescending {
		dir = " DESC"
	}
	if col == a+".id" {
		return col + dir, nil
	}
	return col + dir + ", " + a + ".id" + dir, nil
}
