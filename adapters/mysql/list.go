package mysql

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

// listCondition is the WHERE clause (and its arguments) of a user list with this filter.
func (s *Store) listCondition(filter scim.Expr) (string, []any, error) {
	where, args, err := s.filterSQL(filter)
	if err != nil {
		return "", nil, err
	}
	return "WHERE b.deleted_at IS NULL" + s.scopeSQL() + " AND (" + where + ")", append(s.scopeArgs(), args...), nil
}

func (s *Store) countSQL(cond string) string {
	return "SELECT COUNT(*) FROM " + s.bookTable() + " b" + s.appJoin + " " + cond
}

// pageSQL is the query of the page of count users from offset: a deferred join, so that the rows the
// offset skips are walked on the (created, id) index with the app's key only, and the bookkeeping
// document and app columns are read for the page's rows alone. The first page skips nothing and reads
// its rows directly: the deferred join's second pass cost MariaDB about 15 % more on a one-user lookup.
func (s *Store) pageSQL(cond, order string, offset int) string {
	if offset == 0 {
		return s.selectRead + " " + cond + " ORDER BY " + order + " LIMIT ?"
	}
	return "SELECT " + s.userCols + ", " + inGroupsCol + " FROM (SELECT b.id FROM " + s.bookTable() + " b" + s.appJoin + " " + cond +
		" ORDER BY " + order + " LIMIT ? OFFSET ?) p JOIN " + s.bookTable() + " b ON b.id = p.id" + s.appJoin +
		" ORDER BY " + order
}

// pageArgs are pageSQL's arguments.
func (s *Store) pageArgs(cond []any, count, offset int) []any {
	args := append(slices.Clone(cond), count)
	if offset > 0 {
		args = append(args, offset)
	}
	return args
}

// ListUsersSQL returns the queries of a list with this filter, with their arguments, for EXPLAIN in
// benchmarks and investigations: the count (which ListUsers skips when the page tells the total) and
// the page of size count from startIndex 1.
func (s *Store) ListUsersSQL(filter scim.Expr, count int) (countQuery, pageQuery string, args []any, err error) {
	cond, args, err := s.listCondition(filter)
	if err != nil {
		return "", "", nil, err
	}
	return s.countSQL(cond), s.selectUser + " " + cond + " ORDER BY b.created, b.id LIMIT " + strconv.Itoa(count) + " OFFSET 0", args, nil
}

// ListUsers returns one page of the users matching q.Filter, translated to SQL: from q.StartIndex, or
// after q.Cursor for a cursor query (RFC 9865). Both orders are (created, id), so a client paging either
// way sees the same users in the same order. The page is read first: when it tells the total (see
// pageTotal), as for a filter's one match, the list is one query instead of a COUNT and a page.
func (s *Store) ListUsers(ctx context.Context, q scim.ListQuery) (scim.Page, error) {
	order, err := orderBy(q, userSorts, "b", "user")
	if err != nil {
		return scim.Page{}, err
	}
	if rows, total, ok, err := s.identityPage(ctx, q, order); err != nil {
		return scim.Page{}, s.classify(err)
	} else if ok {
		return s.withResources(ctx, scim.Page{Total: total}, rows)
	}
	cond, args, err := s.listCondition(q.Filter)
	if err != nil {
		return scim.Page{}, err
	}
	var after keyset
	if q.ByCursor {
		if after, err = parseCursor(q.Cursor); err != nil {
			return scim.Page{}, err
		}
	}
	var rows []*bookRow
	seekTotal, seeked := 0, false
	if q.Count > 0 {
		switch {
		case q.ByCursor:
			c, a := after.condition("b")
			rows, err = s.queryUserRows(ctx, s.db, s.selectRead+" "+cond+c+" ORDER BY b.created, b.id LIMIT ?", true,
				append(append(slices.Clone(args), a...), q.Count+1)...)
		case unfiltered(q) && q.SortBy == "":
			// The snapshot's keys are in the default order (created, id); a sorted page reads the table.
			if rows, seekTotal, seeked, err = s.seekPage(ctx, cond, args, q.StartIndex-1, q.Count); err != nil || seeked {
				break
			}
			fallthrough
		default:
			rows, err = s.queryUserRows(ctx, s.db, s.pageSQL(cond, order, q.StartIndex-1), true, s.pageArgs(args, q.Count, q.StartIndex-1)...)
		}
		if err != nil {
			return scim.Page{}, s.classify(err)
		}
	}
	page := scim.Page{Total: after.total}
	switch total, known := pageTotal(q, after, len(rows)); {
	case known:
		page.Total = total
	case seeked:
		page.Total = seekTotal
	case unfiltered(q):
		if page.Total, err = s.unfilteredTotal(ctx, cond, args); err != nil {
			return page, s.classify(err)
		}
	default:
		if err := s.db.GetContext(ctx, &page.Total, s.countSQL(cond), args...); err != nil {
			return page, s.classify(err)
		}
	}
	if q.ByCursor && len(rows) > q.Count {
		rows = rows[:q.Count]
		page.NextCursor = keyset{rows[len(rows)-1].created, rows[len(rows)-1].id, page.Total}.cursor()
	}
	return s.withResources(ctx, page, rows)
}

