package batch

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/schema"
)

// ledgerRequest is the ledger request id of a batch's reservation and refund.
func ledgerRequest(id string) string { return "batch:" + id }

// Create records a new batch. A batch with the same id (a repeated idempotency key) is left
// as it is and returned.
func Create(ctx context.Context, db bun.IDB, b *schema.Batch) (*schema.Batch, error) {
	if _, err := db.NewInsert().Model(b).On("CONFLICT (org_id, id) DO NOTHING").Exec(ctx); err != nil {
		return nil, err
	}
	return Get(ctx, db, b.OrgID, b.ID)
}

// Get returns one of an org's batches.
func Get(ctx context.Context, db bun.IDB, org uuid.UUID, id string) (*schema.Batch, error) {
	b := new(schema.Batch)
	err := db.NewSelect().Model(b).Where("org_id = ? AND id = ?", org, id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no batch %s", id)
	}
	return b, err
}

// List returns an org's batches, newest first, optionally of one state, before a cursor
// (the created_at of the last batch of the previous page).
func List(ctx context.Context, db bun.IDB, org uuid.UUID, state string, before *time.Time, limit int) ([]schema.Batch, error) {
	var out []schema.Batch
	q := db.NewSelect().Model(&out).Where("org_id = ?", org).OrderExpr("created_at DESC, id DESC").Limit(limit)
	if state != "" {
		q = q.Where("state = ?", state)
	}
	if before != nil {
		q = q.Where("created_at < ?", *before)
	}
	return out, q.Scan(ctx)
}

// Reserve starts a batch: it debits want credits, or what the balance holds if less, from the
// org's balance as the batch's reservation (once: a retry finds the debit). It returns the
// amount reserved; with nothing to reserve the batch cannot pay for anything.
func Reserve(ctx context.Context, db *bun.DB, org uuid.UUID, id string, keyID *uuid.UUID, service string, want int64, now time.Time) (int64, error) {
	b, err := Get(ctx, db, org, id)
	if err != nil {
		return 0, err
	}
	if b.StartedAt != nil { // reserved before a crash or retry
		return b.CreditsReserved, nil
	}
	var reserved int64
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		bal, err := credits.Balance(ctx, tx, org)
		if err != nil {
			return err
		}
		reserved = min(want, bal)
		if reserved > 0 {
			if _, err := credits.Debit(ctx, tx, credits.Charge{OrgID: org, APIKeyID: keyID, RequestID: ledgerRequest(id),
				Step: "reserve", Service: service, Amount: reserved, Memo: "reservation of batch " + id}); err != nil {
				return err
			}
		}
		_, err = tx.NewUpdate().Model((*schema.Batch)(nil)).
			Set("credits_reserved = ?, state = ?, started_at = ?", reserved, Running, now).
			Where("org_id = ? AND id = ? AND started_at IS NULL", org, id).Exec(ctx)
		return err
	})
	return reserved, err
}

// Charge bills one step of one record against the batch's reservation, once per (record,
// step). It refuses with insufficient_credits, charging nothing, when the reservation cannot
// cover it.
func Charge(ctx context.Context, db *bun.DB, org uuid.UUID, id, recordID, step, service, provider string, amount int64) (dup bool, err error) {
	if amount <= 0 {
		return false, nil
	}
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(&schema.BatchCharge{OrgID: org, BatchID: id, RecordID: recordID, Step: step,
			Service: service, Provider: provider, Amount: amount}).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			dup = true
			return nil
		}
		// The UPDATE takes the batch row's lock and re-checks after waiting, so concurrent
		// records can never push credits_used past the reservation.
		res, err = tx.NewUpdate().Model((*schema.Batch)(nil)).Set("credits_used = credits_used + ?", amount).
			Where("org_id = ? AND id = ? AND credits_used + ? <= credits_reserved AND finished_at IS NULL", org, id, amount).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.InsufficientCredits, "the batch's credits (max_credits or the balance reserved at its start) are used up")
		}
		return nil
	})
	return dup, err
}

// SaveRecord stores a processed record's result; the first result of a record stands.
func SaveRecord(ctx context.Context, db bun.IDB, r *schema.BatchRecord) error {
	_, err := db.NewInsert().Model(r).On("CONFLICT DO NOTHING").Exec(ctx)
	return err
}

