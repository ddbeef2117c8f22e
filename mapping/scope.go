package mapping

import "fmt"

// A scope column's value is one value ({ type = "User" }) or several, "null" meaning SQL NULL
// ({ type = [0, "null"] }: Gitea's individual users, whose type the app may leave NULL). A row is in the
// scope when its column holds one of them; a new row gets the first.

// ScopeValues splits a scope column's configured value into its values and whether NULL is one of them.
func ScopeValues(v any) (vals []any, null bool) {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	for _, x := range list {
		if x == "null" {
			null = true
		} else {
			vals = append(vals, x)
		}
	}
	return vals, null
}

// scopeInsertValue is what a new row's scope column gets: the first value listed (nil for "null").
func scopeInsertValue(v any) any {
	if list, ok := v.([]any); ok {
		v = list[0]
	}
	if v == "null" {
		return nil
	}
	return v
}

func checkScopeValue(v any) error {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	if len(list) == 0 {
		return fmt.Errorf("needs at least one value")
	}
	for _, x := range list {
		switch x.(type) {
		case string, int64, float64, bool:
		default:
			return fmt.Errorf("must be a string, number, boolean or \"null\", or a list of them")
		}
	}
	return nil
}
