// Package ratelimit enforces per-key, per-API-group request limits shared by every API replica.
//
// The algorithm is the sliding-window counter: one counter per key, group and minute, and the
// estimate count(this minute) + count(last minute) × (unelapsed share of this minute). It holds
// across minute boundaries (50 calls at 12:00:59 and 1 at 12:01:00 is still over a limit of 50)
// at the cost of one row per key and group per minute. Counters live in Postgres, so two API
// processes share them; the increment is one conditional upsert, so concurrent requests can
// never push a counter past the limit.
package ratelimit

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/coalesce"
	"github.com/lanternhq/lantern/schema"
)

// Group is an API group with its own limit.
type Group string

const (
	Sync            Group = "sync"              // /v1/enrich
	Match           Group = "match"             // /v1/match
	Salesforce      Group = "salesforce"        // /v1/salesforce
	Routing         Group = "routing"           // /v1/routing
	Triggers        Group = "triggers"          // /v1/triggers
	Async           Group = "async"             // batch submissions under /v1/agents
	AsyncStatus     Group = "async_status"      // polling batches
	Credits         Group = "credits"           // /v1/credits
	LogsExport      Group = "logs_export"       // GET /v1/logs/routing
	LogsExportLarge Group = "logs_export_large" // the same, for exports over 5,000 records
	LogsStats       Group = "logs_stats"        // GET /v1/logs/stats
	LogsSettings    Group = "logs_settings"     // GET/PUT /v1/logs/retention
	CRM             Group = "crm"               // /v1/crm (records; a bulk request counts once)
	Workflows       Group = "workflows"         // /v1/workflows (high burst)
	Forms           Group = "forms"             // /v1/forms (high burst)
)

// Defaults are the seed's per-minute limits; where the seed says only "per-minute", we chose.
func Defaults() map[Group]int {
	return map[Group]int{
		Sync:            50,
		Match:           50,
		Salesforce:      50,
		Routing:         120,
		Triggers:        120,
		Async:           1,
		AsyncStatus:     120,
		Credits:         10,
		LogsExport:      10,
		LogsExportLarge: 2,
		LogsStats:       20,
		LogsSettings:    20,
		CRM:             600,
		Workflows:       1000,
		Forms:           1000,
	}
}

// Window is the length of one counter.
const Window = time.Minute

// Decision is the outcome of one Take.
type Decision struct {
	Allowed    bool
	KeyActive  bool // false when the key was revoked since it was authenticated
	Limit      int
	Remaining  int
	Reset      time.Time     // when the current window ends
	RetryAfter time.Duration // when not allowed: how long until one more request fits

	// CreditBalance is the org's credit balance, read in the same round trip for the
	// X-Credits-Remaining header.
	CreditBalance int64
}

// Limiter takes from the shared counters. Concurrent takes for the same key and group in one
// process are coalesced: one statement asks for as many tokens as there are callers waiting
// and hands them out in arrival order, so a burst on one key costs a few round trips, not one
// per request queueing on the same row lock. The statement is prepared once per connection.
type Limiter struct {
	take  *schema.Stmt
	now   func() time.Time
	takes *coalesce.Coalescer[takeKey, struct{}, Decision]

	mu       sync.Mutex
	reserved map[takeKey]*reserve
}

// Keys with high limits reserve a little ahead. A key allowed at least reserveFrom requests a
// minute takes limit/reserveShare (0.5%) more tokens than its waiting callers need and serves
// the next calls from that reserve without a round trip. The reserve is counted in Postgres
// when it is taken, so the limit still holds across replicas; what it costs is that near the
// limit another replica may refuse while this one holds a few unused tokens, at most 0.5% of
// the limit each, for at most reserveMaxAge or until the window ends. Keys under reserveFrom
// (every default except workflows and forms) are counted exactly, one round trip per batch.
const (
	reserveFrom   = 200
	reserveShare  = 200
	reserveMaxAge = time.Second
)

