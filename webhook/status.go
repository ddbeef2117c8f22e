package webhook

import (
	"strings"
)

// Delivery statuses. pending and failed deliveries are still to be sent ("waiting"); the others are final
// until an operator acts (Retry, RetryDead, Replay, Enable).
const (
	StatusPending   = "pending"   // enqueued, not attempted yet (or re-enqueued)
	StatusFailed    = "failed"    // attempted and failed; next_attempt_at says when it is tried again
	StatusDelivered = "delivered" // the receiver answered 2xx
	StatusDead      = "dead"      // failed for give_up_after (or max_attempts); kept for Retry
	StatusDisabled  = "disabled"  // its endpoint answered 410 Gone; kept for Enable
)

// marks returns n comma-separated placeholders.
func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
