package reqinfo

import (
	"context"
	"testing"
)

func TestWithAndFrom(t *testing.T) {
	if got := From(context.Background()); got != (Info{}) {
		t.Fatalf("empty context carries %+v", got)
	}
	ctx := With(context.Background(), Info{ID: "r1", Actor: "okta"})
	if got := From(ctx); got.ID != "r1" || got.Actor != "okta" {
		t.Fatalf("From = %+v", got)
	}
}
