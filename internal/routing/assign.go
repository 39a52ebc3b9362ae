package routing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/routelog"
	"github.com/lanternhq/lantern/schema"
)

// AssignRequest asks for the next owner of one record from a pool.
type AssignRequest struct {
	Pool           string
	Object         string
	ObjectID       string
	Reason         string // "" means round_robin
	IdempotencyKey string
	DryRun         bool
	RequestID      string
}

// Candidate states one member's part in a decision.
type CandidateView struct {
	UserID        string `json:"user_id"`
	Weight        int    `json:"weight"`
	CurrentWeight int64  `json:"current_weight" doc:"Score before this assignment"`
	NextWeight    int64  `json:"next_weight" doc:"Score after this assignment"`
	Available     bool   `json:"available"`
	Skipped       string `json:"skipped,omitempty" doc:"Why the member was skipped"`
	Assigned      int64  `json:"assigned" doc:"Assignments since joining or the last rebalance"`
	Usage         *Usage `json:"cap_usage,omitempty" doc:"Assignments in the cap windows (members with caps)"`
}

// Result is the outcome of an assignment.
type Result struct {
	Assigned   bool            `json:"assigned" doc:"False when nobody in the pool could take the record; nothing was written then"`
	DryRun     bool            `json:"dry_run"`
	Replayed   bool            `json:"replayed" doc:"True when the idempotency key named an earlier assignment, which is returned unchanged"`
	Pool       string          `json:"pool"`
	Object     string          `json:"object"`
	ObjectID   string          `json:"object_id"`
	AssignedTo string          `json:"assigned_to,omitempty" doc:"The new owner (OwnerId)"`
	PrevOwner  string          `json:"prev_owner,omitempty" doc:"The owner before"`
	Sequence   int64           `json:"sequence,omitempty" doc:"The pool's sequence number of this assignment (for a dry run: the one it would get)"`
	Reason     string          `json:"reason"`
	Why        string          `json:"why" doc:"The decision in words"`
	Candidates []CandidateView `json:"candidates,omitempty" doc:"Every member's part in the decision (absent on a replay)"`
	AssignedAt *time.Time      `json:"assigned_at,omitempty"`
}

func (r *AssignRequest) check() error {
	if !slices.Contains(Objects, r.Object) {
		return apperr.Field("body.object", "must be one of Lead, Contact, Account, Opportunity")
	}
	id, ok := crm.To18(r.ObjectID)
	if !ok || crm.ObjectOf(id) != r.Object {
		return apperr.Field("body.object_id", "%q is not a %s id", r.ObjectID, r.Object)
	}
	r.ObjectID = id
	if r.Reason == "" {
		r.Reason = "round_robin"
	}
	if len(r.Reason) > 200 {
		return apperr.Field("body.reason", "must be at most 200 characters")
	}
	if len(r.IdempotencyKey) > 255 {
		return apperr.Field("body.idempotency_key", "must be at most 255 characters")
	}
	if r.Pool == "" {
		return apperr.Field("body.pool", "is required")
	}
	return nil
}

// inTx is a CRM store that can write inside the caller's transaction (crm.Local).
type inTx interface {
	UpdateIn(ctx context.Context, db bun.IDB, org uuid.UUID, object, id string, fields map[string]any, ifVersion int64) (*crm.Record, error)
}

// errStale: the record changed between reading it and writing its owner; the whole
// assignment is rolled back and tried again.
var errStale = errors.New("record changed during assignment")

