package mysql

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

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
	return "SELECT COUNT(*) FROM " + s.bookTable() + " b JOIN " + quoteIdent(s.m.Table) + " u ON u." +
		quoteIdent(s.m.Key) + " = b." + s.joinKey + " " + cond
}

// ListUsersSQL returns the two queries ListUsers runs for a filter (the count, then the page of
// size count from startIndex 1), with their arguments, for EXPLAIN in benchmarks and investigations.
func (s *Store) ListUsersSQL(filter scim.Expr, count int) (countQuery, pageQuery string, args []any, err error) {
	cond, args, err := s.listCondition(filter)
	if err != nil {
		return "", "", nil, err
	}
	return s.countSQL(cond), s.selectUser + " " + cond + " ORDER BY b.created, b.id LIMIT " + strconv.Itoa(count) + " OFFSET 0", args, nil
}

// ListUsers returns one page of the users matching q.Filter, translated to SQL.
func (s *Store) ListUsers(ctx context.Context, q scim.ListQuery) (scim.Page, error) {
	cond, args, err := s.listCondition(q.Filter)
	if err != nil {
		return scim.Page{}, err
	}
	var page scim.Page
	if err := s.db.GetContext(ctx, &page.Total, s.countSQL(cond), args...); err != nil {
		return page, s.classify(err)
	}
	if page.Total == 0 || q.Count == 0 || q.StartIndex > page.Total {
		return page, nil
	}
	rows, err := s.queryUsers(ctx, s.db, cond+" ORDER BY b.created, b.id LIMIT ? OFFSET ?",
		append(args, q.Count, q.StartIndex-1)...)
	if err != nil {
		return page, s.classify(err)
	}
	if page.Resources, err = s.readUsers(ctx, s.db, rows); err != nil {
		return page, s.classify(err)
	}
	return page, s.classify(s.attachGroups(ctx, s.db, page.Resources...))
}

func (s *Store) scopeSQL() string {
	var b strings.Builder
	for _, col := range slices.Sorted(maps.Keys(s.m.Scope)) {
		b.WriteString(" AND u." + quoteIdent(col) + " = ?")
	}
	return b.String()
}

func (s *Store) scopeArgs() []any {
	var args []any
	for _, col := range slices.Sorted(maps.Keys(s.m.Scope)) {
		args = append(args, s.m.Scope[col])
	}
	return args
}
