package invariants

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// Verify reads every user and group the load wrote through the SCIM API at base and returns how they
// differ from what the writes must have left. A group whose only difference is members that the load
// deleted says so: that was issue 16's race on Galera (a membership surviving its user's DELETE).
func (e Expected) Verify(ctx context.Context, client *http.Client, base, token string) ([]string, error) {
	var out []string
	get := func(path string, v any) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK {
			return resp.StatusCode, json.Unmarshal(b, v)
		}
		return resp.StatusCode, nil
	}
	members := map[string][]string{} // group displayName -> user ids expected
	for id, u := range e.Users {
		var got struct {
			UserName, DisplayName string
		}
		status, err := get("/Users/"+id, &got)
		if err != nil {
			return out, err
		}
		if status != http.StatusOK || got.UserName != u.UserName || got.DisplayName != u.DisplayName {
			out = append(out, fmt.Sprintf("user %s: %d %q %q, want %q %q", id, status, got.UserName, got.DisplayName, u.UserName, u.DisplayName))
		}
		for _, g := range u.Groups {
			members[g] = append(members[g], id)
		}
	}
	for _, id := range e.Deleted {
		var got map[string]any
		if status, err := get("/Users/"+id, &got); err != nil || status != http.StatusNotFound {
			out = append(out, fmt.Sprintf("deleted user %s: %d %v", id, status, err))
		}
	}
	for name, gid := range e.Groups {
		var got struct {
			Members []struct{ Value string }
		}
		status, err := get("/Groups/"+gid, &got)
		if err != nil {
			return out, err
		}
		var ids []string
		for _, m := range got.Members {
			ids = append(ids, m.Value)
		}
		slices.Sort(ids)
		want := slices.Sorted(slices.Values(members[name]))
		if status == http.StatusOK && !slices.Equal(ids, want) && onlyDeletedExtra(ids, want, e.Deleted) {
			out = append(out, fmt.Sprintf("group %s: %d members, want %d, the extra ones deleted users (%s)", name, len(ids), len(want), diff(ids, want)))
		} else if status != http.StatusOK || !slices.Equal(ids, want) {
			out = append(out, fmt.Sprintf("group %s: %d, %d members, want %d (%s)", name, status, len(ids), len(want), diff(ids, want)))
		}
	}
	return out, nil
}

// onlyDeletedExtra says got is want plus members that are all among the deleted users.
func onlyDeletedExtra(got, want, deleted []string) bool {
	for _, id := range want {
		if !slices.Contains(got, id) {
			return false
		}
	}
	for _, id := range got {
		if !slices.Contains(want, id) && !slices.Contains(deleted, id) {
			return false
		}
	}
	return true
}

// diff names a few ids in one list and not the other.
func diff(got, want []string) string {
	var extra, missing []string
	for _, id := range got {
		if !slices.Contains(want, id) && len(extra) < 3 {
			extra = append(extra, id)
		}
	}
	for _, id := range want {
		if !slices.Contains(got, id) && len(missing) < 3 {
			missing = append(missing, id)
		}
	}
	return fmt.Sprintf("extra %v, missing %v", extra, missing)
}
