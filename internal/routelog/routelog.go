// Package routelog is the audit trail of routing, conversion, merge and enrichment actions:
// writes (deduplicated by idempotency key), filtered export as JSON or CSV, stats and retention.
//
// route_logs is partitioned by month on timestamp. Writers create a missing month on demand;
// retention drops whole months when every row in them has expired and deletes rows otherwise.
package routelog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/schema"
)

// Objects and actions the seed names; exports filter on them.
var (
	Objects = []string{"Lead", "Contact", "Account", "Opportunity"}
	Actions = []string{"assign", "convert", "merge", "enrich"}
)

// Entry is one log entry, in the seed's field names. Optional fields are omitted when absent.
type Entry struct {
	Timestamp      time.Time       `json:"timestamp" doc:"When the action happened (UTC)"`
	Object         string          `json:"object" enum:"Lead,Contact,Account,Opportunity" doc:"Salesforce object type"`
	ObjectID       string          `json:"object_id" doc:"Salesforce ID of the object"`
	Action         string          `json:"action" enum:"assign,convert,merge,enrich" doc:"Action performed"`
	Pool           *string         `json:"pool,omitempty" doc:"Round-robin pool name (assign actions)"`
	AssignedTo     *string         `json:"assigned_to,omitempty" doc:"Salesforce ID of the assigned user (assign actions)"`
	PrevOwner      *string         `json:"prev_owner,omitempty" doc:"Previous owner ID (assign and convert actions)"`
	Sequence       *int64          `json:"sequence,omitempty" doc:"Round-robin sequence number (assign actions)"`
	Reason         string          `json:"reason" doc:"Reason for the action, e.g. round_robin, manual_override"`
	RequestID      string          `json:"request_id" doc:"Request ID for tracking"`
	IdempotencyKey string          `json:"idempotency_key" doc:"Idempotency key for duplicate prevention"`
	Diff           json.RawMessage `json:"diff,omitempty" doc:"Field changes for enrichment and merge actions"`
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (e *Entry) validate(i int) error {
	field := func(f string) string { return fmt.Sprintf("entries[%d].%s", i, f) }
	switch {
	case e.Timestamp.IsZero():
		return apperr.Field(field("timestamp"), "is required")
	case !contains(Objects, e.Object):
		return apperr.Field(field("object"), "must be one of Lead, Contact, Account, Opportunity")
	case e.ObjectID == "":
		return apperr.Field(field("object_id"), "is required")
	case !contains(Actions, e.Action):
		return apperr.Field(field("action"), "must be one of assign, convert, merge, enrich")
	case len(e.Diff) > 0 && !json.Valid(e.Diff):
		return apperr.Field(field("diff"), "must be valid JSON")
	}
	return nil
}

// Write appends entries for an org and returns how many were new. An entry whose
// (idempotency_key, action, object_id) was already written is skipped, so a retried action
// logs once. Entries without an idempotency key are always written.
func Write(ctx context.Context, db bun.IDB, orgID uuid.UUID, entries ...Entry) (int, error) {
	rows := make([]schema.RouteLog, 0, len(entries))
	var keys []schema.RouteLogKey
	for i := range entries {
		e := &entries[i]
		if err := e.validate(i); err != nil {
			return 0, err
		}
		rows = append(rows, schema.RouteLog{
			OrgID: orgID, Timestamp: e.Timestamp.UTC(), Object: e.Object, ObjectID: e.ObjectID,
			Action: e.Action, Pool: e.Pool, AssignedTo: e.AssignedTo, PrevOwner: e.PrevOwner,
			Sequence: e.Sequence, Reason: e.Reason, RequestID: e.RequestID,
			IdempotencyKey: e.IdempotencyKey, Diff: e.Diff,
		})
		if e.IdempotencyKey != "" {
			keys = append(keys, schema.RouteLogKey{OrgID: orgID, IdempotencyKey: e.IdempotencyKey,
				Action: e.Action, ObjectID: e.ObjectID, Timestamp: e.Timestamp.UTC()})
		}
	}
	if len(rows) == 0 {
		return 0, nil
	}
	written := 0
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		fresh := rows
		if len(keys) > 0 {
			var claimed []schema.RouteLogKey
			if err := tx.NewInsert().Model(&keys).On("CONFLICT DO NOTHING").
				Returning("idempotency_key, action, object_id").Scan(ctx, &claimed); err != nil && !isNoRows(err) {
				return err
			}
			isNew := map[[3]string]bool{}
			for _, k := range claimed {
				isNew[[3]string{k.IdempotencyKey, k.Action, k.ObjectID}] = true
			}
			fresh = fresh[:0:0]
			for _, r := range rows {
				k := [3]string{r.IdempotencyKey, r.Action, r.ObjectID}
				if r.IdempotencyKey == "" || isNew[k] {
					fresh = append(fresh, r)
					delete(isNew, k) // the same key twice in one call is still one entry
				}
			}
		}
		if len(fresh) == 0 {
			return nil
		}
		if err := insertRows(ctx, tx, fresh); err != nil {
			return err
		}
		written = len(fresh)
		return nil
	})
	return written, err
}

// insertRows inserts, creating missing month partitions when Postgres says a row has none.
// A savepoint keeps the transaction usable after that first failure.
func insertRows(ctx context.Context, tx bun.Tx, rows []schema.RouteLog) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT route_logs_insert"); err != nil {
		return err
	}
	_, err := tx.NewInsert().Model(&rows).Exec(ctx)
	if err == nil || !isNoPartition(err) {
		return err
	}
	if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT route_logs_insert"); err != nil {
		return err
	}
	months := map[time.Time]bool{}
	for _, r := range rows {
		months[monthOf(r.Timestamp)] = true
	}
	for m := range months {
		if err := EnsurePartition(ctx, tx, m); err != nil {
			return err
		}
	}
	_, err = tx.NewInsert().Model(&rows).Exec(ctx)
	return err
}

// EnsurePartition creates the month partition that holds t, if it is missing.
func EnsurePartition(ctx context.Context, db bun.IDB, t time.Time) error {
	_, err := db.ExecContext(ctx, "SELECT route_logs_ensure_partition(?)", t)
	return err
}

func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// isNoPartition is Postgres' "no partition of relation found for row" (SQLSTATE 23514).
func isNoPartition(err error) bool {
	var pgErr pgdriver.Error
	return errors.As(err, &pgErr) && pgErr.Field('C') == "23514" && strings.Contains(pgErr.Field('M'), "no partition")
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
