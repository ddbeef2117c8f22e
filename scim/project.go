package scim

// Project applies the attributes and excludedAttributes parameters (RFC 7644 section 3.9) to a resource
// about to be returned. Attributes returned "always" (id, schemas) stay; unknown names are ignored, as the
// RFC lets a server do, so an IdP asking for an attribute this mapping lacks still gets an answer.
func (rt *ResourceType) Project(r Resource, attributes, excluded []AttrPath) Resource {
	if len(attributes) > 0 {
		out := Resource{}
		for _, k := range []string{"id", "schemas", "meta"} {
			if v, ok := r[k]; ok {
				out[k] = v
			}
		}
		for _, p := range attributes {
			rt.copyPath(out, r, p)
		}
		return out
	}
	if len(excluded) == 0 {
		return r
	}
	out := shallowCopy(r)
	for _, p := range excluded {
		rt.removePath(out, p)
	}
	return out
}

func (rt *ResourceType) copyPath(dst, src Resource, p AttrPath) {
	if p.Name == "" { // a whole extension: attributes=urn:...:enterprise:2.0:User
		if ext := rt.Extension(p.URN); ext != nil && src[ext.ID] != nil {
			dst[ext.ID] = src[ext.ID]
		}
		return
	}
	ref, ok := rt.Resolve(p)
	if !ok {
		return
	}
	from := src
	if ref.URN != "" {
		if from, _ = src[ref.URN].(map[string]any); from == nil {
			return
		}
	}
	v, ok := from[ref.Attr.Name]
	if !ok {
		return
	}
	if ref.Sub != nil {
		if v = mergeSub(nil, v, ref.Sub.Name); isEmpty(v) {
			return // name.middleName when name has none: nothing to return, not "name": {}
		}
	}
	to := dst
	if ref.URN != "" {
		if to, _ = dst[ref.URN].(map[string]any); to == nil {
			to = map[string]any{}
			dst[ref.URN] = to
		}
	}
	if ref.Sub == nil {
		to[ref.Attr.Name] = v
		return
	}
	to[ref.Attr.Name] = mergeSub(to[ref.Attr.Name], from[ref.Attr.Name], ref.Sub.Name)
}

// isEmpty reports an object with no members, or a list whose elements all are.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return len(v) == 0
	case []any:
		for _, e := range v {
			if !isEmpty(e) {
				return false
			}
		}
		return true
	}
	return v == nil
}

// mergeSub adds sub-attribute name of v (an object, or a list of objects) to what dst already holds.
func mergeSub(dst, v any, name string) any {
	switch v := v.(type) {
	case map[string]any:
		m, _ := dst.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		if sv, ok := v[name]; ok {
			m[name] = sv
		}
		return m
	case []any:
		list, _ := dst.([]any)
		out := make([]any, len(v))
		for i, e := range v {
			var prev any
			if i < len(list) {
				prev = list[i]
			}
			out[i] = mergeSub(prev, e, name)
		}
		return out
	}
	return dst
}

func (rt *ResourceType) removePath(r Resource, p AttrPath) {
	if p.Name == "" {
		if ext := rt.Extension(p.URN); ext != nil {
			delete(r, ext.ID)
		}
		return
	}
	ref, ok := rt.Resolve(p)
	if !ok || ref.Attr.Returned == "always" {
		return
	}
	target := r
	if ref.URN != "" {
		ext, _ := r[ref.URN].(map[string]any)
		if ext == nil {
			return
		}
		ext = shallowCopy(ext)
		r[ref.URN] = ext
		target = ext
	}
	defer func() { // an extension left with nothing is left out, with its schema URN
		if ref.URN != "" && isEmpty(r[ref.URN]) {
			delete(r, ref.URN)
			r["schemas"] = rt.SchemaURNs(r)
		}
	}()
	if ref.Sub == nil {
		delete(target, ref.Attr.Name)
		return
	}
	switch v := target[ref.Attr.Name].(type) {
	case map[string]any:
		m := shallowCopy(v)
		delete(m, ref.Sub.Name)
		target[ref.Attr.Name] = m
	case []any:
		list := make([]any, len(v))
		for i, e := range v {
			m, _ := e.(map[string]any)
			m = shallowCopy(m)
			delete(m, ref.Sub.Name)
			list[i] = m
		}
		target[ref.Attr.Name] = list
	}
	if isEmpty(target[ref.Attr.Name]) {
		delete(target, ref.Attr.Name)
	}
}

func shallowCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
