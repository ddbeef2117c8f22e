package scim

import (
	"sort"
	"strconv"
	"strings"
)

// GroupType is the Group resource type (RFC 7643 section 4.2).
func GroupType() *ResourceType {
	return NewResourceType("Group", "/Groups", "Group", GroupSchemaDef())
}

// Member is one member of a group: a user's SCIM id, and the display text the client sent with it.
type Member struct {
	Value   string
	Display string
}

// MemberChange is what a request does to a group's member list. Members are kept apart from the other
// attributes because a group may have tens of thousands: the store applies the change with batched SQL
// instead of rewriting a list in memory. With Replace, Add is the whole new list (empty: no members);
// otherwise Add and Remove are disjoint sets of changes.
type MemberChange struct {
	Replace bool
	Add     []Member
	Remove  []string
}

// memberFold accumulates the operations of one request in order into a MemberChange.
type memberFold struct {
	replace bool
	add     map[string]Member
	order   []string // add's keys in the order first given
	remove  map[string]bool
}

func newMemberFold() *memberFold {
	return &memberFold{add: map[string]Member{}, remove: map[string]bool{}}
}

func (f *memberFold) addMember(m Member) {
	if _, ok := f.add[m.Value]; !ok {
		f.order = append(f.order, m.Value)
	}
	f.add[m.Value] = m
	delete(f.remove, m.Value)
}

func (f *memberFold) removeMember(id string) {
	delete(f.add, id)
	if !f.replace {
		f.remove[id] = true
	}
}

func (f *memberFold) replaceAll(list []Member) {
	f.replace, f.add, f.order, f.remove = true, map[string]Member{}, nil, map[string]bool{}
	for _, m := range list {
		f.addMember(m)
	}
}

func (f *memberFold) result() MemberChange {
	c := MemberChange{Replace: f.replace}
	seen := map[string]bool{} // an id added, removed and added again is in order twice
	for _, id := range f.order {
		if m, ok := f.add[id]; ok && !seen[id] {
			seen[id] = true
			c.Add = append(c.Add, m)
		}
	}
	for id := range f.remove {
		c.Remove = append(c.Remove, id)
	}
	sort.Strings(c.Remove)
	return c
}

// ParseMemberList reads the members of a POST or PUT body, which must be what RFC 7643 4.2 declares: an
// array of objects with a "value". (PATCH operations take the looser shapes of ParseMembers.)
func ParseMemberList(v any) ([]Member, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, BadRequest(TypeInvalidValue, "attribute \"members\" is multi-valued: it must be an array, got %s", jsonKind(v))
	}
	for _, item := range list {
		if _, isObject := item.(map[string]any); !isObject {
			return nil, BadRequest(TypeInvalidValue, "attribute \"members\" must be an array of objects with a \"value\", got %s in it", jsonKind(item))
		}
	}
	return ParseMembers(list)
}

// ParseMembers reads a members value: a list of {"value": id, "display": ...}, a lone object, or a bare
// id. Microsoft's test collection and some clients send "displayName" for "display".
func ParseMembers(v any) ([]Member, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]Member, 0, len(list))
	for _, item := range list {
		switch item := item.(type) {
		case string:
			out = append(out, Member{Value: item})
		case map[string]any:
			var m Member
			for k, val := range item {
				s, _ := val.(string)
				switch strings.ToLower(k) {
				case "value":
					m.Value = s
				case "display", "displayname":
					if m.Display == "" || strings.EqualFold(k, "display") {
						m.Display = s
					}
				}
			}
			if strings.TrimSpace(m.Value) == "" {
				return nil, BadRequest(TypeInvalidValue, "a member needs a \"value\" with the user's id")
			}
			out = append(out, m)
		default:
			return nil, BadRequest(TypeInvalidValue, "members must be objects with a \"value\"")
		}
	}
	return out, nil
}

