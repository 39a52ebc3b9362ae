package convert

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/routelog"
	"github.com/lanternhq/lantern/schema"
)

// MergeInput merges duplicates into a master of the same object.
type MergeInput struct {
	Object       string
	MasterID     string
	DuplicateIDs []string
	// MergePolicy is the survivorship policy; "" uses the org's default.
	MergePolicy string
	// Overrides pick, per field, a policy or the id of one of the merged records; they are
	// laid over the org's field overrides.
	Overrides map[string]string
	// Fields are explicit values written on the master (nil removes a field), over everything.
	Fields         map[string]any
	DryRun         bool
	IdempotencyKey string
	RequestID      string
}

// MergeResult is a merge done (or, for a dry run, the merge that would be done).
type MergeResult struct {
	MergeID      string                    `json:"merge_id,omitempty" doc:"The journal entry; POST /v1/salesforce/merges/{merge_id}/undo undoes the merge"`
	DryRun       bool                      `json:"dry_run"`
	Object       string                    `json:"object"`
	MasterID     string                    `json:"master_id"`
	MergedIDs    []string                  `json:"merged_ids" doc:"The duplicates, deleted (kept in the recycle bin for an undo)"`
	Policy       string                    `json:"policy"`
	Sources      map[string]SurvivorSource `json:"sources" doc:"Where each of the master's fields came from"`
	MasterDiff   RecordDiff                `json:"master_diff"`
	Reparented   []crm.ReparentedChild     `json:"reparented" doc:"Children moved from the duplicates to the master"`
	UndoneAt     *time.Time                `json:"undone_at,omitempty"`
	CreatedAt    time.Time                 `json:"created_at"`
	Replayed     bool                      `json:"replayed,omitempty" doc:"The idempotency key named an earlier merge, returned unchanged"`
	masterBefore *crm.Record
}

func (in *MergeInput) check(max int) error {
	if !slices.Contains(crm.MergeObjects, in.Object) {
		return apperr.Field("body.object", "must be one of Account, Contact, Lead")
	}
	id, ok := crm.To18(in.MasterID)
	if !ok {
		return apperr.Field("body.master_id", "%q is not a Salesforce id", in.MasterID)
	}
	if crm.ObjectOf(id) != in.Object {
		return apperr.Field("body.master_id", "%s is a %s id, not an %s id: merges are within one object", id, crm.ObjectOf(id), in.Object)
	}
	in.MasterID = id
	if len(in.DuplicateIDs) == 0 {
		return apperr.Field("body.duplicate_ids", "must name at least one record")
	}
	if len(in.DuplicateIDs) > max {
		return apperr.Field("body.duplicate_ids", "names %d records; at most %d duplicates merge into a master at once", len(in.DuplicateIDs), max)
	}
	for i, d := range in.DuplicateIDs {
		field := fmt.Sprintf("body.duplicate_ids[%d]", i)
		id, ok := crm.To18(d)
		if !ok {
			return apperr.Field(field, "%q is not a Salesforce id", d)
		}
		if crm.ObjectOf(id) != in.Object {
			return apperr.Field(field, "%s is a %s id, not an %s id: merges are within one object", id, crm.ObjectOf(id), in.Object)
		}
		if id == in.MasterID || slices.Contains(in.DuplicateIDs[:i], id) {
			return apperr.Field(field, "repeats %s", id)
		}
		in.DuplicateIDs[i] = id
	}
	if in.MergePolicy != "" {
		if err := checkPolicyName("body.policy", in.MergePolicy); err != nil {
			return err
		}
	}
	for f, v := range in.Overrides {
		if !isField(f) {
			return apperr.Field("body.field_overrides."+f, "is not a field name")
		}
		if !slices.Contains(Policies, v) && v != in.MasterID && !slices.Contains(in.DuplicateIDs, v) {
			if id, ok := crm.To18(v); !ok || (id != in.MasterID && !slices.Contains(in.DuplicateIDs, id)) {
				return apperr.Field("body.field_overrides."+f, "must be fill_empty, master_wins, newest_wins or the id of one of the merged records")
			} else {
				in.Overrides[f] = id
			}
		}
	}
	for f := range in.Fields {
		if !isField(f) {
			return apperr.Field("body.fields."+f, "is not a field name")
		}
	}
	return nil
}

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("dry run")

