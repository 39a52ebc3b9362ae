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
	"github.com/lanternhq/lantern/internal/coalesce"
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
	var debit schema.CreditEntry
	err := db.NewSelect().Model(&debit).
		Where("org_id = ? AND kind = ? AND request_id = ? AND step = ?", c.OrgID, KindDebit, c.RequestID, c.Step).
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Result{}, apperr.New(apperr.NotFound, "no debit for request %q step %q", c.RequestID, c.Step)
	}
	if err != nil {
		return Result{}, err
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

// entry is one ledger write asked of credit_apply.
type entry struct {
	charge Charge
	kind   string
	delta  int64
}

// credit_apply (see the migrations) for one org's batch of entries, in Postgres' parameter
// style for the prepared statement of the hot path and in bun's for any bun.IDB.
const (
	applySQL = "SELECT idx, entry_id, balance_after, created_at, duplicate, refused FROM credit_apply($1, $2, $3, $4, $5, $6, $7, $8)"
	applyBun = "SELECT idx, entry_id, balance_after, created_at, duplicate, refused FROM credit_apply(?, ?, ?, ?, ?, ?, ?, ?)"
)

// queryer runs credit_apply with its arguments.
type queryer func(ctx context.Context, args ...any) (*sql.Rows, error)

// inDB runs credit_apply through any bun.IDB (a transaction included).
func inDB(db bun.IDB) queryer {
	return func(ctx context.Context, args ...any) (*sql.Rows, error) {
		return db.QueryContext(ctx, applyBun, args...)
	}
}

// apply writes entries of one org in one statement and returns one result per entry; a
// refused one is an insufficient_credits error in errs.
func apply(ctx context.Context, q queryer, org uuid.UUID, es []entry) ([]Result, []error, error) {
	n := len(es)
	kinds, reqs, steps, services, memos := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	keys, amounts := make([]string, n), make([]int64, n) // a key id or "" for none
	for i, e := range es {
		kinds[i], reqs[i], steps[i], services[i], memos[i] = e.kind, e.charge.RequestID, e.charge.Step, e.charge.Service, e.charge.Memo
		amounts[i] = e.delta
		if e.charge.APIKeyID != nil {
			keys[i] = e.charge.APIKeyID.String()
		}
	}
	rows, err := q(ctx, org, schema.TextArray(kinds), schema.TextArray(keys), schema.TextArray(reqs), schema.TextArray(steps),
		schema.TextArray(services), schema.Int64Array(amounts), schema.TextArray(memos))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	res, errs, seen := make([]Result, n), make([]error, n), 0
	for rows.Next() {
		var (
			idx            int
			entryID, after sql.NullInt64
			at             sql.NullTime
			dup, refused   bool
		)
		if err := rows.Scan(&idx, &entryID, &after, &at, &dup, &refused); err != nil {
			return nil, nil, err
		}
		seen++
		i, e := idx-1, es[idx-1]
		if refused {
			errs[i] = &apperr.Error{Code: apperr.InsufficientCredits,
				Message: fmt.Sprintf("this needs %d credits and %d remain", -e.delta, after.Int64)}
			continue
		}
		res[i] = Result{Balance: after.Int64, Duplicate: dup, Entry: schema.CreditEntry{
			ID: entryID.Int64, OrgID: org, APIKeyID: e.charge.APIKeyID, Kind: e.kind, RequestID: e.charge.RequestID,
			Step: e.charge.Step, Service: e.charge.Service, Amount: e.delta, Memo: e.charge.Memo, CreatedAt: at.Time}}
		if !dup {
			res[i].Entry.BalanceAfter = after.Int64
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if seen != n {
		return nil, nil, fmt.Errorf("credit_apply returned %d rows for %d entries", seen, n)
	}
	return res, errs, nil
}

// write applies one entry.
func write(ctx context.Context, db bun.IDB, c Charge, kind string, delta int64) (Result, error) {
	res, errs, err := apply(ctx, inDB(db), c.OrgID, []entry{{charge: c, kind: kind, delta: delta}})
	if err != nil {
		return Result{}, err
	}
	return res[0], errs[0]
}

// Ledger debits on the request path. Concurrent debits of one org share one statement (and so
// one commit): every debit of an org locks its balance row, so one at a time would cap an
// org's throughput at one commit per request.
type Ledger struct {
	debits *coalesce.Coalescer[uuid.UUID, Charge, debitResult]
	watch  func(org uuid.UUID, balance int64)
}

// Watch calls f with an org's balance after each of its debits through this ledger, so that
// what caches a balance (the rate limiter's reserves, for the credit header) stays current.
func (l *Ledger) Watch(f func(org uuid.UUID, balance int64)) { l.watch = f }

type debitResult struct {
	res Result
	err error
}

// NewLedger returns a Ledger over db.
func NewLedger(db *bun.DB) *Ledger {
	l := &Ledger{}
	stmt := schema.NewStmt(db, applySQL)
	l.debits = coalesce.New(func(ctx context.Context, org uuid.UUID, cs []Charge) ([]debitResult, error) {
		es := make([]entry, len(cs))
		for i, c := range cs {
			es[i] = entry{charge: c, kind: KindDebit, delta: -c.Amount}
		}
		res, errs, err := apply(ctx, stmt.QueryContext, org, es)
		if err != nil {
			return nil, err
		}
		if l.watch != nil {
			for i := len(res) - 1; i >= 0; i-- { // the last applied entry has the final balance
				if errs[i] == nil {
					l.watch(org, res[i].Balance)
					break
				}
			}
		}
		out := make([]debitResult, len(cs))
		for i := range out {
			out[i] = debitResult{res[i], errs[i]}
		}
		return out, nil
	}, 10*time.Second)
	return l
}

// Debit is credits.Debit, batched with concurrent debits of the same org.
func (l *Ledger) Debit(ctx context.Context, c Charge) (Result, error) {
	if err := c.validate(); err != nil {
		return Result{}, err
	}
	r, err := l.debits.Do(ctx, c.OrgID, c)
	if err != nil {
		return Result{}, err
	}
	return r.res, r.err
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
