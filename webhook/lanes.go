package webhook

import (
	"context"
	"sync"
)

// sendBatch posts a claimed batch over lanes parallel lanes and returns each delivery's outcome. All of
// a subject's deliveries in the batch go to one lane (subjects are dealt out to the lanes in turn), and
// a lane posts its deliveries one after the other in seq order: a subject's events arrive in order,
// while up to lanes subjects are posted at once. The next batch is claimed only after this one is
// recorded, so no two batches post at once. After a subject's delivery fails, its later deliveries in the batch are not posted
// (they are released, to follow the failed one when it succeeds). A lane also stops posting once an
// attempt could outlast the batch's lease, so that no post is in flight after another replica may
// have claimed the same delivery.
func (w *Worker) sendBatch(postCtx, stop context.Context, ep *endpoint, cs []claimed, lanes int) []outcome {
	outs := make([]outcome, len(cs))
	byLane := make([][]int, lanes)
	laneOf := map[string]int{}
	for i, c := range cs {
		l, ok := laneOf[c.Subject]
		if !ok {
			l = len(laneOf) % lanes
			laneOf[c.Subject] = l
		}
		byLane[l] = append(byLane[l], i)
	}
	budget := ep.send.maxDuration()
	var wg sync.WaitGroup
	for _, idx := range byLane {
		if len(idx) == 0 {
			continue
		}
		wg.Go(func() {
			failed := map[string]bool{}
			for n, i := range idx {
				c := cs[i]
				if stop.Err() != nil {
					outs[i] = outcome{aborted: true, err: "the worker stopped"}
					continue
				}
				// A lane's first post always goes: its lease was taken for one attempt.
				if failed[c.Subject] || (n > 0 && w.now().Add(budget).After(c.LeaseUntil)) {
					outs[i] = outcome{held: true, err: "not posted in this batch"}
					failed[c.Subject] = true
					continue
				}
				outs[i] = w.sendOne(postCtx, stop, ep, c)
				if !outs[i].ok {
					failed[c.Subject] = true
				}
			}
		})
	}
	wg.Wait()
	return outs
}

// sendOne posts one claimed delivery.
func (w *Worker) sendOne(postCtx, stop context.Context, ep *endpoint, c claimed) outcome {
	if c.Payload == nil {
		return outcome{err: "the event is no longer in the outbox (pruned)"}
	}
	body, truncated := fit(c.Payload, ep.MaxPayloadBytes)
	if truncated {
		w.stats.truncated.Add(1)
		w.log.Warn("webhooks: event larger than max_payload_bytes; sent without its resource, marked \"truncated\"",
			"endpoint", ep.Name, "event_id", c.EventID, "subject", c.Subject, "bytes", len(c.Payload), "max", ep.MaxPayloadBytes)
	}
	return ep.send.post(postCtx, stop, c.EventID, body, w.now())
}
