package mysql

import (
	"strings"

	"github.com/scimbridge/scimbridge/scim"
)

// groupFilterSQL translates a filter on groups (alias g) into SQL. Groups are looked up by displayName
// (case-insensitively, through an index), externalId and id, and by membership, as Entra checks it:
// `members[value eq "u"]` or `members.value eq "u"`.
func (s *Store) groupFilterSQL(e scim.Expr) (string, []any, error) {
	if e == nil {
		return "TRUE", nil, nil
	}
	f := &filterBuilder{rt: scim.GroupType(), groupMode: true, memberTable: s.memberTable(), groupTable: s.groupTable()}
	where, err := f.expr(e)
	return where, f.args, err
}

func (f *filterBuilder) groupCompare(e *scim.CompareExpr) (string, error) {
	ref, ok := f.rt.Resolve(e.Attr)
	if !ok {
		return "", scim.BadRequest(scim.TypeInvalidFilter, "unknown attribute %q", e.Attr.String())
	}
	switch ref.Path() {
	case "id":
		return f.cmp(col("g.id"), ref.Attr, e)
	case "externalId":
		return f.cmp(col("g.external_id"), ref.Attr, e)
	case "displayName":
		if s, ok := e.Value.(string); ok {
			e = &scim.CompareExpr{Attr: e.Attr, Op: e.Op, Value: strings.ToLower(s)}
		}
		return f.cmp(col("g.display_name_lc"), ref.Attr, e)
	case "meta.created":
		return f.cmp(col("g.created"), ref.Sub, e)
	case "meta.lastModified":
		return f.cmp(col("g.last_modified"), ref.Sub, e)
	case "members", "members.value":
		return f.memberFilter(&scim.CompareExpr{Attr: scim.AttrPath{Name: "value"}, Op: e.Op, Value: e.Value})
	}
	return "", scim.BadRequest(scim.TypeInvalidFilter, "groups cannot be filtered on %s", ref.Path())
}

// memberFilter matches groups with a member satisfying a value filter on members.value.
func (f *filterBuilder) memberFilter(e scim.Expr) (string, error) {
	c, ok := e.(*scim.CompareExpr)
	if !ok || !strings.EqualFold(c.Attr.Name, "value") || (c.Op != scim.OpEq && c.Op != scim.OpPr) {
		return "", scim.BadRequest(scim.TypeInvalidFilter, `members can be filtered with members[value eq "id"] or members pr`)
	}
	if c.Op == scim.OpPr {
		return "EXISTS (SELECT 1 FROM " + f.memberTable + " gm WHERE gm.group_id = g.id)", nil
	}
	f.args = append(f.args, literalString(c.Value))
	return "EXISTS (SELECT 1 FROM " + f.memberTable + " gm WHERE gm.group_id = g.id AND gm.user_id = ?)", nil
}

// userGroupFilter matches users by their groups, kept in the membership table, not in the document:
// groups.value eq "<group id>" (or groups eq) and groups.display eq "<displayName>", and pr.
func (f *filterBuilder) userGroupFilter(ref scim.Ref, e *scim.CompareExpr) (string, error) {
	sub := "value"
	if ref.Sub != nil {
		sub = ref.Sub.Name
	}
	if e.Op == scim.OpPr {
		return "EXISTS (SELECT 1 FROM " + f.memberTable + " gm WHERE gm.user_id = b.id)", nil
	}
	v, ok := e.Value.(string)
	if e.Op != scim.OpEq || !ok {
		return "", scim.BadRequest(scim.TypeInvalidFilter, `users can be filtered by group with groups.value eq "<id>" or groups.display eq "<name>"`)
	}
	switch sub {
	case "value":
		f.args = append(f.args, v)
		return "EXISTS (SELECT 1 FROM " + f.memberTable + " gm WHERE gm.user_id = b.id AND gm.group_id = ?)", nil
	case "display":
		f.args = append(f.args, strings.ToLower(v))
		return "EXISTS (SELECT 1 FROM " + f.memberTable + " gm JOIN " + f.groupTable +
			" g ON g.id = gm.group_id WHERE gm.user_id = b.id AND g.display_name_lc = ?)", nil
	}
	return "", scim.BadRequest(scim.TypeInvalidFilter, "groups.%s cannot be filtered", sub)
}