// Assign picks the next member of the pool for a record, sets the record's owner in the CRM
// and logs it, all or nothing. With a dry run it only says who would be next and why. A
// repeat with the same idempotency key returns the first assignment unchanged.
func (s *Service) Assign(ctx context.Context, org uuid.UUID, req AssignRequest) (*Result, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		// Read outside the pool's lock to keep the lock short; the record's version guards
		// the owner write against a change in between.
		rec, err := s.CRM.Get(ctx, org, req.Object, req.ObjectID)
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil, &apperr.Error{Code: apperr.NotFound, Field: "body.object_id", Message: fmt.Sprintf("no %s %s in the CRM", req.Object, req.ObjectID)}
		}
		if err != nil {
			return nil, err
		}
		res, err := s.assign(ctx, org, req, rec)
		if (errors.Is(err, errStale) || isUnique(err)) && attempt < 5 {
			// A unique key clash means the same idempotency key is being used on another
			// pool right now: the next attempt finds that assignment and answers for it.
			continue
		}
		if errors.Is(err, errStale) {
			return nil, apperr.New(apperr.Conflict, "%s %s kept changing during assignment; try again", req.Object, req.ObjectID)
		}
		return res, err
	}
}

func (s *Service) assign(ctx context.Context, org uuid.UUID, req AssignRequest, rec *crm.Record) (*Result, error) {
	now := s.now()
	prevOwner := rec.Str("OwnerId")
	var res *Result
	ownerSet := false
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		p, err := pool(ctx, tx, org, req.Pool, !req.DryRun)
		if err != nil {
			return err
		}
		if !slices.Contains(p.Objects, req.Object) {
			return apperr.Field("body.object", "pool %s serves %v, not %s", p.Name, p.Objects, req.Object)
		}
		if req.IdempotencyKey != "" {
			prev, err := byKey(ctx, tx, org, req.IdempotencyKey)
			if err != nil {
				return err
			}
			if prev != nil {
				if prev.PoolID != p.ID || prev.ObjectID != req.ObjectID {
					return &apperr.Error{Code: apperr.Conflict, Field: "idempotency_key",
						Message: fmt.Sprintf("was used for %s %s (sequence %d) in another assignment", prev.Object, prev.ObjectID, prev.Sequence)}
				}
				res = replay(p.Name, prev, req.DryRun)
				return nil
			}
		}
		ms, err := members(ctx, tx, org, p.ID)
		if err != nil {
			return err
		}
		views, cands, err := s.candidates(ctx, tx, org, p.ID, ms, now, false)
		if err != nil {
			return err
		}
		d := Next(cands, p.OnReturn == CatchUp)
		for i := range views {
			views[i].NextWeight = d.After[i]
		}
		res = &Result{DryRun: req.DryRun, Pool: p.Name, Object: req.Object, ObjectID: req.ObjectID, PrevOwner: prevOwner,
			Reason: req.Reason, Why: d.Why, Candidates: views}
		if d.Chosen < 0 {
			return nil
		}
		chosen := ms[d.Chosen].UserID
		res.Assigned, res.AssignedTo, res.Sequence = true, chosen, p.LastSequence+1
		if req.DryRun {
			return nil
		}
		res.AssignedAt = &now
		if err := s.record(ctx, tx, org, p, ms, d, req, prevOwner, now); err != nil {
			return err
		}
		// The owner is written last: with a CRM outside this database (Salesforce), a failure
		// of anything before leaves the CRM as it was. The lock is still held, so owners
		// change in sequence order.
		if prevOwner == chosen {
			return nil
		}
		owner := map[string]any{"OwnerId": chosen}
		if local, ok := s.CRM.(inTx); ok {
			// The local store writes in this transaction: all or nothing, and no second
			// connection held while the pool is locked.
			_, err = local.UpdateIn(ctx, tx, org, req.Object, req.ObjectID, owner, rec.Version)
		} else {
			_, err = s.CRM.Update(ctx, org, req.Object, req.ObjectID, owner, rec.Version)
			ownerSet = err == nil
		}
		if apperr.CodeOf(err) == apperr.Conflict {
			return errStale
		}
		return err
	})
	if err != nil && ownerSet {
		// The commit failed after the owner was written: put the owner back and say so.
		var restore any
		if prevOwner != "" {
			restore = prevOwner
		}
		_, uerr := s.CRM.Update(context.WithoutCancel(ctx), org, req.Object, req.ObjectID, map[string]any{"OwnerId": restore}, 0)
		if uerr != nil {
			slog.ErrorContext(ctx, "routing: could not restore owner after a failed assignment", "object_id", req.ObjectID, "err", uerr)
			return nil, apperr.Wrap(apperr.Internal, err, "assignment failed after the owner was set, and restoring the owner failed too")
		}
		return nil, apperr.Wrap(apperr.Unavailable, err, "assignment failed and was undone: the owner of %s %s is %q again", req.Object, req.ObjectID, prevOwner)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// record writes one assignment: the members' new scores, the pool's sequence, the assignment
// row and its route log entry.
func (s *Service) record(ctx context.Context, tx bun.Tx, org uuid.UUID, p *schema.RoutingPool, ms []schema.RoutingMember,
	d Decision, req AssignRequest, prevOwner string, now time.Time) error {
	var users []string
	var scores, incs []int64
	for i := range ms {
		inc := int64(0)
		if i == d.Chosen {
			inc = 1
		}
		if d.After[i] != ms[i].CurrentWeight || inc > 0 {
			users, scores, incs = append(users, ms[i].UserID), append(scores, d.After[i]), append(incs, inc)
		}
	}
	_, err := tx.NewRaw(`UPDATE routing_members AS m SET current_weight = v.score, assigned = m.assigned + v.inc
		FROM unnest(?::text[], ?::bigint[], ?::bigint[]) AS v (user_id, score, inc)
		WHERE m.org_id = ? AND m.pool_id = ? AND m.user_id = v.user_id`,
		pgdialect.Array(users), pgdialect.Array(scores), pgdialect.Array(incs), org, p.ID).Exec(ctx)
	if err != nil {
		return err
	}
	seq := p.LastSequence + 1
	if _, err := tx.NewUpdate().Model((*schema.RoutingPool)(nil)).Set("last_sequence = ?", seq).
		Where("org_id = ? AND id = ?", org, p.ID).Exec(ctx); err != nil {
		return err
	}
	chosen := ms[d.Chosen].UserID
	a := &schema.RoutingAssignment{OrgID: org, PoolID: p.ID, Sequence: seq, Object: req.Object, ObjectID: req.ObjectID,
		UserID: chosen, PrevOwner: prevOwner, Reason: req.Reason, RequestID: req.RequestID, AssignedAt: now}
	if req.IdempotencyKey != "" {
		a.IdempotencyKey = &req.IdempotencyKey
	}
	if _, err := tx.NewInsert().Model(a).Exec(ctx); err != nil {
		return err
	}
	e := routelog.Entry{Timestamp: now, Object: req.Object, ObjectID: req.ObjectID, Action: "assign", Pool: &p.Name,
		AssignedTo: &chosen, Sequence: &seq, Reason: req.Reason, RequestID: req.RequestID, IdempotencyKey: req.IdempotencyKey}
	if prevOwner != "" {
		e.PrevOwner = &prevOwner
	}
	_, err = routelog.Write(ctx, tx, org, e)
	return err
}

func byKey(ctx context.Context, db bun.IDB, org uuid.UUID, key string) (*schema.RoutingAssignment, error) {
	var a schema.RoutingAssignment
	err := db.NewSelect().Model(&a).Where("org_id = ? AND idempotency_key = ?", org, key).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &a, err
}

func replay(poolName string, a *schema.RoutingAssignment, dryRun bool) *Result {
	at := a.AssignedAt
	key := ""
	if a.IdempotencyKey != nil {
		key = *a.IdempotencyKey
	}
	return &Result{Assigned: true, DryRun: dryRun, Replayed: true, Pool: poolName, Object: a.Object, ObjectID: a.ObjectID,
		AssignedTo: a.UserID, PrevOwner: a.PrevOwner, Sequence: a.Sequence, Reason: a.Reason, AssignedAt: &at,
		Why: fmt.Sprintf("idempotency key %q already assigned this record (sequence %d); nothing was changed", key, a.Sequence)}
}

// candidates turns members into the rotation's candidates at now, with the cap usage of the
// members who have caps (of all members with allUsage).
func (s *Service) candidates(ctx context.Context, db bun.IDB, org, poolID uuid.UUID, ms []schema.RoutingMember, now time.Time, allUsage bool) ([]CandidateView, []Candidate, error) {
	usage := map[string]Usage{}
	capped := allUsage
	for i := range ms {
		capped = capped || ms[i].CapDay != nil || ms[i].CapWeek != nil
	}
	// Counting the windows costs a query; pools without caps skip it.
	if capped {
		var rows []struct {
			UserID string
			Day    int64
			Week   int64
		}
		err := db.NewSelect().TableExpr("routing_assignments").
			ColumnExpr("user_id, count(*) FILTER (WHERE assigned_at > ?) AS day, count(*) AS week", now.Add(-24*time.Hour)).
			Where("org_id = ? AND pool_id = ? AND assigned_at > ?", org, poolID, now.Add(-7*24*time.Hour)).
			GroupExpr("user_id").Scan(ctx, &rows)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rows {
			usage[r.UserID] = Usage{Day: r.Day, Week: r.Week}
		}
	}
	views := make([]CandidateView, len(ms))
	cands := make([]Candidate, len(ms))
	for i := range ms {
		m := toMember(&ms[i])
		u := usage[m.UserID]
		skip, away := availability(&m, now, u)
		cands[i] = Candidate{UserID: m.UserID, Weight: int64(m.Weight), Current: m.CurrentWeight, Position: m.Position, Skip: skip, Away: away}
		views[i] = CandidateView{UserID: m.UserID, Weight: m.Weight, CurrentWeight: m.CurrentWeight, NextWeight: m.CurrentWeight,
			Available: skip == "", Skipped: skip, Assigned: m.Assigned}
		if allUsage || m.CapDay != nil || m.CapWeek != nil {
			views[i].Usage = &u
		}
	}
	return views, cands, nil
}

// MemberState is one member in a pool's state.
type MemberState struct {
	Member
	Available bool    `json:"available"`
	Skipped   string  `json:"skipped,omitempty" doc:"Why the member would be skipped now"`
	CapUsage  Usage   `json:"cap_usage" doc:"Assignments in the last 24 hours and 7 days"`
	Share     float64 `json:"share" doc:"The member's part of the pool's assignments since the last rebalance (0-1)"`
}

// NextUp is who the next assignment would go to, and why.
type NextUp struct {
	UserID   string `json:"user_id,omitempty" doc:"Absent when nobody is available"`
	Sequence int64  `json:"sequence,omitempty"`
	Why      string `json:"why"`
}

// ResetRecord is one logged reset.
type ResetRecord struct {
	Mode      string          `json:"mode" enum:"restart,rebalance"`
	Reason    string          `json:"reason"`
	RequestID string          `json:"request_id"`
	Sequence  int64           `json:"sequence" doc:"The pool's last sequence number when it was reset"`
	Before    json.RawMessage `json:"before" doc:"Each member's current_weight and assigned before the reset"`
	ResetAt   time.Time       `json:"reset_at"`
}

// State is a pool's rotation laid open.
type State struct {
	Pool    Pool          `json:"pool"`
	Members []MemberState `json:"members"`
	Next    NextUp        `json:"next"`
	Resets  []ResetRecord `json:"resets" doc:"The latest resets, newest first (at most 20)"`
}

// State shows every member's score, count and cap usage, and who is next and why.
func (s *Service) State(ctx context.Context, org uuid.UUID, poolName string) (*State, error) {
	now := s.now()
	var st *State
	// One read-only transaction at repeatable read: a consistent picture while assignments run.
	err := s.DB.RunInTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, func(ctx context.Context, tx bun.Tx) error {
		p, err := pool(ctx, tx, org, poolName, false)
		if err != nil {
			return err
		}
		ms, err := members(ctx, tx, org, p.ID)
		if err != nil {
			return err
		}
		// The state shows every member's usage, capped or not.
		views, cands, err := s.candidates(ctx, tx, org, p.ID, ms, now, true)
		if err != nil {
			return err
		}
		d := Next(cands, p.OnReturn == CatchUp)
		st = &State{Pool: *toPool(p, len(ms)), Members: make([]MemberState, len(ms)), Resets: []ResetRecord{}}
		var total int64
		for i := range ms {
			total += ms[i].Assigned
		}
		for i := range ms {
			m := MemberState{Member: toMember(&ms[i]), Available: views[i].Available, Skipped: views[i].Skipped, CapUsage: *views[i].Usage}
			if total > 0 {
				m.Share = float64(ms[i].Assigned) / float64(total)
			}
			st.Members[i] = m
		}
		st.Next.Why = d.Why
		if d.Chosen >= 0 {
			st.Next.UserID, st.Next.Sequence = cands[d.Chosen].UserID, p.LastSequence+1
		}
		var resets []schema.RoutingReset
		if err := tx.NewSelect().Model(&resets).Where("org_id = ? AND pool_id = ?", org, p.ID).
			OrderExpr("id DESC").Limit(20).Scan(ctx); err != nil {
			return err
		}
		for _, r := range resets {
			st.Resets = append(st.Resets, ResetRecord{Mode: r.Mode, Reason: r.Reason, RequestID: r.RequestID, Sequence: r.Sequence, Before: r.Before, ResetAt: r.ResetAt})
		}
		return nil
	})
	return st, err
}

