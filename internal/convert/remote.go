package convert

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/match"
	"github.com/lanternhq/lantern/schema"
)

// Conversions and merges on a remote CRM (LANTERN_CRM=salesforce). The CRM's own calls do the
// work (convertLead, merge, undelete), and Lantern's records of them (sf_conversions, the merge
// journal, route logs) live in Postgres, written around those calls:
//
//   - a conversion records its before-images as pending, then calls convertLead; a retry
//     re-reads the lead and, finding it converted, takes its Converted*Id instead of converting
//     again. The merge policy on an existing account or contact is an Update after convertLead.
//   - compensation cannot un-convert a lead (Salesforce has no such call): it deletes the
//     account, contact and opportunity the conversion created, puts back the fields it changed
//     on existing records, and the lead stays converted.
//   - a merge reads the before-images, calls merge (at most 2 duplicates), then journals;
//     undo undeletes the losers, restores their fields and the master's with Update, and
//     points the re-parented children back at the loser they came from.

// RemoteCompensationNote says what a compensation on Salesforce could not undo.
const RemoteCompensationNote = "the records the conversion created were deleted, but the lead stays converted in Salesforce (Salesforce cannot un-convert a lead)"

// remoteReadOnly are fields Salesforce computes: they are never written back.
var remoteReadOnly = map[string]bool{"CreatedById": true, "LastModifiedById": true, "LastActivityDate": true, "LastViewedDate": true,
	"LastReferencedDate": true, "PhotoUrl": true, "IsEmailBounced": true, "IsPersonAccount": true, "PersonContactId": true,
	"OwnerName": true, "attributes": true}

// writable keeps the changes Salesforce accepts on object: no system or computed fields, no
// compound values (addresses), no compound Name of people.
func writable(object string, changes map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range changes {
		if systemFields[k] || remoteReadOnly[k] || !isField(k) {
			continue
		}
		if k == "Name" && (object == crm.Contact || object == crm.Lead) {
			continue
		}
		switch v.(type) {
		case nil, string, bool, float64, int, int64:
			out[k] = v
		}
	}
	return out
}

// onlyKeys keeps the changes to the named fields.
func onlyKeys(changes map[string]any, keys map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range changes {
		if _, ok := keys[k]; ok {
			out[k] = v
		}
	}
	return out
}