// Done returns the record_ids of a batch already processed.
func Done(ctx context.Context, db bun.IDB, org uuid.UUID, id string) (map[string]bool, error) {
	var ids []string
	err := db.NewSelect().Model((*schema.BatchRecord)(nil)).Column("record_id").
		Where("org_id = ? AND batch_id = ?", org, id).Scan(ctx, &ids)
	out := make(map[string]bool, len(ids))
	for _, r := range ids {
		out[r] = true
	}
	return out, err
}

// ProgressOf reads a batch's counters.
func ProgressOf(ctx context.Context, db bun.IDB, b *schema.Batch) (Progress, error) {
	p := Progress{State: b.State, Total: b.Total, CreditsUsed: b.CreditsUsed, Reserved: b.CreditsReserved, Message: b.Message}
	err := db.NewSelect().Model((*schema.BatchRecord)(nil)).
		ColumnExpr("count(*), count(*) FILTER (WHERE success)").
		Where("org_id = ? AND batch_id = ?", b.OrgID, b.ID).Scan(ctx, &p.Processed, &p.Succeeded)
	p.Failed = p.Processed - p.Succeeded
	return p, err
}

// Results is results.jsonl: one line per processed record, in input order.
func Results(ctx context.Context, db bun.IDB, org uuid.UUID, id string) ([]byte, error) {
	var lines []string
	err := db.NewSelect().Model((*schema.BatchRecord)(nil)).ColumnExpr("line::text").
		Where("org_id = ? AND batch_id = ?", org, id).Order("seq").Scan(ctx, &lines)
	if err != nil || len(lines) == 0 {
		return nil, err
	}
	return []byte(strings.Join(lines, "\n") + "\n"), nil
}

// CostsOf is a batch's cost breakdown from its charges.
func CostsOf(ctx context.Context, db bun.IDB, b *schema.Batch, refunded int64, now time.Time) (Costs, error) {
	var cs []schema.BatchCharge
	if err := db.NewSelect().Model(&cs).Where("org_id = ? AND batch_id = ?", b.OrgID, b.ID).Scan(ctx); err != nil {
		return Costs{}, err
	}
	c := Costs{BatchID: b.ID, Reserved: b.CreditsReserved, Refunded: refunded, ByService: map[string]int64{},
		ByProvider: map[string]int64{}, ByRecord: []RecordCost{}, GeneratedAt: now}
	per := map[string]*RecordCost{}
	for _, ch := range cs {
		c.Total += ch.Amount
		c.ByService[ch.Service] += ch.Amount
		c.ByProvider[ch.Provider] += ch.Amount
		rc := per[ch.RecordID]
		if rc == nil {
			rc = &RecordCost{RecordID: ch.RecordID, ByProvider: map[string]int64{}}
			per[ch.RecordID] = rc
		}
		rc.Credits += ch.Amount
		rc.ByProvider[ch.Provider] += ch.Amount
	}
	for _, rc := range per {
		c.ByRecord = append(c.ByRecord, *rc)
	}
	sort.Slice(c.ByRecord, func(i, j int) bool { return c.ByRecord[i].RecordID < c.ByRecord[j].RecordID })
	return c, nil
}

// Finish ends a batch in state: it refunds what the reservation did not use and records the
// end, in one transaction that holds the batch row, so no charge lands after the refund. A
// finished batch is left as it is. It returns the batch and the refund (0 on a repeat).
func Finish(ctx context.Context, db *bun.DB, org uuid.UUID, id, state, message string, now time.Time) (*schema.Batch, int64, error) {
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		b := new(schema.Batch)
		if err := tx.NewSelect().Model(b).Where("org_id = ? AND id = ?", org, id).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		if Terminal(b.State) {
			return nil // finished before (a retried activity): its refund happened then
		}
		if left := b.CreditsReserved - b.CreditsUsed; left > 0 {
			if _, err := credits.Refund(ctx, tx, credits.Charge{OrgID: org, RequestID: ledgerRequest(id), Step: "reserve",
				Amount: left, Memo: "unused reservation of batch " + id}); err != nil {
				return err
			}
		}
		_, err := tx.NewUpdate().Model((*schema.Batch)(nil)).Set("state = ?, message = ?, finished_at = ?", state, message, now).
			Where("org_id = ? AND id = ?", org, id).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	b, err := Get(ctx, db, org, id)
	if err != nil {
		return nil, 0, err
	}
	return b, b.CreditsReserved - b.CreditsUsed, nil
}
