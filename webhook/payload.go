package webhook

import (
	"encoding/json"
	"sync/atomic"
)

// TruncatedField is the member a reduced body carries: what was left out and why, so that a receiver
// knows to read the resource through SCIM (GET /Users/{id}) rather than trust an incomplete event.
const TruncatedField = "truncated"

// omittable are the members a body too large loses, in this order, until it fits: the resource (all but
// its id), then the member and attribute lists that a group change of thousands can make long.
var omittable = []string{"resource", "members", "changed", "roles"}

// fit returns the body to send for an outbox payload: the payload itself when it fits max bytes, else a
// copy without the members in omittable (the resource keeps its id) and with a "truncated" member
// naming them and the original size. The same payload always gives the same body, so every retry
// sends, and signs, the same bytes. A payload that is not a JSON object is sent as it is.
func fit(payload []byte, max int) (body []byte, truncated bool) {
	if len(payload) <= max {
		return payload, false
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(payload, &ev); err != nil {
		return payload, false
	}
	var omitted []string
	for _, k := range omittable {
		if _, ok := ev[k]; !ok {
			continue
		}
		if k == "resource" {
			var res struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(ev[k], &res)
			ev[k], _ = json.Marshal(map[string]string{"id": res.ID})
		} else {
			delete(ev, k)
		}
		omitted = append(omitted, k)
		ev[TruncatedField], _ = json.Marshal(map[string]any{
			"reason": "payload_too_large", "payload_bytes": len(payload), "max_payload_bytes": max, "omitted": omitted,
		})
		if b, err := json.Marshal(ev); err == nil && len(b) <= max {
			return b, true
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return payload, false
	}
	return b, true // still over max (a huge id?): the smallest body there is
}

// Stats count what became of deliveries since the Worker started.
type Stats struct {
	Dead      int64 // deliveries that became dead (give_up_after, max_attempts, max_rejections, or no event)
	Rejected  int64 // ... of which because the receiver refused them max_rejections times with a 4xx
	Truncated int64 // attempts that sent a reduced body because the event exceeded max_payload_bytes
	Skipped   int64 // deliveries an operator skipped (Skip) through this Worker
}

type counters struct {
	dead, rejected, truncated, skipped atomic.Int64
}

// Stats returns the Worker's counters.
func (w *Worker) Stats() Stats {
	return Stats{Dead: w.stats.dead.Load(), Rejected: w.stats.rejected.Load(), Truncated: w.stats.truncated.Load(), Skipped: w.stats.skipped.Load()}
}

// rejection reports a 4xx answer that retrying will not change: not 408 (timeout), 410 (disables the
// endpoint) or 429 (slow down).
func rejection(status int) bool {
	return status >= 400 && status < 500 && status != 408 && status != 410 && status != 429
}
