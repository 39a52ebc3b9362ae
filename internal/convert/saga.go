package convert

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

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/routelog"
	"github.com/lanternhq/lantern/internal/routing"
	"github.com/lanternhq/lantern/schema"
)

// The steps of a conversion, each safe to run again with the same conversion id (the
// workflow id): a retry finds what the first attempt did and returns it.
//
//	AssignOwner   pool mode: the next member of the pool becomes the lead's owner (routing, keyed)
//	Convert       the conversion itself and the merge policy on existing records, in one transaction,
//	              recorded in sf_conversions with the before-images
//	Log           route log entries: convert, merge, assign (keyed)
//
// Compensations, run in reverse when a later step fails: Compensate (delete what Convert
// created, put back what it changed) and RestoreOwner (the lead's owner before AssignOwner).

// OwnerAssignment is the owner a pool gave the lead.
type OwnerAssignment struct {
	Pool      string `json:"pool"`
	UserID    string `json:"user_id"`
	PrevOwner string `json:"prev_owner,omitempty"`
	Sequence  int64  `json:"sequence"`
	Replayed  bool   `json:"replayed,omitempty"`
}

// AssignOwner assigns the lead to the pool's next member; the assignment's idempotency key is
// derived from the conversion id, so a retry returns the same member.
func (s *Service) AssignOwner(ctx context.Context, org uuid.UUID, convID string, req Request) (*OwnerAssignment, error) {
	if s.Routing == nil {
		return nil, apperr.New(apperr.NotConfigured, "round-robin routing is not set up on this server")
	}
	res, err := s.Routing.Assign(ctx, org, routing.AssignRequest{Pool: req.Owner.Pool, Object: crm.Lead, ObjectID: req.LeadID,
		Reason: "lead_conversion", IdempotencyKey: convID + ":assign", RequestID: req.RequestID})
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Field == "pool" {
			c := *e
			c.Field = "body.owner.pool"
			return nil, &c
		}
		return nil, err
	}
	if !res.Assigned {
		return nil, apperr.Field("body.owner.pool", "nobody in pool %s can take the lead now: %s", req.Owner.Pool, res.Why)
	}
	return &OwnerAssignment{Pool: res.Pool, UserID: res.AssignedTo, PrevOwner: res.PrevOwner, Sequence: res.Sequence, Replayed: res.Replayed}, nil
}

// RestoreOwner puts the lead's owner back after a failed conversion, if it is still the one
// the pool assigned. The pool's rotation is not rewound: the member keeps the turn.
func (s *Service) RestoreOwner(ctx context.Context, org uuid.UUID, leadID string, a OwnerAssignment) error {
	if s.local() == nil {
		return s.restoreOwnerRemote(ctx, org, leadID, a)
	}
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		lead, err := s.local().GetTx(ctx, tx, org, crm.Lead, leadID)
		if apperr.Is(err, apperr.NotFound) {
			return nil
		}
		if err != nil || lead.Str("OwnerId") != a.UserID || a.PrevOwner == a.UserID {
			return err
		}
		var prev any
		if a.PrevOwner != "" {
			prev = a.PrevOwner
		}
		_, err = s.local().ReplaceFieldsTx(ctx, tx, org, crm.Lead, leadID, crm.WithChanges(lead.Fields, map[string]any{"OwnerId": prev}))
		return err
	})
}

// Converted is what a conversion did.
type Converted struct {
	LeadID         string       `json:"lead_id"`
	AccountID      string       `json:"account_id"`
	ContactID      string       `json:"contact_id"`
	OpportunityID  string       `json:"opportunity_id,omitempty"`
	AccountCreated bool         `json:"account_created"`
	ContactCreated bool         `json:"contact_created"`
	OwnerID        string       `json:"owner_id,omitempty"`
	PrevOwner      string       `json:"prev_owner,omitempty" doc:"The lead's owner before"`
	Diffs          []RecordDiff `json:"diffs"`
	ConvertedAt    time.Time    `json:"converted_at"`
	Replayed       bool         `json:"replayed,omitempty" doc:"The conversion had already run under this id; its first result is returned"`
}