// accountCandidates are the accounts that may be the lead's company: on the local store by
// its blocking keys; on a remote CRM by Query on the website's domain and on the name.
func (s *Service) accountCandidates(ctx context.Context, org uuid.UUID, in match.Record) ([][]crm.Record, error) {
	keys := crm.KeysFor(crm.Account, anyFields(in.Fields), s.region())
	if l := s.local(); l != nil {
		return l.Candidates(ctx, org, crm.Account, []crm.SearchKeys{keys}, 20)
	}
	var out []crm.Record
	seen := map[string]bool{}
	for _, f := range []map[string]string{{"domain": keys.Domain}, {"name": in.Fields["Name"]}} {
		for k, v := range f {
			if v == "" {
				delete(f, k)
			}
		}
		if len(f) == 0 {
			continue
		}
		page, err := s.store().Query(ctx, org, crm.Query{Object: crm.Account, Filters: f, Limit: 20})
		if err != nil {
			return nil, err
		}
		for _, r := range page.Records {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	slices.SortFunc(out, func(a, b crm.Record) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return [][]crm.Record{out}, nil
}

// remoteAccountContacts is accountContacts through the port: one Query per candidate account.
func (s *Service) remoteAccountContacts(ctx context.Context, org uuid.UUID, lead *crm.Record, accts []crm.Record) (map[string]bool, map[string]int, error) {
	email := match.NormalizeEmail(lead.Str("Email"))
	withLead, counts := map[string]bool{}, map[string]int{}
	for _, a := range accts {
		page, err := s.store().Query(ctx, org, crm.Query{Object: crm.Contact, Filters: map[string]string{"account_id": a.ID}, Limit: 200})
		if err != nil {
			return nil, nil, err
		}
		counts[a.ID] = len(page.Records)
		for i := range page.Records {
			if email != "" && match.NormalizeEmail(page.Records[i].Str("Email")) == email {
				withLead[a.ID] = true
			}
		}
	}
	return withLead, counts, nil
}

// refused: the CRM answered the call with a definite no (nothing was done).
func refused(err error) bool {
	e, ok := apperr.As(err)
	return ok && (e.Code == apperr.Invalid || e.Code == apperr.NotFound || e.Code == apperr.Conflict || e.Code == apperr.NotConfigured)
}

func isConverted(lead *crm.Record) bool {
	b, _ := lead.Fields["IsConverted"].(bool)
	return b
}

// convertRemote is Convert on a remote CRM. Safe to run again under one convID: a recorded
// result is returned; a pending one re-reads the lead and, finding it converted, takes its
// Converted*Id instead of calling convertLead twice.
func (s *Service) convertRemote(ctx context.Context, org uuid.UUID, convID string, req Request, plan ConversionPlan, ownerID string) (*Converted, error) {
	conv, err := s.converter()
	if err != nil {
		return nil, err
	}
	st := s.store()
	var b before
	var prior schema.SFConversion
	err = s.DB.NewSelect().Model(&prior).Where("org_id = ? AND id = ?", org, convID).Scan(ctx)
	switch {
	case err == nil && prior.State == "compensated":
		return nil, &apperr.Error{Code: apperr.Conflict, Field: "path.id", Message: fmt.Sprintf("conversion %s was rolled back; %s", convID, RemoteCompensationNote)}
	case err == nil:
		if err := json.Unmarshal(prior.Before, &b); err != nil {
			return nil, err
		}
		if !b.Pending {
			out := &Converted{}
			if err := json.Unmarshal(prior.Result, out); err != nil {
				return nil, err
			}
			out.Replayed = true
			return out, nil
		}
	case errors.Is(err, sql.ErrNoRows):
		lead, err := st.Get(ctx, org, crm.Lead, req.LeadID)
		if err != nil {
			return nil, fieldOf(err, "path.id")
		}
		if isConverted(lead) {
			return nil, &apperr.Error{Code: apperr.Conflict, Field: "path.id", Message: fmt.Sprintf("lead %s is already converted (account %v, contact %v)",
				lead.ID, lead.Fields["ConvertedAccountId"], lead.Fields["ConvertedContactId"])}
		}
		b = before{Lead: *lead, Pending: true}
		if plan.Account.Action == "attach" {
			if b.Account, err = st.Get(ctx, org, crm.Account, plan.Account.ID); err != nil {
				return nil, fieldOf(err, "body.account_id")
			}
		}
		if plan.Contact.Action == "merge" {
			if b.Contact, err = st.Get(ctx, org, crm.Contact, plan.Contact.ID); err != nil {
				return nil, fieldOf(err, "body.contact_id")
			}
		}
		bj, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		row := &schema.SFConversion{OrgID: org, ID: convID, LeadID: b.Lead.ID, State: "converted", Result: json.RawMessage("{}"), Before: bj,
			CreatedIDs: []string{}, CreatedAt: s.now()}
		if _, err := s.DB.NewInsert().Model(row).Exec(ctx); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}

	// The lead as it is now: converted by an earlier attempt, or still to convert.
	lead, err := st.Get(ctx, org, crm.Lead, b.Lead.ID)
	if err != nil {
		return nil, fieldOf(err, "path.id")
	}
	var res *crm.LeadConvertResult
	if isConverted(lead) {
		res = &crm.LeadConvertResult{LeadID: lead.ID, AccountID: lead.Str("ConvertedAccountId"), ContactID: lead.Str("ConvertedContactId"),
			OpportunityID: lead.Str("ConvertedOpportunityId")}
		if b.Account != nil && res.AccountID != b.Account.ID || b.Contact != nil && res.ContactID != b.Contact.ID {
			return nil, &apperr.Error{Code: apperr.Conflict, Field: "path.id", Message: fmt.Sprintf("lead %s was converted elsewhere (account %s, contact %s)",
				lead.ID, res.AccountID, res.ContactID)}
		}
	} else {
		in := crm.LeadConvert{LeadID: lead.ID, OwnerID: ownerID, ConvertedStatus: plan.ConvertedStatus,
			DoNotCreateOpportunity: plan.Opportunity.Action != "create", OpportunityName: req.OpportunityName}
		if b.Account != nil {
			in.AccountID = b.Account.ID
		}
		if b.Contact != nil {
			in.ContactID = b.Contact.ID
		}
		if in.OpportunityName == "" && !in.DoNotCreateOpportunity {
			in.OpportunityName = plan.Opportunity.Name
		}
		if res, err = conv.ConvertLead(ctx, org, in); err != nil {
			if refused(err) {
				// Salesforce refused: nothing was converted by this attempt. Forget it, so that a
				// compensation does not take a conversion made by someone else for this one.
				if _, derr := s.DB.NewDelete().Model((*schema.SFConversion)(nil)).Where("org_id = ? AND id = ?", org, convID).Exec(ctx); derr != nil {
					return nil, derr
				}
				if lead, gerr := st.Get(ctx, org, crm.Lead, b.Lead.ID); gerr == nil && isConverted(lead) {
					return nil, &apperr.Error{Code: apperr.Conflict, Field: "path.id", Message: fmt.Sprintf("lead %s was converted meanwhile (account %v, contact %v)",
						lead.ID, lead.Fields["ConvertedAccountId"], lead.Fields["ConvertedContactId"])}
				}
			}
			return nil, bodyField(err)
		}
	}

	// The merge policy on the existing records: Salesforce filled their blanks from the lead;
	// the policy's target is written with Update, on the fields the lead maps to.
	pol, err := s.GetPolicy(ctx, org)
	if err != nil {
		return nil, err
	}
	for _, ex := range []struct {
		rec    *crm.Record
		object string
		mapped map[string]any
	}{{b.Account, crm.Account, crm.LeadAccountFields(b.Lead.Fields)}, {b.Contact, crm.Contact, crm.LeadContactFields(b.Lead.Fields)}} {
		if ex.rec == nil {
			continue
		}
		target := ConversionTarget(plan.MergePolicy, pol.FieldOverrides, ex.rec, &b.Lead, ex.mapped)
		cur, err := st.Get(ctx, org, ex.object, ex.rec.ID)
		if err != nil {
			return nil, err
		}
		changes := writable(ex.object, onlyKeys(changesTo(cur.Fields, target), ex.mapped))
		if len(changes) > 0 {
			if _, err := st.Update(ctx, org, ex.object, ex.rec.ID, changes, 0); err != nil {
				return nil, err
			}
		}
	}

	out := &Converted{LeadID: res.LeadID, AccountID: res.AccountID, ContactID: res.ContactID, OpportunityID: res.OpportunityID,
		AccountCreated: b.Account == nil, ContactCreated: b.Contact == nil, PrevOwner: b.Lead.Str("OwnerId"), ConvertedAt: s.now()}
	created := []string{}
	diff := func(object, id string, was *crm.Record) error {
		now, err := st.Get(ctx, org, object, id)
		if err != nil {
			return err
		}
		noteDiff(out, &created, object, id, was, now)
		return nil
	}
	lb := b.Lead
	for _, r := range []struct {
		object, id string
		was        *crm.Record
	}{{crm.Account, res.AccountID, b.Account}, {crm.Contact, res.ContactID, b.Contact}, {crm.Opportunity, res.OpportunityID, nil}, {crm.Lead, res.LeadID, &lb}} {
		if r.id == "" {
			continue
		}
		if err := diff(r.object, r.id, r.was); err != nil {
			return nil, err
		}
	}
	resJSON, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	b.Pending = false
	beforeJSON, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	if _, err := s.DB.NewUpdate().Model((*schema.SFConversion)(nil)).Set("result = ?::jsonb, before = ?::jsonb, created_ids = ?", string(resJSON), string(beforeJSON), pgdialect.Array(created)).
		Where("org_id = ? AND id = ?", org, convID).Exec(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// compensateRemote deletes what the conversion created and puts back the fields it changed on
// existing records. The lead stays converted: Salesforce cannot un-convert one.
func (s *Service) compensateRemote(ctx context.Context, org uuid.UUID, convID string) (bool, error) {
	st := s.store()
	var row schema.SFConversion
	err := s.DB.NewSelect().Model(&row).Where("org_id = ? AND id = ?", org, convID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil || row.State == "compensated" {
		return false, err
	}
	var b before
	if err := json.Unmarshal(row.Before, &b); err != nil {
		return false, err
	}
	created := row.CreatedIDs
	if b.Pending {
		// convertLead may or may not have run: the lead says.
		lead, err := st.Get(ctx, org, crm.Lead, b.Lead.ID)
		if err != nil && !apperr.Is(err, apperr.NotFound) {
			return false, err
		}
		if err != nil || !isConverted(lead) {
			// Nothing was converted: forget the attempt, so a new one may run under the id.
			_, err := s.DB.NewDelete().Model((*schema.SFConversion)(nil)).Where("org_id = ? AND id = ?", org, convID).Exec(ctx)
			return false, err
		}
		created = nil
		if id := lead.Str("ConvertedAccountId"); id != "" && b.Account == nil {
			created = append(created, id)
		}
		if id := lead.Str("ConvertedContactId"); id != "" && b.Contact == nil {
			created = append(created, id)
		}
		if id := lead.Str("ConvertedOpportunityId"); id != "" {
			created = append(created, id)
		}
	}
	// Children first: the opportunity and the contact point at the account.
	rank := map[string]int{crm.Opportunity: 0, crm.Contact: 1, crm.Account: 2}
	order := slices.Clone(created)
	slices.SortStableFunc(order, func(x, y string) int { return rank[crm.ObjectOf(x)] - rank[crm.ObjectOf(y)] })
	for _, id := range order {
		if err := st.Delete(ctx, org, crm.ObjectOf(id), id); err != nil && !apperr.Is(err, apperr.NotFound) {
			return false, err
		}
	}
	for _, ex := range []struct {
		rec    *crm.Record
		mapped map[string]any
	}{{b.Account, crm.LeadAccountFields(b.Lead.Fields)}, {b.Contact, crm.LeadContactFields(b.Lead.Fields)}} {
		if ex.rec == nil {
			continue
		}
		cur, err := st.Get(ctx, org, ex.rec.Object, ex.rec.ID)
		if apperr.Is(err, apperr.NotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		changes := writable(ex.rec.Object, onlyKeys(changesTo(cur.Fields, ex.rec.Fields), ex.mapped))
		if len(changes) > 0 {
			if _, err := st.Update(ctx, org, ex.rec.Object, ex.rec.ID, changes, 0); err != nil {
				return false, err
			}
		}
	}
	_, err = s.DB.NewUpdate().Model((*schema.SFConversion)(nil)).Set("state = 'compensated', compensated_at = ?", s.now()).
		Where("org_id = ? AND id = ?", org, convID).Exec(ctx)
	return err == nil, err
}

// restoreOwnerRemote puts the lead's owner back when the lead is not converted (a converted
// lead cannot be edited in Salesforce).
func (s *Service) restoreOwnerRemote(ctx context.Context, org uuid.UUID, leadID string, a OwnerAssignment) error {
	lead, err := s.store().Get(ctx, org, crm.Lead, leadID)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil || isConverted(lead) || lead.Str("OwnerId") != a.UserID || a.PrevOwner == a.UserID || a.PrevOwner == "" {
		return err
	}
	_, err = s.store().Update(ctx, org, crm.Lead, leadID, map[string]any{"OwnerId": a.PrevOwner}, 0)
	return err
}

// mergeRemote is Merge on a remote CRM: before-images by Get, the survivorship's changes sent
// with the merge call, the journal written once the call succeeded.
func (s *Service) mergeRemote(ctx context.Context, org uuid.UUID, in MergeInput) (*MergeResult, error) {
	conv, err := s.converter()
	if err != nil {
		return nil, err
	}
	st := s.store()
	pol, err := s.GetPolicy(ctx, org)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for k := range systemFields {
		keep[k] = true
	}
	for k := range remoteReadOnly {
		keep[k] = true
	}
	sv, err := survive(in, pol, append([]string{in.MasterID}, in.DuplicateIDs...), keep, func(id string) (*crm.Record, error) {
		return st.Get(ctx, org, in.Object, id)
	})
	if err != nil {
		return nil, err
	}
	policy, master, losers, target, sources := sv.policy, sv.master, sv.losers, sv.target, sv.sources
	changes := writable(in.Object, changesTo(master.Fields, target))
	// The children the merge will move, with the duplicate each points at (for an undo):
	// contacts and opportunities of merged accounts.
	var children []crm.ReparentedChild
	if in.Object == crm.Account {
		for _, dup := range in.DuplicateIDs {
			for _, object := range []string{crm.Contact, crm.Opportunity} {
				for after := ""; ; {
					page, err := st.Query(ctx, org, crm.Query{Object: object, Filters: map[string]string{"account_id": dup}, After: after, Limit: 1000})
					if err != nil {
						return nil, err
					}
					for _, r := range page.Records {
						children = append(children, crm.ReparentedChild{ID: r.ID, Object: object, Field: "AccountId", From: dup})
					}
					if page.Next == "" {
						break
					}
					after = page.Next
				}
			}
		}
	}
	now := s.now()
	out := &MergeResult{DryRun: in.DryRun, Object: in.Object, MasterID: in.MasterID, MergedIDs: in.DuplicateIDs, Policy: policy, Sources: sources,
		MasterDiff: RecordDiff{Object: in.Object, ID: in.MasterID, Action: "update", Fields: diffFields(master.Fields, crm.WithChanges(master.Fields, changes))},
		Reparented: children, CreatedAt: now}
	if in.DryRun {
		if out.Reparented == nil {
			out.Reparented = []crm.ReparentedChild{}
		}
		return out, nil
	}
	res, err := conv.Merge(ctx, org, crm.MergeRequest{Object: in.Object, MasterID: in.MasterID, DuplicateIDs: in.DuplicateIDs, MasterFields: changes})
	if err != nil {
		return nil, bodyField(err)
	}
	out.MasterID, out.MergedIDs = res.MasterID, res.MergedIDs
	if len(out.MergedIDs) == 0 {
		out.MergedIDs = in.DuplicateIDs
	}
	// Children Salesforce moved that were not read before (objects other than contacts and
	// opportunities, or children of merged contacts): journaled without their former parent,
	// so an undo lists them as skipped.
	known := map[string]bool{}
	for _, c := range children {
		known[c.ID] = true
	}
	for _, id := range res.UpdatedRelatedIDs {
		if id18, ok := crm.To18(id); ok && !known[id18] {
			out.Reparented = append(out.Reparented, crm.ReparentedChild{ID: id18, Object: crm.ObjectOf(id18)})
		}
	}
	if out.Reparented == nil {
		out.Reparented = []crm.ReparentedChild{}
	}
	after, err := st.Get(ctx, org, in.Object, in.MasterID)
	if err != nil {
		return nil, err
	}
	out.MasterDiff.Fields = diffFields(master.Fields, after.Fields)
	mb, _ := json.Marshal(master)
	ma, _ := json.Marshal(after.Fields)
	lb, _ := json.Marshal(losers)
	ch, _ := json.Marshal(out.Reparented)
	row := &schema.SFMerge{OrgID: org, ID: uuid.New(), Object: in.Object, MasterID: in.MasterID, DuplicateIDs: in.DuplicateIDs, Policy: policy,
		MasterBefore: mb, MasterAfter: ma, MasterVersion: after.Version, LosersBefore: lb, Children: ch, RequestID: in.RequestID, CreatedAt: now}
	if in.IdempotencyKey != "" {
		row.IdempotencyKey = &in.IdempotencyKey
	}
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return err
		}
		return s.logMerge(ctx, tx, org, row.ID.String(), "merge", in.RequestID, out, now)
	})
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "the merge of %s into %s was done in Salesforce, but its journal entry could not be written", in.DuplicateIDs, in.MasterID)
	}
	out.MergeID = row.ID.String()
	return out, nil
}

// undoRemote reverses a journaled merge on a remote CRM, holding the journal row's lock so
// the merge is undone once: undelete the losers, put their fields and the master's back,
// point the moved children back at the loser they came from.
func (s *Service) undoRemote(ctx context.Context, org uuid.UUID, mid uuid.UUID, requestID string) (*UndoResult, error) {
	conv, err := s.converter()
	if err != nil {
		return nil, err
	}
	st := s.store()
	id := mid.String()
	var out *UndoResult
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		m, r, err := s.lockUndoable(ctx, tx, org, mid)
		if err != nil {
			return err
		}
		var losers []crm.Record
		if err := json.Unmarshal(m.LosersBefore, &losers); err != nil {
			return err
		}
		cur, err := st.Get(ctx, org, m.Object, m.MasterID)
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
		if err := conv.Undelete(ctx, org, m.Object, m.DuplicateIDs); err != nil {
			// An earlier attempt may have restored them already.
			for _, d := range m.DuplicateIDs {
				if _, gerr := st.Get(ctx, org, m.Object, d); gerr != nil {
					return err
				}
			}
		}
		if ch := writable(m.Object, changesTo(cur.Fields, r.masterBefore.Fields)); len(ch) > 0 {
			if _, err := st.Update(ctx, org, m.Object, m.MasterID, ch, 0); err != nil {
				return err
			}
		}
		for _, l := range losers {
			now, err := st.Get(ctx, org, m.Object, l.ID)
			if err != nil {
				return err
			}
			if ch := writable(m.Object, changesTo(now.Fields, l.Fields)); len(ch) > 0 {
				if _, err := st.Update(ctx, org, m.Object, l.ID, ch, 0); err != nil {
					return err
				}
			}
		}
		at := s.now()
		out = &UndoResult{MergeID: id, Object: m.Object, MasterID: m.MasterID, Restored: m.DuplicateIDs, Reparented: []crm.ReparentedChild{}, UndoneAt: at,
			MasterDiff: RecordDiff{Object: m.Object, ID: m.MasterID, Action: "restore", Fields: diffFields(cur.Fields, crm.WithChanges(r.masterBefore.Fields, nil))}}
		for _, c := range r.Reparented {
			if c.Field == "" || c.From == "" {
				out.Skipped = append(out.Skipped, c.ID)
				continue
			}
			rec, err := st.Get(ctx, org, c.Object, c.ID)
			if apperr.Is(err, apperr.NotFound) {
				out.Skipped = append(out.Skipped, c.ID)
				continue
			}
			if err != nil {
				return err
			}
			if rec.Str(c.Field) != m.MasterID {
				out.Skipped = append(out.Skipped, c.ID) // re-parented again since the merge
				continue
			}
			if _, err := st.Update(ctx, org, c.Object, c.ID, map[string]any{c.Field: c.From}, 0); err != nil {
				return err
			}
			out.Reparented = append(out.Reparented, c)
		}
		return s.markUndone(ctx, tx, org, m, out, requestID, at)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
