package webhook

import (
	"encoding/json"
	"slices"
	"time"
)

// gap is a run of outbox seqs, lo..hi, that fan-out found missing: taken by a transaction that had not
// committed when the fan-out read past them, or that rolled back. Seen is when (unix microseconds).
type gap struct {
	Lo, Hi int64
	Seen   int64
}

// gaps are an endpoint's missing seqs, in seq order, kept in its cursor row (a JSON array of
// [lo, hi, seen] triples). Fan-out reads exactly these seqs again, so the cost of a round depends on
// how many runs are missing, never on how many events came after them.
type gaps []gap

func parseGaps(s string) (gaps, error) {
	if s == "" {
		return nil, nil
	}
	var raw [][3]int64
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, err
	}
	out := make(gaps, len(raw))
	for i, r := range raw {
		out[i] = gap{Lo: r[0], Hi: r[1], Seen: r[2]}
	}
	return out, nil
}

func (g gaps) String() string {
	raw := make([][3]int64, len(g))
	for i, x := range g {
		raw[i] = [3]int64{x.Lo, x.Hi, x.Seen}
	}
	b, _ := json.Marshal(raw)
	return string(b)
}

// missingBetween are the seqs in (after, upto] that seqs (ascending, within that range) lacks.
func missingBetween(after, upto int64, seqs []int64, seen time.Time) gaps {
	var out gaps
	next := after + 1
	for _, s := range slices.Concat(seqs, []int64{upto + 1}) {
		if s > next {
			out = append(out, gap{Lo: next, Hi: s - 1, Seen: seen.UnixMicro()})
		}
		next = max(next, s+1)
	}
	return out
}

// without removes the seqs that have turned up (ascending), splitting the runs they were in.
func (g gaps) without(seqs []int64) gaps {
	if len(seqs) == 0 {
		return g
	}
	var out gaps
	for _, x := range g {
		lo := x.Lo
		for _, s := range seqs {
			if s < lo || s > x.Hi {
				continue
			}
			if s > lo {
				out = append(out, gap{Lo: lo, Hi: s - 1, Seen: x.Seen})
			}
			lo = s + 1
		}
		if lo <= x.Hi {
			out = append(out, gap{Lo: lo, Hi: x.Hi, Seen: x.Seen})
		}
	}
	return out
}

// expire drops the runs seen missing longer than grace ago: their transactions rolled back (one still
// open that long would be lost to webhooks, which is logged).
func (g gaps) expire(now time.Time, grace time.Duration) (kept, expired gaps) {
	for _, x := range g {
		if now.Sub(time.UnixMicro(x.Seen)) >= grace {
			expired = append(expired, x)
		} else {
			kept = append(kept, x)
		}
	}
	return kept, expired
}

// bound keeps at most n runs, giving up the oldest seqs first, so that a storm of rollbacks cannot make
// the cursor row or the fan-out's read grow without limit.
func (g gaps) bound(n int) (kept, dropped gaps) {
	if len(g) <= n {
		return g, nil
	}
	return slices.Clone(g[len(g)-n:]), g[:len(g)-n]
}

// floor is the highest seq up to which nothing is missing any more: the cursor's last_seq.
func (g gaps) floor(scanSeq int64) int64 {
	if len(g) == 0 {
		return scanSeq
	}
	return g[0].Lo - 1
}
