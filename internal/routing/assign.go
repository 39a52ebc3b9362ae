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
	"github.com/lanternhq/lantern/internal/coalesce"
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
	UserID        string    `json:"user_id"`
	Weight        int       `json:"weight"`
	CurrentWeight int64     `json:"current_weight" doc:"Score before this assignment"`
	NextWeight    int64     `json:"next_weight" doc:"Score after this assignment"`
	Available     bool      `json:"available"`
	Skipped       string    `json:"skipped,omitempty" doc:"Why the member was skipped"`
	Assigned      int64     `json:"assigned" doc:"Assignments since joining or the last rebalance"`
	CapUsage      *CapUsage `json:"cap_usage,omitempty" doc:"Assignments in the cap windows (members with caps)"`
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

// errStale: the record changed between reading it and writing its owner, or another
// request of the same batch assigns it; the caller reads it again and retries.
var errStale = errors.New("record changed during assignment")

// item is one caller's request in a batch; outcome is its answer.
type item struct {
	req       AssignRequest
	version   int64 // the record's version when read; the owner write requires it still
	prevOwner string
}

type outcome struct {
	res *Result
	err error
}

type batchKey struct {
	org  uuid.UUID
	pool string
}

// batcher gathers concurrent assignments on one pool within this process into one
// transaction ("group commit"): one lock, one read of the members and one commit serve them
// all, in arrival order, with the same rule and the same guarantees as one at a time.
func (s *Service) batcher() *coalesce.Coalescer[batchKey, item, outcome] {
	s.batchOnce.Do(func() {
		s.batch = coalesce.New(func(ctx context.Context, k batchKey, items []item) ([]outcome, error) {
			return s.run(ctx, k.org, k.pool, items, false)
		}, 30*time.Second)
	})
	return s.batch
}

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
		it := item{req: req, version: rec.Version, prevOwner: rec.Str("OwnerId")}
		var out outcome
		if req.DryRun {
			var outs []outcome
			if outs, err = s.run(ctx, org, req.Pool, []item{it}, true); err == nil {
				out = outs[0]
			}
		} else {
			out, err = s.batcher().Do(ctx, batchKey{org, req.Pool}, it)
		}
		if err == nil {
			err = out.err
		}
		// A unique key clash means the same idempotency key is being used on another pool
		// right now: the next attempt finds that assignment and answers for it.
		if (errors.Is(err, errStale) || isUnique(err)) && attempt < 5 {
			continue
		}
		if errors.Is(err, errStale) || isUnique(err) {
			return nil, apperr.New(apperr.Conflict, "%s %s kept changing during assignment; try again", req.Object, req.ObjectID)
		}
		if err != nil {
			return nil, err
		}
		return out.res, nil
	}
}

