package audit

import (
	"context"
	"encoding/json"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// LastID is the id of the newest record, 0 when there is none.
func LastID(ctx context.Context, q sqlx.QueryerContext, t bookkeeping.Tables) (int64, error) {
	var id int64
	err := sqlx.GetContext(ctx, q, &id, "SELECT COALESCE(MAX(id), 0) FROM "+t.Named("audit"))
	return id, err
}

// After returns every record with an id above after, oldest first, read through q: inside the
// transaction that wrote them, `scimbridge plan` reads what go-live's writes recorded before rolling them
// back.
func After(ctx context.Context, q sqlx.QueryerContext, t bookkeeping.Tables, after int64) ([]Record, error) {
	rows, err := q.QueryxContext(ctx, selectRecords+t.Named("audit")+" WHERE id > ? ORDER BY id", after)
	if err != nil {
		return nil, err
	}
	return scanRecords(rows)
}

// selectRecords is the start of a query of whole records, in the column order scanRecords reads.
const selectRecords = "SELECT id, at, actor, request_id, operation, resource_type, scim_id, name, app_key, member_id, changes FROM "

// scanRecords reads every row of a selectRecords query, closing rows.
func scanRecords(rows *sqlx.Rows) ([]Record, error) {
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var doc []byte
		if err := rows.Scan(&r.ID, &r.At, &r.Actor, &r.RequestID, &r.Operation, &r.ResourceType, &r.SCIMID, &r.Name,
			&r.AppKey, &r.MemberID, &doc); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(doc, &r.Changes); err != nil {
			return nil, err
		}
		r.At = r.At.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}
