package schemacheck

import (
	"context"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// checkFilterIndexes warns about the users-table columns that filters read (an `eq` on the attribute
// becomes "column = ?") but no index leads with: such a filter scans the app's table on every request.
// The warning carries the CREATE INDEX that would serve it; userName has its own warning, and the key and
// the writeOnly password are never filtered on.
func checkFilterIndexes(ctx context.Context, db *sqlx.DB, m *mapping.Users, byName map[string]columnInfo, rep *Report) error {
	userName := m.Column("userName")
	for _, c := range m.Columns {
		info, exists := byName[strings.ToLower(c.Name)]
		if !exists || c == userName || strings.EqualFold(c.Name, m.Key) || !filteredOn(m, c) {
			continue
		}
		indexed, err := leadsAnIndex(ctx, db, m.Table, c.Name)
		if err != nil {
			return err
		}
		if !indexed {
			col := quoteIdent(info.Name)
			if strings.HasSuffix(info.DataType, "text") || strings.HasSuffix(info.DataType, "blob") {
				col += "(191)"
			}
			rep.warn("%s.%s (%s) has no index: a filter on %s scans the table; this would serve it: CREATE INDEX %s ON %s (%s)",
				m.Table, info.Name, c.Source(), c.Source(), quoteIdent("scim_"+info.Name), quoteIdent(m.Table), col)
		}
	}
	return nil
}

// filteredOn reports whether filters on c's attribute read column c.
func filteredOn(m *mapping.Users, c *mapping.Column) bool {
	p, err := scim.ParseAttrPath(c.Source())
	if c.Source() == "" || err != nil {
		return false
	}
	ref, ok := m.Type.Resolve(p)
	if !ok || ref.Attr.Returned == "never" || (ref.Sub != nil && ref.Sub.Returned == "never") {
		return false
	}
	place, ok := m.Locate(ref)
	return ok && place.Column == c && place.Table == nil && place.JSON == nil
}