// Merge merges the duplicates into the master in one transaction with its journal entry and
// route log entries: the master gets the surviving fields, the duplicates' children move to
// it, and the duplicates go to the recycle bin. A dry run does the same and rolls it back.
func (s *Service) Merge(ctx context.Context, org uuid.UUID, in MergeInput) (*MergeResult, error) {
	if err := in.check(s.maxDuplicates()); err != nil {
		return nil, err
	}
	if in.IdempotencyKey != "" {
		var prior schema.SFMerge
		err := s.DB.NewSelect().Model(&prior).Where("org_id = ? AND idempotency_key = ?", org, in.IdempotencyKey).Scan(ctx)
		if err == nil {
			if prior.MasterID != in.MasterID || !slices.Equal(prior.DuplicateIDs, in.DuplicateIDs) {
				return nil, apperr.Field("body.idempotency_key", "was used for another merge (%s)", prior.ID)
			}
			r, err := toResult(&prior)
			if err == nil {
				r.Replayed = true
			}
			return r, err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	if s.local() == nil {
		return s.mergeRemote(ctx, org, in)
	}
	var out *MergeResult
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, err = s.mergeTx(ctx, tx, org, in)
		if err == nil && in.DryRun {
			return errDryRun
		}
		return err
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) mergeTx(ctx context.Context, tx bun.Tx, org uuid.UUID, in MergeInput) (*MergeResult, error) {
	pol, err := getPolicy(ctx, tx, org)
	if err != nil {
		return nil, err
	}
	// Read (and lock) in id order.
	order := slices.Clone(append([]string{in.MasterID}, in.DuplicateIDs...))
	slices.Sort(order)
	sv, err := survive(in, pol, order, systemFields, func(id string) (*crm.Record, error) {
		return s.local().GetTx(ctx, tx, org, in.Object, id)
	})
	if err != nil {
		return nil, err
	}
	policy, master, losers, target, sources := sv.policy, sv.master, sv.losers, sv.target, sv.sources
	changes := changesTo(master.Fields, target)
	res, children, err := s.local().MergeTx(ctx, tx, org, crm.MergeRequest{Object: in.Object, MasterID: in.MasterID, DuplicateIDs: in.DuplicateIDs, MasterFields: changes})
	if err != nil {
		return nil, bodyField(err)
	}
	after, err := s.local().GetTx(ctx, tx, org, in.Object, in.MasterID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := &MergeResult{DryRun: in.DryRun, Object: in.Object, MasterID: res.MasterID, MergedIDs: res.MergedIDs, Policy: policy, Sources: sources,
		MasterDiff: RecordDiff{Object: in.Object, ID: in.MasterID, Action: "update", Fields: diffFields(master.Fields, after.Fields)},
		Reparented: children, CreatedAt: now}
	if out.Reparented == nil {
		out.Reparented = []crm.ReparentedChild{}
	}
	if in.DryRun {
		return out, nil
	}
	mb, _ := json.Marshal(master)
	ma, _ := json.Marshal(after.Fields)
	lb, _ := json.Marshal(losers)
	ch, _ := json.Marshal(out.Reparented)
	row := &schema.SFMerge{OrgID: org, ID: uuid.New(), Object: in.Object, MasterID: in.MasterID, DuplicateIDs: in.DuplicateIDs, Policy: policy,
		MasterBefore: mb, MasterAfter: ma, MasterVersion: after.Version, LosersBefore: lb, Children: ch, RequestID: in.RequestID, CreatedAt: now}
	if in.IdempotencyKey != "" {
		row.IdempotencyKey = &in.IdempotencyKey
	}
	if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
		return nil, err
	}
	out.MergeID = row.ID.String()
	if err := s.logMerge(ctx, tx, org, row.ID.String(), "merge", in.RequestID, out, now); err != nil {
		return nil, err
	}
	return out, nil
}

// logMerge writes a merge's route log entries: one on the master with its field diff, the
// merged ids and the children moved, and one on each duplicate.
func (s *Service) logMerge(ctx context.Context, db bun.IDB, org uuid.UUID, mergeID, reason, requestID string, r *MergeResult, at time.Time) error {
	if r.Object == crm.Lead || r.Object == crm.Account || r.Object == crm.Contact {
		key := "merge:" + mergeID
		if reason != "merge" {
			key = reason + ":" + mergeID
		}
		d, _ := json.Marshal(map[string]any{"merge_id": mergeID, "fields": r.MasterDiff.Fields, "merged_ids": r.MergedIDs,
			"reparented": r.Reparented, "policy": r.Policy})
		entries := []routelog.Entry{{Timestamp: at, Object: r.Object, ObjectID: r.MasterID, Action: "merge", Reason: reason,
			RequestID: requestID, IdempotencyKey: key, Diff: d}}
		for _, id := range r.MergedIDs {
			dd, _ := json.Marshal(map[string]any{"merge_id": mergeID, "master_id": r.MasterID})
			entries = append(entries, routelog.Entry{Timestamp: at, Object: r.Object, ObjectID: id, Action: "merge",
				Reason: reason + ":duplicate", RequestID: requestID, IdempotencyKey: key, Diff: dd})
		}
		_, err := routelog.Write(ctx, db, org, entries...)
		return err
	}
	return nil
}

func toResult(m *schema.SFMerge) (*MergeResult, error) {
	var before crm.Record
	var after map[string]any
	var children []crm.ReparentedChild
	if err := json.Unmarshal(m.MasterBefore, &before); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(m.MasterAfter, &after); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(m.Children, &children); err != nil {
		return nil, err
	}
	if children == nil {
		children = []crm.ReparentedChild{}
	}
	return &MergeResult{MergeID: m.ID.String(), Object: m.Object, MasterID: m.MasterID, MergedIDs: m.DuplicateIDs, Policy: m.Policy,
		MasterDiff: RecordDiff{Object: m.Object, ID: m.MasterID, Action: "update", Fields: diffFields(before.Fields, after)},
		Reparented: children, UndoneAt: m.UndoneAt, CreatedAt: m.CreatedAt, Sources: map[string]SurvivorSource{}, masterBefore: &before}, nil
}

// GetMerge returns one journal entry.
func (s *Service) GetMerge(ctx context.Context, org uuid.UUID, id string) (*MergeResult, error) {
	mid, err := uuid.Parse(id)
	if err != nil {
		return nil, apperr.New(apperr.NotFound, "no merge %s", id)
	}
	var m schema.SFMerge
	if err := s.DB.NewSelect().Model(&m).Where("org_id = ? AND id = ?", org, mid).Scan(ctx); errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no merge %s", id)
	} else if err != nil {
		return nil, err
	}
	return toResult(&m)
}

// UndoResult is an undone merge.
type UndoResult struct {
	MergeID    string                `json:"merge_id"`
	Object     string                `json:"object"`
	MasterID   string                `json:"master_id"`
	Restored   []string              `json:"restored" doc:"The duplicates restored, with their ids"`
	MasterDiff RecordDiff            `json:"master_diff" doc:"The master's fields put back"`
	Reparented []crm.ReparentedChild `json:"reparented" doc:"Children moved back to the duplicate they came from (field From is where they go back to)"`
	Skipped    []string              `json:"skipped,omitempty" doc:"Children not moved back: they were re-parented again since the merge"`
	UndoneAt   time.Time             `json:"undone_at"`
}

// Undo reverses a merge in one transaction: the duplicates come back from the recycle bin
// with their ids, the master's fields are put back, and the children that still point at the
// master return to their former parent. A merge is undone once; a master changed since the
// merge is not overwritten (conflict).
func (s *Service) Undo(ctx context.Context, org uuid.UUID, id, requestID string) (*UndoResult, error) {
	mid, err := uuid.Parse(id)
	if err != nil {
		return nil, &apperr.Error{Code: apperr.NotFound, Field: "path.id", Message: "no merge " + id}
	}
	if s.local() == nil {
		return s.undoRemote(ctx, org, mid, requestID)
	}
	var out *UndoResult
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		m, r, err := s.lockUndoable(ctx, tx, org, mid)
		if err != nil {
			return err
		}
		cur, err := s.local().GetTx(ctx, tx, org, m.Object, m.MasterID)
		if apperr.Is(err, apperr.NotFound) {
			return apperr.New(apperr.Conflict, "the master %s was deleted since the merge; restore it first", m.MasterID)
		}
		if err != nil {
			return err
		}
		if cur.Version != m.MasterVersion {
			return apperr.New(apperr.Conflict, "the master %s changed since the merge (version %d, now %d); undoing would overwrite those changes",
				m.MasterID, m.MasterVersion, cur.Version)
		}
		if err := s.local().UndeleteTx(ctx, tx, org, m.Object, m.DuplicateIDs); err != nil {
			return err
		}
		if _, err := s.local().ReplaceFieldsTx(ctx, tx, org, m.Object, m.MasterID, r.masterBefore.Fields); err != nil {
			return err
		}
		now := s.now()
		out = &UndoResult{MergeID: id, Object: m.Object, MasterID: m.MasterID, Restored: m.DuplicateIDs, Reparented: []crm.ReparentedChild{}, UndoneAt: now,
			MasterDiff: RecordDiff{Object: m.Object, ID: m.MasterID, Action: "restore", Fields: diffFields(cur.Fields, crm.WithChanges(r.masterBefore.Fields, nil))}}
		byParent := map[[2]string][]string{}
		for _, c := range r.Reparented {
			k := [2]string{c.Field, c.From}
			byParent[k] = append(byParent[k], c.ID)
		}
		moved := map[string]bool{}
		for k, ids := range byParent {
			changed, err := s.local().ReparentTx(ctx, tx, org, k[0], ids, m.MasterID, k[1])
			if err != nil {
				return err
			}
			for _, id := range changed {
				moved[id] = true
			}
		}
		for _, c := range r.Reparented {
			if moved[c.ID] {
				out.Reparented = append(out.Reparented, c)
			} else {
				out.Skipped = append(out.Skipped, c.ID)
			}
		}
		return s.markUndone(ctx, tx, org, m, out, requestID, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// survivors is a merge's inputs read and its outcome decided.
type survivors struct {
	policy  string // the merge policy that applied
	master  *crm.Record
	losers  []crm.Record
	target  map[string]any            // the master's fields after the merge
	sources map[string]SurvivorSource // where each field came from
}

// survive reads the master and the duplicates (in the order given) through get, naming the
// input at fault when one is missing (an id of another org is simply not found), and decides
// the master's surviving fields: the merge policy (the request's, else the org's), the org's
// and the request's per-field overrides, and the request's explicit values. keep are fields
// the master keeps as they are.
func survive(in MergeInput, pol MergePolicy, order []string, keep map[string]bool, get func(id string) (*crm.Record, error)) (*survivors, error) {
	sv := &survivors{policy: in.MergePolicy}
	if sv.policy == "" {
		sv.policy = pol.DefaultPolicy
	}
	overrides := map[string]string{}
	for f, v := range pol.FieldOverrides {
		overrides[f] = v
	}
	for f, v := range in.Overrides {
		overrides[f] = v
	}
	recs := map[string]*crm.Record{}
	for _, id := range order {
		r, err := get(id)
		if apperr.Is(err, apperr.NotFound) {
			field := "body.master_id"
			if i := slices.Index(in.DuplicateIDs, id); i >= 0 {
				field = fmt.Sprintf("body.duplicate_ids[%d]", i)
			}
			return nil, &apperr.Error{Code: apperr.NotFound, Field: field, Message: fmt.Sprintf("no %s %s", in.Object, id)}
		}
		if err != nil {
			return nil, err
		}
		delete(r.Fields, "Id")
		recs[id] = r
	}
	sv.master = recs[in.MasterID]
	for _, id := range in.DuplicateIDs {
		sv.losers = append(sv.losers, *recs[id])
	}
	sv.target, sv.sources = Survive(sv.policy, overrides, *sv.master, sv.losers)
	for k, v := range sv.master.Fields {
		if _, ok := sv.target[k]; !ok && keep[k] {
			sv.target[k] = v
		}
	}
	for k, v := range in.Fields {
		if v == nil {
			delete(sv.target, k)
			delete(sv.sources, k)
		} else {
			sv.target[k] = v
			sv.sources[k] = SurvivorSource{From: "request", Policy: "override"}
		}
	}
	return sv, nil
}

// markUndone records in the journal that a merge was undone and logs the undo, with what it
// put back, as merge entries with reason merge_undone.
func (s *Service) markUndone(ctx context.Context, tx bun.Tx, org uuid.UUID, m *schema.SFMerge, out *UndoResult, requestID string, at time.Time) error {
	if _, err := tx.NewUpdate().Model((*schema.SFMerge)(nil)).Set("undone_at = ?", at).Where("org_id = ? AND id = ?", org, m.ID).Exec(ctx); err != nil {
		return err
	}
	lr := &MergeResult{Object: m.Object, MasterID: m.MasterID, MergedIDs: m.DuplicateIDs, Policy: m.Policy, MasterDiff: out.MasterDiff, Reparented: out.Reparented}
	return s.logMerge(ctx, tx, org, m.ID.String(), "merge_undone", requestID, lr, at)
}

// lockUndoable locks a merge's journal row for undoing it, refusing one that is unknown (to
// this org), already undone, or older than the undo window (its duplicates may be purged).
func (s *Service) lockUndoable(ctx context.Context, tx bun.Tx, org, mid uuid.UUID) (*schema.SFMerge, *MergeResult, error) {
	id := mid.String()
	var m schema.SFMerge
	err := tx.NewSelect().Model(&m).Where("org_id = ? AND id = ?", org, mid).For("UPDATE").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, &apperr.Error{Code: apperr.NotFound, Field: "path.id", Message: "no merge " + id}
	}
	if err != nil {
		return nil, nil, err
	}
	if m.UndoneAt != nil {
		return nil, nil, &apperr.Error{Code: apperr.Conflict, Field: "path.id",
			Message: fmt.Sprintf("merge %s was already undone at %s", id, m.UndoneAt.UTC().Format(time.RFC3339))}
	}
	if w := s.undoWindow(); s.now().Sub(m.CreatedAt) > w {
		return nil, nil, &apperr.Error{Code: apperr.Conflict, Field: "path.id",
			Message: fmt.Sprintf("merge %s of %s is older than the undo window of %d days (LANTERN_MERGE_UNDO_DAYS)",
				id, m.CreatedAt.UTC().Format(time.RFC3339), int(w/(24*time.Hour)))}
	}
	r, err := toResult(&m)
	if err != nil {
		return nil, nil, err
	}
	return &m, r, nil
}

// PruneMerges forgets merges older than cutoff, which can no longer be undone: their
// duplicates leave the recycle bin and their journal rows (with the before-images) are
// deleted. The route log keeps the merge entries. It returns the rows deleted of each.
func PruneMerges(ctx context.Context, db bun.IDB, cutoff time.Time) (recycled, merges int64, err error) {
	res, err := db.NewRaw("DELETE FROM crm_recycle_bin WHERE deleted_at < ?", cutoff).Exec(ctx)
	if err != nil {
		return 0, 0, err
	}
	if recycled, err = res.RowsAffected(); err != nil {
		return 0, 0, err
	}
	res, err = db.NewRaw("DELETE FROM sf_merges WHERE created_at < ?", cutoff).Exec(ctx)
	if err != nil {
		return recycled, 0, err
	}
	merges, err = res.RowsAffected()
	return recycled, merges, err
}
