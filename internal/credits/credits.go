// Package credits is the credit ledger every billable feature debits through.
//
// The ledger is append-only; the balance row per org is what concurrent writers lock. A debit
// takes the balance row lock, refuses when the balance cannot cover it, and appends one ledger
// row keyed by (kind, request, step): a retried step finds its row and charges nothing. The
// balance column's CHECK (balance >= 0) is the last line against overspending.
package credits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/schema"
)

// Kinds of ledger entries.
const (
	KindGrant  = "grant"
	KindDebit  = "debit"
	KindRefund = "refund"
)

// Charge identifies one billable step of one request.
type Charge struct {
	OrgID     uuid.UUID
	APIKeyID  *uuid.UUID // nil for work no key asked for (schedules, operators)
	RequestID string     // the API request or workflow that does the work
	Step      string     // the step within it, e.g. "phone/libphonenumber"
	Service   string     // what usage reports group by, e.g. "enrich.phone"
	Amount    int64      // credits, > 0
	Memo      string
}

// Result is the outcome of a ledger write.
type Result struct {
	Entry     schema.CreditEntry
	Balance   int64 // the balance after this call
	Duplicate bool  // the entry already existed; nothing was charged or credited again
}

// Balance returns an org's current balance.
func Balance(ctx context.Context, db bun.IDB, orgID uuid.UUID) (int64, error) {
	var b int64
	err := db.NewSelect().Model((*schema.CreditBalance)(nil)).Column("balance").
		Where("org_id = ?", orgID).Scan(ctx, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return b, err
}

// Debit charges c.Amount, once per (request, step). It returns an insufficient_credits error,
// and changes nothing, when the balance cannot cover it.
func Debit(ctx context.Context, db bun.IDB, c Charge) (Result, error) {
	if err := c.validate(); err != nil {
		return Result{}, err
	}
	return write(ctx, db, c, KindDebit, -c.Amount)
}

// Refund gives back up to what (request, step) was debited, once. The refund is attributed to
// the debit's key and service, so usage reports net them out.
func Refund(ctx context.Context, db bun.IDB, c Charge) (Result, error) {
	if err := c.validate(); err != nil {
		return Result{}, err
	}
	debit, found, err := find(ctx, db, c.OrgID, KindDebit, c.RequestID, c.Step)
	if err != nil {
		return Result{}, err
	}
	if !found {
		return Result{}, apperr.New(apperr.NotFound, "no debit for request %q step %q", c.RequestID, c.Step)
	}
	if c.Amount > -debit.Amount {
		return Result{}, apperr.Field("amount", "refund of %d exceeds the debit of %d", c.Amount, -debit.Amount)
	}
	c.APIKeyID, c.Service = debit.APIKeyID, debit.Service
	return write(ctx, db, c, KindRefund, c.Amount)
}

// Grant adds credits to an org. RequestID makes a grant idempotent (an invoice id, say).
func Grant(ctx context.Context, db bun.IDB, c Charge) (Result, error) {
	if c.RequestID == "" {
		c.RequestID = "grant_" + uuid.NewString()
	}
	if c.Step == "" {
		c.Step = "grant"
	}
	if c.Service == "" {
		c.Service = "grant"
	}
	if err := c.validate(); err != nil {
		return Result{}, err
	}
	return write(ctx, db, c, KindGrant, c.Amount)
}

func (c Charge) validate() error {
	switch {
	case c.OrgID == uuid.Nil:
		return apperr.Field("org_id", "is required")
	case c.RequestID == "":
		return apperr.Field("request_id", "is required")
	case c.Step == "":
		return apperr.Field("step", "is required")
	case c.Amount <= 0:
		return apperr.Field("amount", "must be positive, got %d", c.Amount)
	}
	return nil
}

// write moves the balance by delta and appends the ledger entry in one transaction. The
// balance update comes first: it takes the org's row lock, so concurrent writers queue there
// and each sees the balance the previous one left.
func write(ctx context.Context, db bun.IDB, c Charge, kind string, delta int64) (Result, error) {
	var res Result
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var balance int64
		q := tx.NewUpdate().Model((*schema.CreditBalance)(nil)).
			Set("balance = balance + ?", delta).
			Set("updated_at = now()").
			Where("org_id = ?", c.OrgID)
		if delta < 0 {
			q = q.Where("balance >= ?", -delta)
		}
		err := q.Returning("balance").Scan(ctx, &balance)
		if errors.Is(err, sql.ErrNoRows) {
			// Either the org has no balance row or it cannot cover the debit; a retried debit
			// that already went through must still answer as a duplicate, not as a refusal.
			if prior, ok, perr := find(ctx, tx, c.OrgID, kind, c.RequestID, c.Step); perr != nil {
				return perr
			} else if ok {
				res = Result{Entry: prior, Balance: 0, Duplicate: true}
				res.Balance, err = Balance(ctx, tx, c.OrgID)
				return err
			}
			current, berr := Balance(ctx, tx, c.OrgID)
			if berr != nil {
				return berr
			}
			return &apperr.Error{Code: apperr.InsufficientCredits,
				Message: fmt.Sprintf("this needs %d credits and %d remain", -delta, current)}
		}
		if err != nil {
			return err
		}
		entry := schema.CreditEntry{
			OrgID: c.OrgID, APIKeyID: c.APIKeyID, Kind: kind, RequestID: c.RequestID, Step: c.Step,
			Service: c.Service, Amount: delta, BalanceAfter: balance, Memo: c.Memo,
		}
		ins, err := tx.NewInsert().Model(&entry).
			On("CONFLICT (org_id, kind, request_id, step) DO NOTHING").
			Returning("*").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := ins.RowsAffected(); n == 0 {
			// Already applied: undo the balance move by rolling back, and report the original.
			prior, _, err := find(ctx, tx, c.OrgID, kind, c.RequestID, c.Step)
			if err != nil {
				return err
			}
			res = Result{Entry: prior, Balance: balance - delta, Duplicate: true}
			return errDuplicate
		}
		res = Result{Entry: entry, Balance: balance}
		return nil
	})
	if errors.Is(err, errDuplicate) {
		return res, nil
	}
	return res, err
}

