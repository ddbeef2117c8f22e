package bookkeeping

import (
	"reflect"
	"strings"
	"testing"
)

func TestDocValuesNamesValuesAsFiltersDo(t *testing.T) {
	doc := `{"title":"Boss","name":{"middleName":"Q"},"emails":[{"value":"A@x","type":"work","primary":true},{"value":"b@x"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":42,"manager":{"value":"m1"}},
		"$scimbridge":{"derived":["displayName"]},"photos":[],"nickName":null,"long":"` + strings.Repeat("é", MaxValueChars+5) + `"}`
	got, err := DocValues([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []Value{
		{"emails.type", "work"}, {"emails.value", "A@x"}, {"emails.value", "b@x"},
		{"long", strings.Repeat("é", MaxValueChars)}, {"name.middlename", "Q"}, {"title", "Boss"},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeenumber", "42"},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager.value", "m1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
