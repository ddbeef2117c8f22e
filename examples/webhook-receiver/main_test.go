package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/webhook"
)

func TestVerifiesAndDeduplicates(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	h, err := NewHandler(secret, false, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var got []Event
	h.Process = func(ev Event) error { got = append(got, ev); return nil }
	key, _ := config.WebhookSecretBytes(secret)
	body := []byte(`{"id":"e1","type":"user.created","resource":{"id":"u1","userName":"ann"}}`)
	post := func(sig string) int {
		req := httptest.NewRequest("POST", "/hooks/scim", bytes.NewReader(body))
		now := time.Now()
		req.Header.Set("webhook-id", "e1")
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		if sig == "" {
			sig = webhook.Sign(key, "e1", now, body)
		}
		req.Header.Set("webhook-signature", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if c := post("v1,AAAA"); c != http.StatusUnauthorized {
		t.Errorf("forged: %d", c)
	}
	if c := post(""); c != http.StatusNoContent {
		t.Errorf("genuine: %d", c)
	}
	if c := post(""); c != http.StatusNoContent {
		t.Errorf("duplicate: %d", c)
	}
	if len(got) != 1 || got[0].Type != "user.created" || got[0].Resource["userName"] != "ann" {
		t.Errorf("processed %+v", got)
	}
}