var errDuplicate = errors.New("duplicate ledger entry")

func find(ctx context.Context, db bun.IDB, orgID uuid.UUID, kind, requestID, step string) (schema.CreditEntry, bool, error) {
	var e schema.CreditEntry
	err := db.NewSelect().Model(&e).
		Where("org_id = ? AND kind = ? AND request_id = ? AND step = ?", orgID, kind, requestID, step).
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return e, false, nil
	}
	return e, err == nil, err
}

// GroupBy is how usage rows are grouped.
type GroupBy string

const (
	ByDay     GroupBy = "day"
	ByService GroupBy = "service"
	ByAPIKey  GroupBy = "api_key"
)

// UsageRow is credits used within one group.
type UsageRow struct {
	Key         string `bun:"key" json:"key" doc:"The UTC day (YYYY-MM-DD), the service, or the API key prefix"`
	APIKeyID    string `bun:"api_key_id" json:"api_key_id,omitempty" doc:"The key's id, when grouping by api_key"`
	CreditsUsed int64  `bun:"credits_used" json:"credits_used" doc:"Credits debited minus credits refunded"`
	Requests    int64  `bun:"requests" json:"requests" doc:"Billable steps charged"`
	Refunded    int64  `bun:"refunded" json:"refunded" doc:"Credits refunded"`
}

// Usage is what an org spent over [From, To).
type Usage struct {
	From        time.Time  `json:"from"`
	To          time.Time  `json:"to"`
	GroupBy     GroupBy    `json:"group_by" enum:"day,service,api_key"`
	CreditsUsed int64      `json:"total_credits_used" doc:"Credits debited minus credits refunded"`
	Requests    int64      `json:"total_requests" doc:"Billable steps charged"`
	Refunded    int64      `json:"total_refunded"`
	Granted     int64      `json:"total_granted" doc:"Credits added to the balance in the range"`
	Rows        []UsageRow `json:"rows"`
}

// usageGroups are the SELECT and GROUP BY expressions of each grouping: constants, never input.
var usageGroups = map[GroupBy]struct{ key, keyID, groupBy string }{
	ByDay:     {"to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')", "''", "1"},
	ByService: {"l.service", "''", "1"},
	ByAPIKey:  {"coalesce(k.prefix, 'none')", "coalesce(l.api_key_id::text, '')", "l.api_key_id, k.prefix"},
}

// UsageBetween sums the ledger of one org over [from, to), grouped.
func UsageBetween(ctx context.Context, db bun.IDB, orgID uuid.UUID, from, to time.Time, by GroupBy) (Usage, error) {
	g, ok := usageGroups[by]
	if !ok {
		return Usage{}, apperr.Field("group_by", "must be one of day, service, api_key")
	}
	u := Usage{From: from, To: to, GroupBy: by, Rows: []UsageRow{}}
	err := db.NewRaw(`
SELECT `+g.key+` AS key, `+g.keyID+` AS api_key_id,
       -sum(l.amount) AS credits_used,
       count(*) FILTER (WHERE l.kind = 'debit') AS requests,
       coalesce(sum(l.amount) FILTER (WHERE l.kind = 'refund'), 0) AS refunded
FROM credit_ledger AS l
LEFT JOIN api_keys AS k ON k.id = l.api_key_id AND k.org_id = l.org_id
WHERE l.org_id = ? AND l.created_at >= ? AND l.created_at < ? AND l.kind IN ('debit', 'refund')
GROUP BY `+g.groupBy+` ORDER BY 1`, orgID, from, to).Scan(ctx, &u.Rows)
	if err != nil {
		return Usage{}, err
	}
	for _, r := range u.Rows {
		u.CreditsUsed += r.CreditsUsed
		u.Requests += r.Requests
		u.Refunded += r.Refunded
	}
	err = db.NewSelect().Model((*schema.CreditEntry)(nil)).ColumnExpr("coalesce(sum(amount), 0)").
		Where("org_id = ? AND kind = ? AND created_at >= ? AND created_at < ?", orgID, KindGrant, from, to).
		Scan(ctx, &u.Granted)
	return u, err
}
