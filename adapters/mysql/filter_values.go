package mysql

import (
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// An eq filter on a value kept in the bookkeeping document first looks the value up in the values table
// (bookkeeping/values.go), whose collation finds every user the document comparison can match, and then
// makes that comparison on those users only: the results are the scan's, at the cost of a lookup.
// Other operators (ne, co, sw, gt...) and values the table cannot hold still scan the documents.

// valueLookup is "(b.id IN (SELECT ...) AND " when e, a comparison with the document value at path, can
// be narrowed by the values table, with its arguments added; "" when it cannot. The caller appends its
// own condition and closeLookup.
func (f *filterBuilder) valueLookup(path string, def *scim.Attribute, e *scim.CompareExpr) string {
	if f.valuesTable == "" || e.Op != scim.OpEq || e.Value == nil || (def.Type != scim.String && def.Type != scim.Reference) {
		return ""
	}
	v, err := filterValue(def, e.Value)
	s, isString := v.(string)
	if err != nil || !isString || !bookkeeping.Indexable(s) {
		return ""
	}
	key, ok := bookkeeping.ValueKey(path)
	if !ok {
		return ""
	}
	f.args = append(f.args, key, s)
	return "(b.id IN (SELECT uv.user_id FROM " + f.valuesTable + " uv WHERE uv.attr = ? AND uv.value_fold = ?) AND "
}

// closeLookup ends what valueLookup began.
func closeLookup(lookup string) string {
	if lookup == "" {
		return ""
	}
	return ")"
}

// listLookup is valueLookup for a value filter on the elements of a multi-valued attribute kept in the
// document (emails[value eq "x"], or emails.value eq "x"): the first eq comparison every matching
// element must satisfy narrows the users.
func (f *filterBuilder) listLookup(ref scim.Ref, filter scim.Expr) string {
	switch e := filter.(type) {
	case *scim.LogicalExpr:
		if !e.And {
			return ""
		}
		if l := f.listLookup(ref, e.Left); l != "" {
			return l
		}
		return f.listLookup(ref, e.Right)
	case *scim.CompareExpr:
		sub := ref.Attr.Sub(e.Attr.Name)
		if sub == nil || e.Attr.URN != "" || e.Attr.Sub != "" {
			return ""
		}
		return f.valueLookup(valuePath(scim.Ref{URN: ref.URN, Attr: ref.Attr, Sub: sub}), sub, e)
	}
	return ""
}

// valuePath names a document value as the values table does: "emails.value", "urn:...:User:manager.value".
func valuePath(ref scim.Ref) string {
	p := ref.Attr.Name
	if ref.URN != "" {
		p = ref.URN + ":" + p
	}
	if ref.Sub != nil {
		p += "." + ref.Sub.Name
	}
	return p
}
