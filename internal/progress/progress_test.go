package progress

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// Without a terminal: a log line at most every Every, with the count, the rate and the time left.
func TestLogLines(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	r := Start("roles reconcile", 1000, Options{Log: log, Now: c.now, Every: 10 * time.Second})
	c.advance(5 * time.Second)
	r.Update(100)
	if logs.Len() != 0 {
		t.Fatalf("a line before Every passed: %s", logs.String())
	}
	c.advance(5 * time.Second)
	r.Update(300)
	c.advance(1 * time.Second)
	r.Update(330)
	c.advance(9 * time.Second)
	r.Update(600)
	r.Finish()
	want := `level=INFO msg="roles reconcile: in progress" done=300 rate_per_s=30 total=1000 eta=23s
level=INFO msg="roles reconcile: in progress" done=600 rate_per_s=30 total=1000 eta=13s
`
	if logs.String() != want {
		t.Fatalf("log:\n%s\nwant:\n%s", logs.String(), want)
	}
}

// On a terminal: one line redrawn in place, ended when the work is finished.
func TestTerminalLine(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var term bytes.Buffer
	r := Start("replay", 200, Options{Terminal: &term, Now: c.now})
	c.advance(time.Second)
	r.Update(50)
	c.advance(10 * time.Millisecond)
	r.Update(51) // too soon to redraw
	c.advance(3 * time.Second)
	r.Update(200)
	r.Finish()
	got := strings.Split(term.String(), "\r\033[K")
	want := []string{"", "replay: 50/200 (25%), 50.0/s, ETA 3s", "replay: 200/200 (100%), 49.9/s, ETA 0s", "replay: 200/200 (100%), 49.9/s, took 4.01s\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("terminal output %q, want %q", got, want)
	}
}
