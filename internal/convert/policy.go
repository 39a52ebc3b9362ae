// Package convert is the domain of the Salesforce API (/v1/salesforce) on the CRM store: it
// plans lead conversions (the account found by the matching engine, the contact by email or
// name within that account, the owner by user, pool or account), runs the steps of a
// conversion and their compensations, merges duplicates by survivorship policy with a journal
// that can undo a merge, and keeps each org's merge policy. No HTTP and no Temporal here: the
// workflow in workflows/convert.go orders the steps; the API in api/salesforce.go calls them.
package convert

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/match"
	"github.com/lanternhq/lantern/internal/routing"
	"github.com/lanternhq/lantern/schema"
)

// Survivorship policies: which value a field keeps when records are merged.
const (
	// FillEmpty keeps the master's values and fills its blank fields from the duplicates, in
	// the order given (what a lead conversion does to an existing account or contact).
	FillEmpty = "fill_empty"
	// MasterWins keeps the master's fields exactly as they are.
	MasterWins = "master_wins"
	// NewestWins takes each field from the most recently modified record that has a value.
	NewestWins = "newest_wins"
)

// Policies lists the survivorship policies.
var Policies = []string{FillEmpty, MasterWins, NewestWins}

// Merge limits: Salesforce merges a master with at most two duplicates per call; the local
// store takes more in one transaction.
const (
	SalesforceMaxDuplicates = 2
	LocalMaxDuplicates      = 10
)

// Service holds what conversions and merges need.
type Service struct {
	DB *bun.DB
	// Local is Lantern's own CRM store: conversions and merges run in one Postgres
	// transaction with their records (the fast path).
	Local *crm.Local
	// CRM is the CRM through the port, used when Local is nil: a *crm.Local takes the fast
	// path; any other store (the Salesforce adapter) must also implement crm.Converter, and
	// conversions and merges run as remote calls (convertLead, merge, undelete) with their
	// records in Postgres written around them.
	CRM     crm.Store
	Region  string           // default phone region of the matching engine ("" : the local store's)
	Routing *routing.Service // owners by round robin
	Now     func() time.Time
	// MaxDuplicates caps a merge's duplicates; 0 means LocalMaxDuplicates on the local store
	// and SalesforceMaxDuplicates on a remote CRM.
	MaxDuplicates int
	// UndoWindow is how long a merge can be undone; 0 means DefaultUndoWindow. The retention
	// workflow purges older merges' recycle-bin records and journal (PruneMerges).
	UndoWindow time.Duration
}

// DefaultUndoWindow is Salesforce's recycle-bin retention: 15 days.
const DefaultUndoWindow = 15 * 24 * time.Hour

func (s *Service) undoWindow() time.Duration {
	if s.UndoWindow > 0 {
		return s.UndoWindow
	}
	return DefaultUndoWindow
}

// local is the local store when the CRM is Lantern's own, else nil.
func (s *Service) local() *crm.Local {
	if s.Local != nil {
		return s.Local
	}
	l, _ := s.CRM.(*crm.Local)
	return l
}

// store is the CRM through the port.
func (s *Service) store() crm.Store {
	if s.Local != nil {
		return s.Local
	}
	return s.CRM
}

// converter is the remote CRM's convertLead/merge/undelete.
func (s *Service) converter() (crm.Converter, error) {
	c, ok := s.store().(crm.Converter)
	if !ok {
		return nil, apperr.New(apperr.NotConfigured, "the CRM store cannot convert leads or merge records")
	}
	return c, nil
}

func (s *Service) region() string {
	if s.Region != "" {
		return s.Region
	}
	if l := s.local(); l != nil {
		return l.Region
	}
	return ""
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) maxDuplicates() int {
	if s.MaxDuplicates > 0 {
		return s.MaxDuplicates
	}
	if s.local() == nil {
		return SalesforceMaxDuplicates
	}
	return LocalMaxDuplicates
}