// Reset modes.
const (
	Restart   = "restart"   // every score back to 0: the rotation starts again from the first member
	Rebalance = "rebalance" // scores and counts back to 0: shares are measured afresh from now
)

// Reset restarts a pool's rotation or rebalances its counters, and logs who did it and why.
// Sequence numbers never reset.
func (s *Service) Reset(ctx context.Context, org uuid.UUID, poolName, mode, reason, requestID string) (*ResetRecord, error) {
	if mode != Restart && mode != Rebalance {
		return nil, apperr.Field("body.mode", "must be restart or rebalance")
	}
	if !trimmed(reason) {
		return nil, apperr.Field("body.reason", "is required: say why the pool is reset")
	}
	now := s.now()
	var out *ResetRecord
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		p, err := pool(ctx, tx, org, poolName, true)
		if err != nil {
			return err
		}
		ms, err := members(ctx, tx, org, p.ID)
		if err != nil {
			return err
		}
		type before struct {
			UserID        string `json:"user_id"`
			CurrentWeight int64  `json:"current_weight"`
			Assigned      int64  `json:"assigned"`
		}
		bs := make([]before, len(ms))
		for i, m := range ms {
			bs[i] = before{m.UserID, m.CurrentWeight, m.Assigned}
		}
		b, err := json.Marshal(bs)
		if err != nil {
			return err
		}
		q := tx.NewUpdate().Model((*schema.RoutingMember)(nil)).Set("current_weight = 0").Where("org_id = ? AND pool_id = ?", org, p.ID)
		if mode == Rebalance {
			q = q.Set("assigned = 0")
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		r := &schema.RoutingReset{OrgID: org, PoolID: p.ID, Mode: mode, Reason: reason, RequestID: requestID, Sequence: p.LastSequence, Before: b, ResetAt: now}
		if _, err := tx.NewInsert().Model(r).Exec(ctx); err != nil {
			return err
		}
		out = &ResetRecord{Mode: mode, Reason: reason, RequestID: requestID, Sequence: p.LastSequence, Before: b, ResetAt: now}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slog.InfoContext(ctx, "routing pool reset", "org_id", org, "pool", poolName, "mode", mode, "reason", reason, "request_id", requestID, "sequence", out.Sequence)
	return out, nil
}
