package webhook

import (
	"reflect"
	"testing"
	"time"
)

func TestGapsBookkeeping(t *testing.T) {
	t0 := time.Unix(1000, 0)
	g := missingBetween(10, 20, []int64{11, 14, 15, 20}, t0)
	if want := (gaps{{12, 13, t0.UnixMicro()}, {16, 19, t0.UnixMicro()}}); !reflect.DeepEqual(g, want) {
		t.Fatalf("missingBetween = %v, want %v", g, want)
	}
	if got := missingBetween(10, 12, []int64{11, 12}, t0); got != nil {
		t.Errorf("nothing missing: %v", got)
	}
	g = g.without([]int64{12, 17})
	if want := (gaps{{13, 13, t0.UnixMicro()}, {16, 16, t0.UnixMicro()}, {18, 19, t0.UnixMicro()}}); !reflect.DeepEqual(g, want) {
		t.Fatalf("without = %v, want %v", g, want)
	}
	if g.floor(20) != 12 || gaps(nil).floor(20) != 20 {
		t.Errorf("floor = %d", g.floor(20))
	}
	back, err := parseGaps(g.String())
	if err != nil || !reflect.DeepEqual(back, g) {
		t.Errorf("round trip %s: %v, %v", g.String(), back, err)
	}
	t1 := t0.Add(time.Minute)
	g = append(g, missingBetween(20, 22, []int64{22}, t1)...)
	kept, expired := g.expire(t0.Add(90*time.Second), time.Minute)
	if len(expired) != 3 || len(kept) != 1 || kept[0].Lo != 21 {
		t.Errorf("expire: kept %v expired %v", kept, expired)
	}
	kept, dropped := g.bound(2)
	if len(kept) != 2 || len(dropped) != 2 || kept[0].Lo != 18 {
		t.Errorf("bound: kept %v dropped %v", kept, dropped)
	}
}