// reserve is tokens this process took ahead for one key and group, valid in one window.
type reserve struct {
	window  time.Time
	fetched time.Time
	tokens  int
	dbRoom  int      // room left in Postgres after the reservation
	base    Decision // limit, reset and credit balance as of the reservation
}

type takeKey struct {
	org, key uuid.UUID
	group    Group
	limit    int
}

// New returns a Limiter over db. now is the clock (time.Now in production).
func New(db *bun.DB, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{take: schema.NewStmt(db, takeSQL), now: now, reserved: map[takeKey]*reserve{}}
	l.takes = coalesce.New(l.takeN, 10*time.Second)
	return l
}

// Forget drops every reserve, so the next call of each key goes to Postgres (which also
// re-checks that the key is still active). The API calls it when any key changes.
func (l *Limiter) Forget() {
	l.mu.Lock()
	clear(l.reserved)
	l.mu.Unlock()
}

// takeSQL asks for up to n tokens ($8) in one statement:
//   - key: the key must still be active; a revoked key takes nothing;
//   - room: how many requests this window may still hold: the limit minus last minute's
//     weighted count;
//   - ins: creates or bumps this minute's counter by as many of the n as fit under room, and
//     records in last_grant how many that was (in UPDATE ... SET, w.count is the old value);
//     when none fit, no row is written and ins is empty;
//   - then this minute's count before the statement, for Retry-After on refusal;
//   - and, because every response carries X-Credits-Remaining and this round trip is already
//     paid for, the org's credit balance.
const takeSQL = `
WITH key AS (
    SELECT id FROM api_keys WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL
), prev AS (
    SELECT count FROM rate_limit_windows WHERE api_key_id = $1 AND grp = $3 AND window_start = $5
), room AS (
    SELECT $7::integer - floor(coalesce((SELECT count FROM prev), 0) * $6::float8)::integer AS n
), ins AS (
    INSERT INTO rate_limit_windows AS w (api_key_id, grp, window_start, org_id, count, last_grant)
    SELECT $1, $3, $4, $2, least($8::integer, room.n), least($8::integer, room.n) FROM key, room WHERE room.n >= 1
    ON CONFLICT (api_key_id, grp, window_start) DO UPDATE
        SET count = least(w.count + $8::integer, (SELECT n FROM room)),
            last_grant = least(w.count + $8::integer, (SELECT n FROM room)) - w.count
        WHERE w.count < (SELECT n FROM room)
    RETURNING count, last_grant
)
SELECT
    EXISTS (SELECT 1 FROM key),
    coalesce((SELECT last_grant FROM ins), 0),
    coalesce((SELECT count FROM ins),
             (SELECT count FROM rate_limit_windows WHERE api_key_id = $1 AND grp = $3 AND window_start = $4), 0),
    coalesce((SELECT count FROM prev), 0),
    coalesce((SELECT balance FROM credit_balances WHERE org_id = $2), 0)`

// NoteBalance updates the credit balance kept with an org's reserves after a debit in this
// process, so that X-Credits-Remaining does not lag behind the process's own charges.
func (l *Limiter) NoteBalance(org uuid.UUID, balance int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, r := range l.reserved {
		if k.org == org {
			r.base.CreditBalance = balance
		}
	}
}

// Take counts one request of a key against a group's limit, if it fits.
func (l *Limiter) Take(ctx context.Context, orgID, keyID uuid.UUID, g Group, limit int) (Decision, error) {
	k := takeKey{org: orgID, key: keyID, group: g, limit: limit}
	if ds := l.fromReserve(k, 1); len(ds) == 1 {
		return ds[0], nil
	}
	return l.takes.Do(ctx, k, struct{}{})
}