// run assigns a batch of requests on one pool in one transaction, in order. An error returned
// fails the whole batch (nothing was written); an outcome's error concerns its request alone.
func (s *Service) run(ctx context.Context, org uuid.UUID, poolName string, items []item, dryRun bool) ([]outcome, error) {
	now := s.now()
	outs := make([]outcome, len(items))
	var external []crm.OwnerChange // owners written to a CRM outside this database
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		p, err := pool(ctx, tx, org, poolName, !dryRun)
		if err != nil {
			return err
		}
		ms, err := memberViews(ctx, tx, org, p.ID)
		if err != nil {
			return err
		}
		usage, err := s.usage(ctx, tx, org, p.ID, ms, now, false)
		if err != nil {
			return err
		}
		prior, err := byKeys(ctx, tx, org, items)
		if err != nil {
			return err
		}
		var added []schema.RoutingAssignment
		var entries []routelog.Entry
		var owners []crm.OwnerChange
		inBatch := map[string]bool{}
		seq := p.LastSequence
		for i, it := range items {
			req := it.req
			if !slices.Contains(p.Objects, req.Object) {
				outs[i].err = apperr.Field("body.object", "pool %s serves %v, not %s", p.Name, p.Objects, req.Object)
				continue
			}
			if a := prior[req.IdempotencyKey]; req.IdempotencyKey != "" && a != nil {
				if a.PoolID != p.ID || a.ObjectID != req.ObjectID {
					outs[i].err = &apperr.Error{Code: apperr.Conflict, Field: "idempotency_key",
						Message: fmt.Sprintf("was used for %s %s (sequence %d) in another assignment", a.Object, a.ObjectID, a.Sequence)}
				} else {
					outs[i].res = replay(p.Name, a, dryRun)
				}
				continue
			}
			if inBatch[req.ObjectID] {
				outs[i].err = errStale // its owner is about to change: read it again after this batch
				continue
			}
			views, cands := candidates(ms, usage, now, false)
			d := Next(cands, p.OnReturn == CatchUp)
			for j := range views {
				views[j].NextWeight = d.After[j]
			}
			res := &Result{DryRun: dryRun, Pool: p.Name, Object: req.Object, ObjectID: req.ObjectID, PrevOwner: it.prevOwner,
				Reason: req.Reason, Why: d.Why, Candidates: views}
			outs[i].res = res
			if d.Chosen < 0 {
				continue
			}
			seq++
			chosen := ms[d.Chosen].UserID
			res.Assigned, res.AssignedTo, res.Sequence = true, chosen, seq
			if dryRun {
				continue
			}
			res.AssignedAt = &now
			inBatch[req.ObjectID] = true
			for j := range ms {
				ms[j].CurrentWeight = d.After[j]
			}
			ms[d.Chosen].Assigned++
			u := usage[chosen]
			u.Day, u.Week = u.Day+1, u.Week+1
			usage[chosen] = u
			a := schema.RoutingAssignment{OrgID: org, PoolID: p.ID, Sequence: seq, Object: req.Object, ObjectID: req.ObjectID,
				UserID: chosen, PrevOwner: it.prevOwner, Reason: req.Reason, RequestID: req.RequestID, AssignedAt: now}
			e := routelog.Entry{Timestamp: now, Object: req.Object, ObjectID: req.ObjectID, Action: "assign", Pool: &p.Name,
				AssignedTo: &chosen, Sequence: &res.Sequence, Reason: req.Reason, RequestID: req.RequestID, IdempotencyKey: req.IdempotencyKey}
			if req.IdempotencyKey != "" {
				key := req.IdempotencyKey
				a.IdempotencyKey = &key
				prior[key] = &a // a repeat within the batch is a replay of this one
			}
			if it.prevOwner != "" {
				e.PrevOwner = &it.prevOwner
			}
			added, entries = append(added, a), append(entries, e)
			if it.prevOwner != chosen {
				owners = append(owners, crm.OwnerChange{ID: req.ObjectID, Owner: chosen, IfVersion: it.version})
			}
		}
		if dryRun || len(added) == 0 {
			return nil
		}
		if err := s.write(ctx, tx, org, p.ID, ms, seq, added, entries); err != nil {
			return err
		}
		if len(owners) == 0 {
			return nil
		}
		// The owners are written last: with a CRM outside this database (Salesforce), a
		// failure of anything before leaves the CRM as it was. The lock is still held, so
		// owners change in sequence order.
		if local, ok := s.CRM.(*crm.Local); ok {
			changed, err := local.SetOwners(ctx, tx, org, owners)
			if err != nil {
				return err
			}
			if len(changed) != len(owners) {
				return errStale // a record changed since it was read: every request retries
			}
			return nil
		}
		for _, o := range owners {
			_, err := s.CRM.Update(ctx, org, crm.ObjectOf(o.ID), o.ID, map[string]any{"OwnerId": o.Owner}, o.IfVersion)
			if apperr.CodeOf(err) == apperr.Conflict {
				return errStale
			}
			if err != nil {
				return err
			}
			external = append(external, o)
		}
		return nil
	})
	if err != nil && len(external) > 0 {
		s.restore(ctx, org, items, external)
		return nil, apperr.Wrap(apperr.Unavailable, err, "assignment failed and was undone: the records' owners were restored")
	}
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// restore puts back the owners written to an outside CRM when the transaction that recorded
// them failed.
func (s *Service) restore(ctx context.Context, org uuid.UUID, items []item, done []crm.OwnerChange) {
	prev := map[string]string{}
	for _, it := range items {
		prev[it.req.ObjectID] = it.prevOwner
	}
	for _, o := range done {
		var owner any
		if p := prev[o.ID]; p != "" {
			owner = p
		}
		if _, err := s.CRM.Update(context.WithoutCancel(ctx), org, crm.ObjectOf(o.ID), o.ID, map[string]any{"OwnerId": owner}, 0); err != nil {
			slog.ErrorContext(ctx, "routing: could not restore an owner after a failed assignment", "object_id", o.ID, "err", err)
		}
	}
}

// write stores a batch: the members' scores and counts, the pool's sequence, the assignments
// and their route log entries.
func (s *Service) write(ctx context.Context, tx bun.Tx, org, poolID uuid.UUID, ms []Member, seq int64,
	added []schema.RoutingAssignment, entries []routelog.Entry) error {
	users, scores, counts := make([]string, len(ms)), make([]int64, len(ms)), make([]int64, len(ms))
	for i, m := range ms {
		users[i], scores[i], counts[i] = m.UserID, m.CurrentWeight, m.Assigned
	}
	// Absolute values are safe: the pool's lock is held since they were read.
	_, err := tx.NewRaw(`UPDATE routing_members AS m SET current_weight = v.score, assigned = v.assigned
		FROM unnest(?::text[], ?::bigint[], ?::bigint[]) AS v (user_id, score, assigned)
		WHERE m.org_id = ? AND m.pool_id = ? AND m.user_id = v.user_id`,
		pgdialect.Array(users), pgdialect.Array(scores), pgdialect.Array(counts), org, poolID).Exec(ctx)
	if err != nil {
		return err
	}
	if _, err := tx.NewUpdate().Model((*schema.RoutingPool)(nil)).Set("last_sequence = ?", seq).
		Where("org_id = ? AND id = ?", org, poolID).Exec(ctx); err != nil {
		return err
	}
	if _, err := tx.NewInsert().Model(&added).Exec(ctx); err != nil {
		return err
	}
	_, err = routelog.Write(ctx, tx, org, entries...)
	return err
}

