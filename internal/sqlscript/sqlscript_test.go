package sqlscript

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	script := "-- a comment\nCREATE TABLE a (\n  x INT -- inline\n);\n\nINSERT INTO a VALUES (1);\nSELECT 1"
	want := []string{"CREATE TABLE a (\n  x INT -- inline\n)", "INSERT INTO a VALUES (1)", "SELECT 1"}
	if got := Split(script); !reflect.DeepEqual(got, want) {
		t.Fatalf("Split = %q, want %q", got, want)
	}
}
