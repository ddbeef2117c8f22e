package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/scim"
	"github.com/scimbridge/scimbridge/webhook"
)

// notAvailable is what a hook of work not built yet (issue 17's mode and breaker) shows.
const notAvailable = "not available"

func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	now := c.o.Now()
	mode, breaker := notAvailable, notAvailable
	if c.o.Mode != nil {
		mode = c.o.Mode()
	}
	if c.o.Breaker != nil {
		b, err := c.o.Breaker(ctx)
		if err != nil {
			return err
		}
		breaker = b
	}
	users, err := c.o.Users.CountUsers(ctx)
	if err != nil {
		return err
	}
	groups, err := c.o.Groups.ListGroups(ctx, scim.ListQuery{StartIndex: 1, Count: 1}, false)
	if err != nil {
		return err
	}
	rep, err := c.o.Webhooks.List(ctx, webhook.ListOptions{Statuses: []string{webhook.StatusDead}, Limit: 1})
	if err != nil {
		return err
	}
	c.render(w, http.StatusOK, "overview", s, "Overview", map[string]any{
		"Now": now, "Mode": mode, "Breaker": breaker, "Users": users, "Groups": groups.Total,
		"Tokens":    c.o.Requests.Activity(now, c.o.TokenNames),
		"Endpoints": rep.Endpoints,
		"Errors":    c.o.Requests.Recent(Filter{Status: "errors", Limit: 5}),
	})
	return nil
}

func (c *Console) requests(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	f := Filter{Token: q.Get("token"), Status: q.Get("status"), Text: q.Get("q"), Limit: 500}
	c.render(w, http.StatusOK, "requests", s, "Requests", map[string]any{
		"Filter": f, "Requests": c.o.Requests.Recent(f),
		"Tokens": c.o.Requests.Activity(c.o.Now(), c.o.TokenNames),
	})
	return nil
}

// request shows one request (while the ring holds it) and the audit rows it wrote (as long as the
// trail keeps them).
func (c *Console) request(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	d, found := c.o.Requests.ByID(id)
	rows, err := c.o.Audit(r.Context(), audit.Filter{RequestID: id, Limit: 200})
	if err != nil {
		return err
	}
	if !found && len(rows) == 0 {
		return scim.Errorf(http.StatusNotFound, "", "no request %s among the recent ones, and no audit row of it", id)
	}
	c.render(w, http.StatusOK, "request", s, "Request "+id, map[string]any{"ID": id, "Found": found, "Request": d, "Audit": rows})
	return nil
}

// deliveryStatuses are every status a delivery can have, for the lists that show them all.
var deliveryStatuses = []string{webhook.StatusPending, webhook.StatusFailed, webhook.StatusDead, webhook.StatusDisabled, webhook.StatusDelivered}

func (c *Console) webhooks(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	statuses := []string{webhook.StatusPending, webhook.StatusFailed, webhook.StatusDead, webhook.StatusDisabled}
	if st := q.Get("status"); st != "" {
		statuses = []string{st}
	}
	rep, err := c.o.Webhooks.List(r.Context(), webhook.ListOptions{Endpoint: q.Get("endpoint"), Statuses: statuses, Limit: 200})
	if err != nil {
		return err
	}
	c.render(w, http.StatusOK, "webhooks", s, "Webhooks", map[string]any{
		"Report": rep, "Status": q.Get("status"), "Endpoint": q.Get("endpoint"), "Statuses": deliveryStatuses,
		"Message": q.Get("done"), "Since": c.o.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04"),
	})
	return nil
}

// retry makes a dead or failed delivery due now (webhook.Worker.Retry, as `webhooks retry`).
func (c *Console) retry(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := strconv.ParseInt(r.PostForm.Get("id"), 10, 64)
	if err != nil {
		return scim.Errorf(http.StatusBadRequest, "", "no delivery id")
	}
	if err := c.o.Webhooks.Retry(r.Context(), id); err != nil {
		return scim.Errorf(http.StatusConflict, "", "%s", err.Error())
	}
	c.log.Info("console: webhook delivery retried", "id", id, "who", s.who)
	http.Redirect(w, r, "/webhooks?done="+url.QueryEscape(fmt.Sprintf("Delivery %d will be sent again now.", id)), http.StatusSeeOther)
	return nil
}

// replay enqueues again an endpoint's events since a time (webhook.Worker.Replay, as `webhooks replay`).
func (c *Console) replay(w http.ResponseWriter, r *http.Request, s *session) error {
	endpoint := r.PostForm.Get("endpoint")
	since, err := time.Parse("2006-01-02T15:04", r.PostForm.Get("since"))
	if err != nil {
		return scim.Errorf(http.StatusBadRequest, "", "since must be a time such as 2026-12-03T14:00 (UTC)")
	}
	n, err := c.o.Webhooks.Replay(r.Context(), endpoint, since)
	if err != nil {
		return scim.Errorf(http.StatusConflict, "", "%s", err.Error())
	}
	c.log.Info("console: webhook events replayed", "endpoint", endpoint, "since", since, "events", n, "who", s.who)
	http.Redirect(w, r, "/webhooks?done="+url.QueryEscape(fmt.Sprintf("%d events since %s UTC enqueued again for %s.", n, since.Format("2006-01-02 15:04"), endpoint)), http.StatusSeeOther)
	return nil
}

// lastCheck is the latest `scimbridge check` result, run when the Configuration page is first shown
// and again on request (it opens its own connection and reads the schema: not on every view).
type lastCheck struct {
	mu     sync.Mutex
	at     time.Time
	result CheckResult
	err    error
}

func (c *Console) check(ctx context.Context, again bool) (time.Time, CheckResult, error) {
	c.checked.mu.Lock()
	defer c.checked.mu.Unlock()
	if c.o.Check != nil && (again || c.checked.at.IsZero()) {
		c.checked.result, c.checked.err = c.o.Check(ctx)
		c.checked.at = c.o.Now()
	}
	return c.checked.at, c.checked.result, c.checked.err
}

func (c *Console) configuration(w http.ResponseWriter, r *http.Request, s *session) error {
	at, res, err := c.check(r.Context(), false)
	data := map[string]any{"Config": c.o.Config, "HasCheck": c.o.Check != nil, "CheckedAt": at, "Check": res}
	if err != nil {
		data["CheckError"] = err.Error()
	}
	c.render(w, http.StatusOK, "config", s, "Configuration", data)
	return nil
}

func (c *Console) runCheck(w http.ResponseWriter, r *http.Request, s *session) error {
	c.check(r.Context(), true)
	http.Redirect(w, r, "/config", http.StatusSeeOther)
	return nil
}

func (c *Console) extraAction(p Page) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		msg, err := p.Action(r.Context(), r.PostForm)
		if err != nil {
			return err
		}
		c.log.Info("console: action", "page", p.Path, "who", s.who, "done", msg)
		http.Redirect(w, r, p.Path+"?done="+url.QueryEscape(msg), http.StatusSeeOther)
		return nil
	}
}

func (c *Console) extraPage(p Page) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		data := map[string]any{"Available": p.Content != nil, "Message": r.URL.Query().Get("done"), "CSRF": s.csrf}
		if p.Content != nil {
			q := r.URL.Query()
			q.Set("csrf", s.csrf) // for the forms of the content (Page.Action)
			h, err := p.Content(r.Context(), q)
			if err != nil {
				return err
			}
			data["HTML"] = h
		}
		c.render(w, http.StatusOK, "extra", s, p.Title, data)
		return nil
	}
}