// byKeys returns the assignments already made under the items' idempotency keys.
func byKeys(ctx context.Context, db bun.IDB, org uuid.UUID, items []item) (map[string]*schema.RoutingAssignment, error) {
	out := map[string]*schema.RoutingAssignment{}
	var keys []string
	for _, it := range items {
		if it.req.IdempotencyKey != "" {
			keys = append(keys, it.req.IdempotencyKey)
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	var as []schema.RoutingAssignment
	if err := db.NewSelect().Model(&as).Where("org_id = ? AND idempotency_key IN (?)", org, bun.List(keys)).Scan(ctx); err != nil {
		return nil, err
	}
	for i := range as {
		out[*as[i].IdempotencyKey] = &as[i]
	}
	return out, nil
}

func replay(poolName string, a *schema.RoutingAssignment, dryRun bool) *Result {
	at := a.AssignedAt
	return &Result{Assigned: true, DryRun: dryRun, Replayed: true, Pool: poolName, Object: a.Object, ObjectID: a.ObjectID,
		AssignedTo: a.UserID, PrevOwner: a.PrevOwner, Sequence: a.Sequence, Reason: a.Reason, AssignedAt: &at,
		Why: fmt.Sprintf("idempotency key %q already assigned this record (sequence %d); nothing was changed", *a.IdempotencyKey, a.Sequence)}
}

// usage counts the members' assignments in the cap windows: of the members with caps, or of
// all with all. Pools without caps skip the query.
func (s *Service) usage(ctx context.Context, db bun.IDB, org, poolID uuid.UUID, ms []Member, now time.Time, all bool) (map[string]CapUsage, error) {
	usage := map[string]CapUsage{}
	capped := all
	for i := range ms {
		capped = capped || ms[i].CapDay != nil || ms[i].CapWeek != nil
	}
	if !capped {
		return usage, nil
	}
	var rows []struct {
		UserID string
		Day    int64
		Week   int64
	}
	err := db.NewSelect().TableExpr("routing_assignments").
		ColumnExpr("user_id, count(*) FILTER (WHERE assigned_at > ?) AS day, count(*) AS week", now.Add(-24*time.Hour)).
		Where("org_id = ? AND pool_id = ? AND assigned_at > ?", org, poolID, now.Add(-7*24*time.Hour)).
		GroupExpr("user_id").Scan(ctx, &rows)
	for _, r := range rows {
		usage[r.UserID] = CapUsage{Day: r.Day, Week: r.Week}
	}
	return usage, err
}

// candidates turns members into the rotation's candidates at now, with the cap usage of the
// members who have caps (of all members with allUsage).
func candidates(ms []Member, usage map[string]CapUsage, now time.Time, allUsage bool) ([]CandidateView, []Candidate) {
	views := make([]CandidateView, len(ms))
	cands := make([]Candidate, len(ms))
	for i := range ms {
		m := &ms[i]
		u := usage[m.UserID]
		skip, away := availability(m, now, u)
		cands[i] = Candidate{UserID: m.UserID, Weight: int64(m.Weight), Current: m.CurrentWeight, Position: m.Position, Skip: skip, Away: away}
		views[i] = CandidateView{UserID: m.UserID, Weight: m.Weight, CurrentWeight: m.CurrentWeight, NextWeight: m.CurrentWeight,
			Available: skip == "", Skipped: skip, Assigned: m.Assigned}
		if allUsage || m.CapDay != nil || m.CapWeek != nil {
			views[i].CapUsage = &u
		}
	}
	return views, cands
}

// MemberState is one member in a pool's state.
type MemberState struct {
	Member
	Available bool     `json:"available"`
	Skipped   string   `json:"skipped,omitempty" doc:"Why the member would be skipped now"`
	CapUsage  CapUsage `json:"cap_usage" doc:"Assignments in the last 24 hours and 7 days"`
	Share     float64  `json:"share" doc:"The member's part of the pool's assignments since the last rebalance (0-1)"`
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
		ms, err := memberViews(ctx, tx, org, p.ID)
		if err != nil {
			return err
		}
		var total int64
		for i := range ms {
			total += ms[i].Assigned
		}
		// The state shows every member's usage, capped or not.
		usage, err := s.usage(ctx, tx, org, p.ID, ms, now, true)
		if err != nil {
			return err
		}
		views, cands := candidates(ms, usage, now, true)
		d := Next(cands, p.OnReturn == CatchUp)
		st = &State{Pool: *toPool(p, len(ms)), Members: make([]MemberState, len(ms)), Resets: []ResetRecord{}}
		for i := range ms {
			m := MemberState{Member: ms[i], Available: views[i].Available, Skipped: views[i].Skipped, CapUsage: *views[i].CapUsage}
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