// fromReserve serves up to n calls from this process's reserve, if it has a fresh one.
func (l *Limiter) fromReserve(k takeKey, n int) []Decision {
	if k.limit < reserveFrom {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.reserved[k]
	if r == nil || !r.window.Equal(now.Truncate(Window)) || now.Sub(r.fetched) > reserveMaxAge {
		delete(l.reserved, k)
		return nil
	}
	var out []Decision
	for ; n > 0 && r.tokens > 0; n-- {
		r.tokens--
		d := r.base
		d.Allowed = true
		d.Remaining = r.dbRoom + r.tokens
		out = append(out, d)
	}
	return out
}

// addReserve keeps tokens taken ahead, on top of what is left of a reserve of the same window.
func (l *Limiter) addReserve(k takeKey, r reserve) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old := l.reserved[k]; old != nil && old.window.Equal(r.window) {
		r.tokens += old.tokens
	}
	l.reserved[k] = &r
}

// takeN serves n waiting calls: first from the reserve, then from Postgres, asking it for a
// new reserve too when the limit is high. The first decisions are granted, the rest refused.
func (l *Limiter) takeN(ctx context.Context, k takeKey, calls []struct{}) ([]Decision, error) {
	n := len(calls)
	out := l.fromReserve(k, n)
	need := n - len(out)
	if need == 0 {
		return out, nil
	}
	now := l.now()
	start := now.Truncate(Window)
	prevWeight := 1 - float64(now.Sub(start))/float64(Window) // share of last minute still inside the window
	var (
		active                   bool
		granted, count, previous int
		balance                  int64
	)
	extra := 0
	if k.limit >= reserveFrom {
		extra = k.limit / reserveShare
	}
	rows, err := l.take.QueryContext(ctx, k.key, k.org, string(k.group), start, start.Add(-Window), prevWeight, k.limit, need+extra)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, errors.Join(rows.Err(), errors.New("ratelimit: the take statement returned no row"))
	}
	if err := rows.Scan(&active, &granted, &count, &previous, &balance); err != nil {
		return nil, err
	}
	served := min(granted, need)
	left := granted - served
	dbRoom := max(0, k.limit-int(math.Floor(float64(previous)*prevWeight))-count)
	base := Decision{KeyActive: active, Limit: k.limit, Reset: start.Add(Window), CreditBalance: balance}
	if left > 0 {
		l.addReserve(k, reserve{window: start, fetched: now, tokens: left, dbRoom: dbRoom, base: base})
	}
	for i := range need {
		d := base
		switch {
		case !active:
		case i < served:
			// Each caller sees what was left after its own token.
			d.Allowed = true
			d.Remaining = dbRoom + left + served - 1 - i
		default:
			d.RetryAfter = retryAfter(k.limit, count, previous, now.Sub(start))
		}
		out = append(out, d)
	}
	return out, nil
}

// retryAfter is how long until one more request fits, given this window's count, the last
// window's count and how far into this window we are. It steps forward a second at a time: the
// estimate only falls as time passes, and two windows always suffice.
func retryAfter(limit, current, previous int, elapsed time.Duration) time.Duration {
	for wait := time.Second; wait < 2*Window; wait += time.Second {
		into, cur, prev := elapsed+wait, current, previous
		if into >= Window { // the next window: this one's count becomes the decaying one
			into, cur, prev = into-Window, 0, current
		}
		if fits(limit, cur, prev, into) {
			return wait
		}
	}
	return 2 * Window
}

func fits(limit, current, previous int, into time.Duration) bool {
	w := 1 - float64(into)/float64(Window)
	return current+1+int(math.Floor(float64(previous)*w)) <= limit
}

// Prune deletes counters older than the sliding window needs. It is maintenance across every
// org: counters are not tenant data, and each row is a minute of one key's traffic.
func Prune(ctx context.Context, db bun.IDB, now time.Time) (int64, error) {
	res, err := db.NewDelete().TableExpr("rate_limit_windows").
		Where("window_start < ?", now.Truncate(Window).Add(-2*Window)).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