// withResources is page with the users of rows as its resources.
func (s *Store) withResources(ctx context.Context, page scim.Page, rows []*bookRow) (scim.Page, error) {
	if len(rows) == 0 {
		return page, nil
	}
	var err error
	if page.Resources, err = s.readUsers(ctx, s.db, rows); err != nil {
		return page, s.classify(err)
	}
	return page, s.classify(s.setGroups(ctx, s.db, page.Resources, rows))
}

// pageTotal is the total of matches when the page itself tells it, so that the COUNT is not run: a
// cursor carries its listing's total; a page that is not full (a filter's one match, say) ends the
// list, so the total is the rows before it plus its own, provided it has rows (the rows it skipped
// then exist) or starts at the first.
func pageTotal(q scim.ListQuery, after keyset, rows int) (int, bool) {
	switch {
	case after.id != "":
		return after.total, true
	case q.Count == 0:
		return 0, false
	case q.ByCursor:
		return rows, rows <= q.Count
	case rows < q.Count && (rows > 0 || q.StartIndex == 1):
		return q.StartIndex - 1 + rows, true
	}
	return 0, false
}

// keyset is a position in a list ordered by (created, id): the last row of a cursor page, with the
// listing's total. The total is counted once, on the first page, and carried by the cursor: counting
// the matches costs a pass over the table, while a page after a cursor costs its own rows only. A
// listing's later pages therefore report the total as it was when the listing began.
type keyset struct {
	created time.Time
	id      string
	total   int
}

// cursor is the RFC 9865 cursor of the page after k: opaque to clients, and it never expires, as it
// names a position rather than server state.
func (k keyset) cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(k.created.UTC().Format(time.RFC3339Nano) + " " + k.id + " " + strconv.Itoa(k.total)))
}

// condition is " AND rows after k" on the table alias a; none for the first page.
func (k keyset) condition(a string) (string, []any) {
	if k.id == "" {
		return "", nil
	}
	return " AND (" + a + ".created > ? OR (" + a + ".created = ? AND " + a + ".id > ?))", []any{k.created, k.created, k.id}
}

// parseCursor reads a cursor that cursor made; empty is the first page.
func parseCursor(c string) (keyset, error) {
	if c == "" {
		return keyset{}, nil
	}
	bad := scim.BadRequest(scim.TypeInvalidCursor, "the cursor %q was not issued by this server", c)
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return keyset{}, bad
	}
	parts := strings.Split(string(raw), " ")
	if len(parts) != 3 || parts[1] == "" || len(parts[1]) > 36 {
		return keyset{}, bad
	}
	t, err := time.Parse(time.RFC3339Nano, parts[0])
	total, nerr := strconv.Atoi(parts[2])
	if err != nil || nerr != nil || total < 0 {
		return keyset{}, bad
	}
	return keyset{t.UTC(), parts[1], total}, nil
}

func (s *Store) scopeSQL() string {
	q, _ := scopeCondition(s.m.Scope, "u.")
	return q
}

func (s *Store) scopeArgs() []any {
	_, args := scopeCondition(s.m.Scope, "u.")
	return args
}
