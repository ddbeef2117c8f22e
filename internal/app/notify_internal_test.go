package app

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A write wakes the webhook worker after its answer is written; a read does not.
func TestNotifyOnWriteAfterTheAnswer(t *testing.T) {
	answered, notified := false, 0
	h := notifyOnWrite(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		answered = true
		w.WriteHeader(http.StatusCreated)
	}), func() {
		if !answered {
			t.Error("notified before the answer")
		}
		notified++
	})
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/scim/v2/Users", nil))
	}
	if notified != 4 {
		t.Errorf("notified %d times; want 4 (POST, PUT, PATCH, DELETE)", notified)
	}
}
