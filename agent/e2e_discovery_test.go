package agent_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/scim"
)

func TestE2EDiscovery(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})

	spc := e.want(e.do("GET", "/ServiceProviderConfig", nil), 200, "ServiceProviderConfig")
	if ct := spc.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type = %q, want application/scim+json", ct)
	}
	for path, want := range map[string]any{
		"patch.supported": true, "filter.supported": true, "bulk.supported": false, "etag.supported": true,
		"sort.supported": true, "changePassword.supported": false,
	} {
		if got := e2eAt(spc.Body, path); got != want {
			t.Errorf("ServiceProviderConfig %s = %v, want %v", path, got, want)
		}
	}
	if s, _ := spc.Body["schemas"].([]any); len(s) != 1 || s[0] != scim.SPConfigURN {
		t.Errorf("ServiceProviderConfig schemas = %v", spc.Body["schemas"])
	}
	schemes, _ := spc.Body["authenticationSchemes"].([]any)
	if len(schemes) == 0 || e2eAt(schemes[0].(map[string]any), "type") != "oauthbearertoken" {
		t.Errorf("authenticationSchemes = %v, want oauthbearertoken", spc.Body["authenticationSchemes"])
	}

	schemas := e.want(e.do("GET", "/Schemas", nil), 200, "Schemas")
	if !strings.Contains(string(schemas.Raw), "User Account") {
		t.Errorf("/Schemas does not describe the User Account: %s", schemas.Raw)
	}
	var ids []string
	for _, r := range e2eResources(t, schemas) {
		ids = append(ids, e2eStr(r["id"]))
		if len(r["attributes"].([]any)) == 0 {
			t.Errorf("schema %v has no attributes", r["id"])
		}
	}
	if !slices.Contains(ids, scim.UserSchema) || !slices.Contains(ids, e2eEnterprise) {
		t.Errorf("/Schemas ids = %v, want the core User and the enterprise extension", ids)
	}
	if e2eNum(schemas.Body["totalResults"]) != len(ids) {
		t.Errorf("/Schemas totalResults = %v for %d resources", schemas.Body["totalResults"], len(ids))
	}

	for _, urn := range []string{scim.UserSchema, e2eEnterprise} {
		one := e.want(e.do("GET", "/Schemas/"+urn, nil), 200, "Schemas/"+urn)
		if one.Body["id"] != urn || e2eAt(one.Body, "meta.resourceType") != "Schema" {
			t.Errorf("/Schemas/%s = %s", urn, one.Raw)
		}
	}
	e2eWantError(t, e.do("GET", "/Schemas/urn:example:nope", nil), 404, "")

	rts := e.want(e.do("GET", "/ResourceTypes", nil), 200, "ResourceTypes")
	list := e2eResources(t, rts)
	if len(list) == 0 || list[0]["endpoint"] != "/Users" {
		t.Fatalf("/ResourceTypes Resources[0].endpoint: %s", rts.Raw)
	}
	user := e.want(e.do("GET", "/ResourceTypes/User", nil), 200, "ResourceTypes/User")
	if user.Body["name"] != "User" || user.Body["schema"] != scim.UserSchema || user.Body["endpoint"] != "/Users" {
		t.Errorf("/ResourceTypes/User = %s", user.Raw)
	}
	exts, _ := user.Body["schemaExtensions"].([]any)
	if len(exts) != 1 || e2eAt(exts[0].(map[string]any), "schema") != e2eEnterprise {
		t.Errorf("/ResourceTypes/User schemaExtensions = %v", user.Body["schemaExtensions"])
	}
	e2eWantError(t, e.do("GET", "/ResourceTypes/Group", nil), 404, "")
	// Bulk is advertised as unsupported; the endpoint must say so too.
	e2eWantError(t, e.do("POST", "/Bulk", `{}`), 501, "")
}

// Okta's "Test Connector Configuration" and Entra's "Test Connection" look up a random userName and
// expect an empty ListResponse.
func TestE2EIdPConnectionTests(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	e.createUser(`{"userName":"someone@example.com"}`)
	filter := url.QueryEscape(`userName eq "` + uuid.NewString() + `"`)
	for _, path := range []string{
		"/Users?filter=" + filter + "&startIndex=1&count=1", // Okta
		"/Users?filter=" + filter,                           // Entra
		"/users?filter=" + filter,                           // lower-case endpoint
		"/Users/?filter=" + filter,                          // trailing slash (Microsoft's collection)
		"/users/?filter=" + filter + "&startIndex=1&count=1",
	} {
		r := e.do("GET", path, nil)
		if r.Status != 200 {
			t.Errorf("GET %s: %s", path, r)
			continue
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		if s, _ := r.Body["schemas"].([]any); len(s) != 1 || s[0] != scim.ListResponseURN {
			t.Errorf("GET %s: schemas %v", path, r.Body["schemas"])
		}
		if e2eNum(r.Body["totalResults"]) != 0 || e2eNum(r.Body["itemsPerPage"]) != 0 || e2eNum(r.Body["startIndex"]) != 1 {
			t.Errorf("GET %s: %s", path, r.Raw)
		}
		if res, ok := r.Body["Resources"].([]any); !ok || len(res) != 0 {
			t.Errorf("GET %s: Resources must be an empty array, got %s", path, r.Raw)
		}
	}
	// The whole base path in another case still reaches the API.
	r := e.do("GET", e.http.URL+"/SCIM/V2/Users?filter="+filter, nil)
	if r.Status != 200 || e2eNum(r.Body["totalResults"]) != 0 {
		t.Errorf("GET /SCIM/V2/Users: %s", r)
	}
}

func TestE2EAuth(t *testing.T) {
	t.Parallel()
	const next = "e2e-next-token-fedcba9876543210"
	e := newE2E(t, e2eOptions{tokens: []string{e2eToken, next}})

	for name, auth := range map[string]string{
		"no token":     "",
		"wrong token":  "Bearer not-the-token-at-all-0000",
		"empty bearer": "Bearer ",
		"basic":        "Basic " + e2eToken,
		"token only":   e2eToken,
		"prefix token": "Bearer " + e2eToken[:len(e2eToken)-1],
	} {
		for _, path := range []string{"/Users", "/ServiceProviderConfig", "/Users/some-id", "/NoSuchEndpoint"} {
			r := e.do("GET", path, nil, "Authorization", auth)
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s, GET %s: %s, want 401", name, path, r)
				continue
			}
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s, GET %s: WWW-Authenticate = %q", name, path, r.Header.Get("WWW-Authenticate"))
			}
			e2eWantError(t, r, 401, "")
		}
	}
	// A write without a token changes nothing.
	r := e.do("POST", "/Users", `{"userName":"intruder@example.com"}`, "Authorization", "")
	e2eWantError(t, r, 401, "")
	if n := len(e.appRows("email = ?", "intruder@example.com")); n != 0 {
		t.Errorf("an unauthenticated POST wrote %d app rows", n)
	}

	// Rotation: both configured tokens work, also with a lower-case scheme.
	for _, auth := range []string{"Bearer " + e2eToken, "Bearer " + next, "bearer " + next} {
		if r := e.do("GET", "/Users", nil, "Authorization", auth); r.Status != 200 {
			t.Errorf("Authorization %q: %s", auth[:8], r)
		}
	}

	// Probes need no token.
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
		r := e.do("GET", e.root(path), nil, "Authorization", "")
		if r.Status != want {
			t.Errorf("GET %s without a token: %s, want %d", path, r, want)
		}
	}
}