// MergePolicy is an org's merge policy: how merges and conversions choose field values, and when a
// conversion attaches a lead to an existing account and contact on its own.
type MergePolicy struct {
	DefaultPolicy string `json:"default_policy" enum:"fill_empty,master_wins,newest_wins" doc:"Survivorship when a request names none: fill_empty keeps the master's values and fills its blanks; master_wins keeps the master as it is; newest_wins takes each field from the most recently modified record that has a value"`
	// FieldOverrides set a policy per field, e.g. {"Phone": "newest_wins"}.
	FieldOverrides map[string]string `json:"field_overrides,omitempty" doc:"Policy per field, overriding default_policy, e.g. {\"Phone\": \"newest_wins\"}"`
	AutoMerge      bool              `json:"auto_merge" doc:"When true, a conversion without account_id/contact_id attaches the lead to the account and contact the matching engine finds at or above auto_merge_threshold; when false it creates new ones unless told which to use"`
	Threshold      float64           `json:"auto_merge_threshold" minimum:"0.5" maximum:"1" doc:"Match confidence (0-1) at or above which a conversion attaches to an existing record"`
	// ConvertedStatus and CreateOpportunity are the defaults of a conversion request.
	ConvertedStatus   string     `json:"converted_status,omitempty" maxLength:"100" doc:"Lead Status a conversion sets when the request names none"`
	CreateOpportunity bool       `json:"create_opportunity" doc:"Whether a conversion creates an opportunity when the request does not say"`
	UpdatedAt         *time.Time `json:"updated_at,omitempty" readOnly:"true" doc:"When the policy was last changed; absent while the org uses the defaults"`
}

// DefaultPolicy is the policy of an org that has set none.
func DefaultPolicy() MergePolicy {
	return MergePolicy{DefaultPolicy: FillEmpty, FieldOverrides: map[string]string{}, AutoMerge: true, Threshold: match.DefaultThreshold,
		ConvertedStatus: crm.DefaultConvertedStatus, CreateOpportunity: true}
}

func checkPolicyName(field, p string) error {
	if !slices.Contains(Policies, p) {
		return apperr.Field(field, "must be one of fill_empty, master_wins, newest_wins")
	}
	return nil
}

func (p *MergePolicy) check() error {
	if p.DefaultPolicy == "" {
		p.DefaultPolicy = FillEmpty
	}
	if err := checkPolicyName("body.default_policy", p.DefaultPolicy); err != nil {
		return err
	}
	if len(p.FieldOverrides) > 500 {
		return apperr.Field("body.field_overrides", "may hold at most 500 fields")
	}
	for f, v := range p.FieldOverrides {
		if !isField(f) {
			return apperr.Field("body.field_overrides."+f, "is not a field name")
		}
		if err := checkPolicyName("body.field_overrides."+f, v); err != nil {
			return err
		}
	}
	if p.FieldOverrides == nil {
		p.FieldOverrides = map[string]string{}
	}
	if p.Threshold == 0 {
		p.Threshold = match.DefaultThreshold
	}
	if p.Threshold < 0.5 || p.Threshold > 1 {
		return apperr.Field("body.auto_merge_threshold", "must be between 0.5 and 1")
	}
	if p.ConvertedStatus == "" {
		p.ConvertedStatus = crm.DefaultConvertedStatus
	}
	if len(p.ConvertedStatus) > 100 {
		return apperr.Field("body.converted_status", "must be at most 100 characters")
	}
	return nil
}

// isField: a Salesforce API name (a letter, then letters, digits or underscores).
func isField(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for i, c := range s {
		letter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '_')) {
			return false
		}
	}
	return true
}

// GetPolicy returns the org's merge policy, or the defaults.
func (s *Service) GetPolicy(ctx context.Context, org uuid.UUID) (MergePolicy, error) {
	return getPolicy(ctx, s.DB, org)
}

func getPolicy(ctx context.Context, db bun.IDB, org uuid.UUID) (MergePolicy, error) {
	var m schema.SFMergePolicy
	err := db.NewSelect().Model(&m).Where("org_id = ?", org).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultPolicy(), nil
	}
	if err != nil {
		return MergePolicy{}, err
	}
	at := m.UpdatedAt
	p := MergePolicy{DefaultPolicy: m.DefaultPolicy, FieldOverrides: m.FieldOverrides, AutoMerge: m.AutoMerge, Threshold: m.AutoMergeThreshold,
		ConvertedStatus: m.ConvertedStatus, CreateOpportunity: m.CreateOpportunity, UpdatedAt: &at}
	if p.FieldOverrides == nil {
		p.FieldOverrides = map[string]string{}
	}
	return p, nil
}