type before struct {
	Lead    crm.Record  `json:"lead"`
	Account *crm.Record `json:"account,omitempty"`
	Contact *crm.Record `json:"contact,omitempty"`
	// Pending: a remote conversion was about to call the CRM and has not recorded its result.
	Pending bool `json:"pending,omitempty"`
}

// Convert converts the lead as planned, in one transaction with its record in sf_conversions:
// Run again with the same convID, it returns the first result.
func (s *Service) Convert(ctx context.Context, org uuid.UUID, convID string, req Request, plan ConversionPlan, ownerID string) (*Converted, error) {
	if s.local() == nil {
		return s.convertRemote(ctx, org, convID, req, plan, ownerID)
	}
	var out *Converted
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var prior schema.SFConversion
		err := tx.NewSelect().Model(&prior).Where("org_id = ? AND id = ?", org, convID).Scan(ctx)
		if err == nil && prior.State == "compensated" {
			// A new run under the same id, after an earlier one was undone: convert afresh.
			if _, err := tx.NewDelete().Model((*schema.SFConversion)(nil)).Where("org_id = ? AND id = ?", org, convID).Exec(ctx); err != nil {
				return err
			}
			err = sql.ErrNoRows
		}
		if err == nil {
			out = &Converted{}
			if err := json.Unmarshal(prior.Result, out); err != nil {
				return err
			}
			out.Replayed = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var err2 error
		out, err2 = s.convertTx(ctx, tx, org, convID, req, plan, ownerID)
		return err2
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) convertTx(ctx context.Context, tx bun.Tx, org uuid.UUID, convID string, req Request, plan ConversionPlan, ownerID string) (*Converted, error) {
	lead, err := s.local().GetTx(ctx, tx, org, crm.Lead, req.LeadID)
	if err != nil {
		return nil, fieldOf(err, "path.id")
	}
	b := before{Lead: *lead}
	in := crm.LeadConvert{LeadID: lead.ID, OwnerID: ownerID, ConvertedStatus: plan.ConvertedStatus,
		DoNotCreateOpportunity: plan.Opportunity.Action != "create", OpportunityName: req.OpportunityName}
	if plan.Account.Action == "attach" {
		in.AccountID = plan.Account.ID
		if b.Account, err = s.local().GetTx(ctx, tx, org, crm.Account, in.AccountID); err != nil {
			return nil, fieldOf(err, "body.account_id")
		}
	}
	if plan.Contact.Action == "merge" {
		in.ContactID = plan.Contact.ID
		if b.Contact, err = s.local().GetTx(ctx, tx, org, crm.Contact, in.ContactID); err != nil {
			return nil, fieldOf(err, "body.contact_id")
		}
	}
	res, err := s.local().ConvertLeadTx(ctx, tx, org, in)
	if err != nil {
		return nil, bodyField(err)
	}
	pol, err := getPolicy(ctx, tx, org)
	if err != nil {
		return nil, err
	}
	// The merge policy on the existing records: the store filled their blanks (as Salesforce
	// does); master_wins takes that back, newest_wins lets a newer lead overwrite.
	for _, ex := range []struct {
		rec    *crm.Record
		object string
		mapped map[string]any
	}{{b.Account, crm.Account, crm.LeadAccountFields(lead.Fields)}, {b.Contact, crm.Contact, crm.LeadContactFields(lead.Fields)}} {
		if ex.rec == nil {
			continue
		}
		target := ConversionTarget(plan.MergePolicy, pol.FieldOverrides, ex.rec, lead, ex.mapped)
		cur, err := s.local().GetTx(ctx, tx, org, ex.object, ex.rec.ID)
		if err != nil {
			return nil, err
		}
		if len(diffFields(cur.Fields, target)) > 0 {
			if _, err := s.local().ReplaceFieldsTx(ctx, tx, org, ex.object, ex.rec.ID, target); err != nil {
				return nil, err
			}
		}
	}
	out := &Converted{LeadID: res.LeadID, AccountID: res.AccountID, ContactID: res.ContactID, OpportunityID: res.OpportunityID,
		AccountCreated: b.Account == nil, ContactCreated: b.Contact == nil, PrevOwner: lead.Str("OwnerId"), ConvertedAt: s.now()}
	var created []string
	diff := func(object, id string, was *crm.Record) error {
		now, err := s.local().GetTx(ctx, tx, org, object, id)
		if err != nil {
			return err
		}
		noteDiff(out, &created, object, id, was, now)
		return nil
	}
	if err := diff(crm.Account, res.AccountID, b.Account); err != nil {
		return nil, err
	}
	if err := diff(crm.Contact, res.ContactID, b.Contact); err != nil {
		return nil, err
	}
	if res.OpportunityID != "" {
		if err := diff(crm.Opportunity, res.OpportunityID, nil); err != nil {
			return nil, err
		}
	}
	if err := diff(crm.Lead, res.LeadID, lead); err != nil {
		return nil, err
	}
	resJSON, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	beforeJSON, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	row := &schema.SFConversion{OrgID: org, ID: convID, LeadID: lead.ID, State: "converted", Result: resJSON, Before: beforeJSON,
		CreatedIDs: created, CreatedAt: out.ConvertedAt}
	if created == nil {
		row.CreatedIDs = []string{}
	}
	if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// fieldOf names the input at fault in a not-found error.
func fieldOf(err error, field string) error {
	if e, ok := apperr.As(err); ok && e.Code == apperr.NotFound {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// bodyField prefixes the store's field names with "body." (the lead's with "path.id").
func bodyField(err error) error {
	e, ok := apperr.As(err)
	if !ok || e.Field == "" {
		return err
	}
	c := *e
	switch c.Field {
	case "lead_id":
		c.Field = "path.id"
	case "owner_id":
		c.Field = "body.owner.user_id"
	default:
		c.Field = "body." + strings.Replace(c.Field, "master_fields", "fields", 1)
	}
	return &c
}

// Compensate undoes a conversion: it deletes the records the conversion created and puts the
// lead and the existing account and contact back as they were. It does nothing for a
// conversion that never happened or is already compensated.
func (s *Service) Compensate(ctx context.Context, org uuid.UUID, convID string) (bool, error) {
	if s.local() == nil {
		return s.compensateRemote(ctx, org, convID)
	}
	done := false
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var row schema.SFConversion
		err := tx.NewSelect().Model(&row).Where("org_id = ? AND id = ?", org, convID).For("UPDATE").Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil || row.State == "compensated" {
			return err
		}
		var b before
		if err := json.Unmarshal(row.Before, &b); err != nil {
			return err
		}
		// The lead first: it points at the records about to go.
		if _, err := s.local().ReplaceFieldsTx(ctx, tx, org, crm.Lead, b.Lead.ID, b.Lead.Fields); err != nil && !apperr.Is(err, apperr.NotFound) {
			return err
		}
		if err := s.local().DeleteTx(ctx, tx, org, row.CreatedIDs); err != nil {
			return err
		}
		for _, r := range []*crm.Record{b.Account, b.Contact} {
			if r == nil {
				continue
			}
			if _, err := s.local().ReplaceFieldsTx(ctx, tx, org, r.Object, r.ID, r.Fields); err != nil && !apperr.Is(err, apperr.NotFound) {
				return err
			}
		}
		now := s.now()
		_, err = tx.NewUpdate().Model((*schema.SFConversion)(nil)).Set("state = 'compensated', compensated_at = ?", now).
			Where("org_id = ? AND id = ?", org, convID).Exec(ctx)
		done = err == nil
		return err
	})
	return done, err
}

// Log writes the conversion's route log entries, keyed by the conversion id so a retry logs
// once: convert on the lead (with its diff), merge for an existing contact the lead was merged
// into, and assign for the owner of each record the conversion created (and for the lead when
// its owner changed other than through a pool, whose assignment routing logged itself).
func (s *Service) Log(ctx context.Context, org uuid.UUID, convID string, req Request, plan ConversionPlan, c Converted) (int, error) {
	key := convID
	reason := "lead_conversion"
	var entries []routelog.Entry
	diffOf := func(object, id string) json.RawMessage {
		for _, d := range c.Diffs {
			if d.Object == object && d.ID == id {
				b, _ := json.Marshal(d.Fields)
				return b
			}
		}
		return nil
	}
	ptr := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	at := c.ConvertedAt
	conv, _ := json.Marshal(map[string]any{"fields": json.RawMessage(orNull(diffOf(crm.Lead, c.LeadID))), "account_id": c.AccountID,
		"contact_id": c.ContactID, "opportunity_id": c.OpportunityID, "account": plan.Account.Action, "contact": plan.Contact.Action,
		"opportunity": plan.Opportunity.Action, "merge_policy": plan.MergePolicy})
	entries = append(entries, routelog.Entry{Timestamp: at, Object: crm.Lead, ObjectID: c.LeadID, Action: "convert", PrevOwner: ptr(c.PrevOwner),
		Reason: reason, RequestID: req.RequestID, IdempotencyKey: key, Diff: conv})
	if !c.ContactCreated {
		d, _ := json.Marshal(map[string]any{"merged_lead": c.LeadID, "fields": json.RawMessage(orNull(diffOf(crm.Contact, c.ContactID))),
			"confidence": plan.Contact.Confidence, "policy": plan.MergePolicy})
		entries = append(entries, routelog.Entry{Timestamp: at, Object: crm.Contact, ObjectID: c.ContactID, Action: "merge",
			Reason: "lead_merged_into_contact", RequestID: req.RequestID, IdempotencyKey: key, Diff: d})
	}
	if !c.AccountCreated {
		if d := diffOf(crm.Account, c.AccountID); d != nil {
			m, _ := json.Marshal(map[string]any{"merged_lead": c.LeadID, "fields": json.RawMessage(d), "confidence": plan.Account.Confidence, "policy": plan.MergePolicy})
			entries = append(entries, routelog.Entry{Timestamp: at, Object: crm.Account, ObjectID: c.AccountID, Action: "merge",
				Reason: "lead_merged_into_account", RequestID: req.RequestID, IdempotencyKey: key, Diff: m})
		}
	}
	owner := ptr(c.OwnerID)
	assignReason := "lead_conversion:" + plan.Owner.Mode
	for _, r := range []struct {
		object, id string
		created    bool
	}{{crm.Account, c.AccountID, c.AccountCreated}, {crm.Contact, c.ContactID, c.ContactCreated}, {crm.Opportunity, c.OpportunityID, c.OpportunityID != ""}} {
		if r.created && owner != nil {
			entries = append(entries, routelog.Entry{Timestamp: at, Object: r.object, ObjectID: r.id, Action: "assign", AssignedTo: owner,
				Pool: ptr(plan.Owner.Pool), Reason: assignReason, RequestID: req.RequestID, IdempotencyKey: key, Diff: diffOf(r.object, r.id)})
		}
	}
	if plan.Owner.Mode != OwnerPool && c.OwnerID != c.PrevOwner && owner != nil {
		d, _ := json.Marshal(map[string]FieldChange{"OwnerId": {Before: nilIfEmpty(c.PrevOwner), After: c.OwnerID}})
		entries = append(entries, routelog.Entry{Timestamp: at, Object: crm.Lead, ObjectID: c.LeadID, Action: "assign", AssignedTo: owner,
			PrevOwner: ptr(c.PrevOwner), Reason: assignReason, RequestID: req.RequestID, IdempotencyKey: key, Diff: d})
	}
	return routelog.Write(ctx, s.DB, org, entries...)
}

func orNull(b []byte) []byte {
	if b == nil {
		return []byte("null")
	}
	return b
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ConversionID is a conversion's id when no workflow names it (tests, the API's dry run).
func ConversionID(org uuid.UUID, key string) string { return fmt.Sprintf("convert-%s-%s", org, key) }

// noteDiff adds to out what a conversion did to one record, read back after it (now): a create
// when was is nil, else the fields that changed. It notes created ids and the lead's owner.
func noteDiff(out *Converted, created *[]string, object, id string, was, now *crm.Record) {
	d := RecordDiff{Object: object, ID: id, Action: "update"}
	if was == nil {
		d.Action = "create"
		d.Fields = diffFields(nil, now.Fields)
		*created = append(*created, id)
	} else {
		d.Fields = diffFields(was.Fields, now.Fields)
	}
	if object == crm.Lead {
		out.OwnerID = now.Str("OwnerId")
	}
	if len(d.Fields) > 0 {
		out.Diffs = append(out.Diffs, d)
	}
}
