package mysql

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// What go-live needs of a store: the shadow store's state read out whole, and the live store writing it
// with the ids the IdP already knows, inside the batch's one transaction. The writes themselves are the
// SCIM writes (CreateUser, UpdateUser, DeleteUser, CreateGroup, UpdateGroup): there is no second
// implementation of what a write does to the app's tables.

type presetID struct{}

// WithID returns ctx asking the next CreateUser or CreateGroup under it to take id as the new resource's
// SCIM id instead of a fresh one: go-live keeps the ids shadow mode gave the IdP.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, presetID{}, id)
}

func (s *Store) idFor(ctx context.Context) string {
	if id, ok := ctx.Value(presetID{}).(string); ok && id != "" {
		return id
	}
	return s.newID()
}

// Within returns the store with every write running as a savepoint of tx (bookkeeping.Runner.Within)
// rather than a transaction of its own; the caller commits or rolls back tx. Without savepoints (an
// engine that has none), a failed write leaves its part in tx, for the caller to roll back.
func (s *Store) Within(tx *sqlx.Tx, savepoints bool) *Store {
	c := *s
	c.run.Within, c.run.NoSavepoints = tx, !savepoints
	return &c
}

// reader is where reads outside a write go: the enclosing transaction of Within, else the pool.
func (s *Store) reader() sqlx.QueryerContext {
	if s.run.Within != nil {
		return s.run.Within
	}
	return s.db
}

// SourceUser is one user of a store as go-live copies it: its attributes as the IdP set them (without
// those a default template rendered), and whether it was deleted through SCIM.
type SourceUser struct {
	ID       string
	Resource scim.Resource
	Deleted  bool
	Meta     Meta
}

// Meta is what a resource's meta says of its history: kept across go-live, so that the IdP sees the same
// created time and version (its ETag) before and after.
type Meta struct {
	Created, LastModified time.Time
	Version               int64
}

// SourceUsers returns up to limit users with ids after after, in id order, deleted ones included.
func (s *Store) SourceUsers(ctx context.Context, after string, limit int) ([]SourceUser, error) {
	var heads []struct {
		ID      string `db:"id"`
		Deleted bool   `db:"deleted"`
	}
	if err := sqlx.SelectContext(ctx, s.reader(), &heads, "SELECT id, deleted_at IS NOT NULL AS deleted FROM "+s.bookTable()+
		" WHERE id > ? ORDER BY id LIMIT ?", after, limit); err != nil {
		return nil, s.classify(err)
	}
	out := make([]SourceUser, 0, len(heads))
	for _, h := range heads {
		rows, err := s.queryUsers(ctx, s.reader(), "WHERE b.id = ?", h.ID)
		if err != nil {
			return nil, s.classify(err)
		}
		if len(rows) == 0 {
			continue // its app row is gone (out of scope or deleted by hand): nothing to copy
		}
		r, _, err := s.readUser(ctx, s.reader(), rows[0], false)
		if err != nil {
			return nil, s.classify(err)
		}
		r = s.m.WithoutDerived(r, rows[0].derived)
		delete(r, "id")
		delete(r, "meta")
		b := rows[0]
		out = append(out, SourceUser{ID: h.ID, Resource: r, Deleted: h.Deleted,
			Meta: Meta{Created: b.created, LastModified: b.lastModified, Version: b.version}})
	}
	return out, nil
}

// UserState says whether the store holds a user with this id, and whether it was deleted.
func (s *Store) UserState(ctx context.Context, id string) (found, deleted bool, err error) {
	var d sql.NullTime
	err = sqlx.GetContext(ctx, s.reader(), &d, "SELECT deleted_at FROM "+s.bookTable()+" WHERE id = ?", id)
	if err == sql.ErrNoRows {
		return false, false, nil
	}
	return err == nil, d.Valid, s.classify(err)
}

// SourceGroup is one group as go-live copies it: its attributes and its members.
type SourceGroup struct {
	ID       string
	Resource scim.Resource
	Members  []scim.Member
	Meta     Meta
}

// SourceGroups returns up to limit groups with ids after after, in id order.
func (s *Store) SourceGroups(ctx context.Context, after string, limit int) ([]SourceGroup, error) {
	var heads []groupRow
	if err := sqlx.SelectContext(ctx, s.reader(), &heads, "SELECT "+groupColumns+" FROM "+s.groupTable()+" g WHERE g.id > ? ORDER BY g.id LIMIT ?",
		after, limit); err != nil {
		return nil, s.classify(err)
	}
	out := make([]SourceGroup, 0, len(heads))
	for _, h := range heads {
		r, err := s.groupResource(ctx, s.reader(), h, true)
		if err != nil {
			return nil, s.classify(err)
		}
		g := SourceGroup{ID: h.ID, Meta: Meta{Created: h.Created, LastModified: h.LastModified, Version: h.Version}}
		list, _ := r["members"].([]any)
		for _, m := range list {
			m, _ := m.(map[string]any)
			v, _ := m["value"].(string)
			d, _ := m["display"].(string)
			g.Members = append(g.Members, scim.Member{Value: v, Display: d})
		}
		g.Resource = withoutMembers(r)
		delete(g.Resource, "id")
		delete(g.Resource, "meta")
		out = append(out, g)
	}
	return out, nil
}

// GroupExists says whether the store holds a group with this id.
func (s *Store) GroupExists(ctx context.Context, id string) (bool, error) {
	var n int
	err := sqlx.GetContext(ctx, s.reader(), &n, "SELECT COUNT(*) FROM "+s.groupTable()+" WHERE id = ?", id)
	return n > 0, s.classify(err)
}

// UserCount is how many users (deleted ones included) the store's bookkeeping holds.
func (s *Store) UserCount(ctx context.Context) (int, error) {
	var n int
	err := sqlx.GetContext(ctx, s.reader(), &n, "SELECT COUNT(*) FROM "+s.bookTable())
	return n, s.classify(err)
}

// KeepMeta sets the created time, last modification and version of a user ("User") or group ("Group")
// to m: go-live gives the live resource the history the IdP saw in shadow mode. It changes no app row.
func (s *Store) KeepMeta(ctx context.Context, kind, id string, m Meta) error {
	table := s.bookTable()
	if kind == "Group" {
		table = s.groupTable()
	}
	return s.inTx(ctx, func(tx *bookkeeping.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE "+table+" SET created = ?, last_modified = ?, version = ? WHERE id = ?",
			m.Created.UTC(), m.LastModified.UTC(), m.Version, id)
		return err
	})
}