// SplitMemberOps separates the member operations of a Group PATCH, in every shape IdPs send them, from
// the operations on other attributes, which are returned for ApplyPatch:
//   - add path "members" with a list (Entra, Okta);
//   - remove path `members[value eq "id"]` (Entra), or with several ids joined by "or";
//   - remove path "members" with a list (Entra before its 2020 fix), or without a value (all);
//   - replace path "members" with the full list, [] to empty the group (Okta);
//   - a no-path add/replace whose value has "members" (beside displayName or id, which Okta repeats).
func SplitMemberOps(ops []PatchOperation) ([]PatchOperation, MemberChange, error) {
	fold := newMemberFold()
	var rest []PatchOperation
	for i, op := range ops {
		kind := strings.ToLower(strings.TrimSpace(op.Op))
		path := strings.TrimSpace(op.Path)
		if path == "" {
			obj, ok := op.Value.(map[string]any)
			if !ok {
				rest = append(rest, op)
				continue
			}
			other := map[string]any{}
			for k, v := range obj {
				if !strings.EqualFold(k, "members") {
					other[k] = v
					continue
				}
				if err := fold.apply(kind, nil, v, true); err != nil {
					return nil, MemberChange{}, numbered(i, err)
				}
			}
			if len(other) > 0 {
				rest = append(rest, PatchOperation{Op: op.Op, Value: other})
			}
			continue
		}
		p, err := ParsePath(path)
		if err != nil {
			return nil, MemberChange{}, numbered(i, err)
		}
		if !strings.EqualFold(p.Attr.Name, "members") || (p.Attr.URN != "" && !strings.EqualFold(p.Attr.URN, GroupSchema)) {
			rest = append(rest, op)
			continue
		}
		if p.Attr.Sub != "" || p.SubAttr != "" {
			return nil, MemberChange{}, numbered(i, BadRequest(TypeInvalidPath, "%q: change a member by removing and adding it", path))
		}
		if err := fold.apply(kind, p.Filter, op.Value, op.Value != nil); err != nil {
			return nil, MemberChange{}, numbered(i, err)
		}
	}
	return rest, fold.result(), nil
}

func (f *memberFold) apply(kind string, filter Expr, value any, hasValue bool) error {
	switch {
	case filter != nil:
		ids, ok := memberIDs(filter)
		if !ok || kind != "remove" {
			return BadRequest(TypeInvalidPath, "only remove with members[value eq \"id\"] is supported on a member filter")
		}
		for _, id := range ids {
			f.removeMember(id)
		}
		return nil
	case kind == "remove" && !hasValue:
		f.replaceAll(nil)
		return nil
	case kind == "replace" && !hasValue:
		// RFC 7644 3.5.2.3: replace needs a value; an empty list is how a client empties a group.
		return BadRequest(TypeInvalidValue, `replace of members needs a value: the full list, or [] to remove every member`)
	}
	members, err := ParseMembers(value)
	if err != nil {
		return err
	}
	switch kind {
	case "add":
		for _, m := range members {
			f.addMember(m)
		}
	case "remove":
		for _, m := range members {
			f.removeMember(m.Value)
		}
	case "replace":
		f.replaceAll(members)
	default:
		return BadRequest(TypeInvalidSyntax, "op %q is not add, replace or remove", kind)
	}
	return nil
}

// memberIDs reads `value eq "a"` or `value eq "a" or value eq "b"`.
func memberIDs(e Expr) ([]string, bool) {
	switch e := e.(type) {
	case *CompareExpr:
		s, ok := e.Value.(string)
		return []string{s}, ok && e.Op == OpEq && strings.EqualFold(e.Attr.Name, "value") && e.Attr.Sub == ""
	case *LogicalExpr:
		if e.And {
			return nil, false
		}
		l, okl := memberIDs(e.Left)
		r, okr := memberIDs(e.Right)
		return append(l, r...), okl && okr
	}
	return nil, false
}

// numbered prefixes an error's detail with the 1-based number of the operation that caused it.
func numbered(i int, err error) error {
	if se, ok := err.(*Error); ok {
		se.Detail = "operation " + strconv.Itoa(i+1) + ": " + se.Detail
	}
	return err
}