// PutPolicy replaces the org's merge policy.
func (s *Service) PutPolicy(ctx context.Context, org uuid.UUID, p MergePolicy) (MergePolicy, error) {
	if err := p.check(); err != nil {
		return MergePolicy{}, err
	}
	now := s.now()
	m := &schema.SFMergePolicy{OrgID: org, DefaultPolicy: p.DefaultPolicy, FieldOverrides: p.FieldOverrides, AutoMerge: p.AutoMerge,
		AutoMergeThreshold: p.Threshold, ConvertedStatus: p.ConvertedStatus, CreateOpportunity: p.CreateOpportunity, UpdatedAt: now}
	_, err := s.DB.NewInsert().Model(m).On("CONFLICT (org_id) DO UPDATE").
		Set("default_policy = EXCLUDED.default_policy, field_overrides = EXCLUDED.field_overrides, auto_merge = EXCLUDED.auto_merge").
		Set("auto_merge_threshold = EXCLUDED.auto_merge_threshold, converted_status = EXCLUDED.converted_status").
		Set("create_opportunity = EXCLUDED.create_opportunity, updated_at = EXCLUDED.updated_at").Exec(ctx)
	if err != nil {
		return MergePolicy{}, err
	}
	p.UpdatedAt = &now
	return p, nil
}

// systemFields are never merged: the store sets them, or they name the record itself.
var systemFields = map[string]bool{"Id": true, "CreatedDate": true, "LastModifiedDate": true, "SystemModstamp": true, "IsDeleted": true,
	"IsConverted": true, "ConvertedAccountId": true, "ConvertedContactId": true, "ConvertedOpportunityId": true, "ConvertedDate": true,
	"MasterRecordId": true}

// SurvivorSource is where a surviving field value came from.
type SurvivorSource struct {
	From   string `json:"from" doc:"Id of the record the value came from"`
	Policy string `json:"policy" doc:"The policy, or \"override\" when the request named the record or the value"`
}

// Survive computes the master's fields after a merge: for each field, the value the policy
// (or the field's override) picks among the master and the losers. An override names a
// policy or the id of one of the records. It returns the full fields and each field's source.
func Survive(policy string, overrides map[string]string, master crm.Record, losers []crm.Record) (map[string]any, map[string]SurvivorSource) {
	out := map[string]any{}
	src := map[string]SurvivorSource{}
	all := append([]crm.Record{master}, losers...)
	var names []string
	seen := map[string]bool{}
	for _, r := range all {
		for f := range r.Fields {
			if !seen[f] && !systemFields[f] {
				seen[f] = true
				names = append(names, f)
			}
		}
	}
	slices.Sort(names)
	for _, f := range names {
		p := policy
		if o, ok := overrides[f]; ok {
			p = o
		}
		pick := -1
		switch p {
		case MasterWins:
			pick = 0
		case FillEmpty:
			for i, r := range all {
				if !crm.Empty(r.Fields[f]) {
					pick = i
					break
				}
			}
		case NewestWins:
			for i, r := range all {
				if crm.Empty(r.Fields[f]) {
					continue
				}
				if pick < 0 || r.LastModifiedAt.After(all[pick].LastModifiedAt) {
					pick = i
				}
			}
		default: // a record id
			for i, r := range all {
				if r.ID == p {
					pick = i
				}
			}
			if pick >= 0 {
				p = "override"
			}
		}
		if pick < 0 {
			pick = 0
		}
		if v, ok := all[pick].Fields[f]; ok && v != nil {
			out[f] = v
			src[f] = SurvivorSource{From: all[pick].ID, Policy: p}
		}
	}
	return out, src
}

// FieldChange is one field's values before and after.
type FieldChange struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// RecordDiff is what an action does (or did) to one record; ID is empty for a record a plan would
// create.
type RecordDiff struct {
	Object string                 `json:"object"`
	ID     string                 `json:"id,omitempty"`
	Action string                 `json:"action" enum:"create,update,delete,restore" doc:"What happens to the record"`
	Fields map[string]FieldChange `json:"fields"`
}

// diffFields compares two field sets (system fields aside).
func diffFields(before, after map[string]any) map[string]FieldChange {
	out := map[string]FieldChange{}
	for k, a := range after {
		if k == "Id" {
			continue
		}
		if b := before[k]; !sameValue(b, a) {
			out[k] = FieldChange{Before: b, After: a}
		}
	}
	for k, b := range before {
		if _, ok := after[k]; !ok && k != "Id" && b != nil {
			out[k] = FieldChange{Before: b, After: nil}
		}
	}
	return out
}

func sameValue(a, b any) bool {
	return fmt.Sprint(a) == fmt.Sprint(b) && (a == nil) == (b == nil)
}

// changesTo is the Update that turns before into after (nil removes a field).
func changesTo(before, after map[string]any) map[string]any {
	out := map[string]any{}
	for k, c := range diffFields(before, after) {
		out[k] = c.After
	}
	return out
}
