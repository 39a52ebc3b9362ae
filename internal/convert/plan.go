package convert

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/match"
	"github.com/lanternhq/lantern/internal/routing"
)

// OwnerRule modes of a conversion.
const (
	OwnerLead         = "lead_owner"    // keep the lead's owner (the default)
	OwnerExplicit     = "explicit"      // owner.user_id
	OwnerPool         = "pool"          // the next member of owner.pool by round robin
	OwnerAccountOwner = "account_owner" // the owner of the account the lead is attached to
)

// OwnerRule says who owns what a conversion creates.
type OwnerRule struct {
	Mode   string `json:"mode,omitempty" enum:"lead_owner,explicit,pool,account_owner" default:"lead_owner" doc:"explicit: user_id; pool: the next member of the pool by round robin; account_owner: the owner of the matched account; lead_owner: the lead's owner"`
	UserID string `json:"user_id,omitempty" maxLength:"18" doc:"With mode explicit: an active User id (005...)"`
	Pool   string `json:"pool,omitempty" maxLength:"100" doc:"With mode pool: a routing pool that serves Leads"`
}

// Request is one lead conversion.
type Request struct {
	LeadID            string    `json:"lead_id"`
	AccountID         string    `json:"account_id,omitempty"`
	ContactID         string    `json:"contact_id,omitempty"`
	Owner             OwnerRule `json:"owner"`
	CreateOpportunity *bool     `json:"create_opportunity,omitempty"`
	OpportunityName   string    `json:"opportunity_name,omitempty"`
	ConvertedStatus   string    `json:"converted_status,omitempty"`
	MergePolicy       string    `json:"merge_policy,omitempty"`
	DryRun            bool      `json:"dry_run,omitempty"`
	IdempotencyKey    string    `json:"idempotency_key,omitempty"`
	RequestID         string    `json:"request_id,omitempty"`
}

// ConvertCandidate is a record the matching engine found for the lead.
type ConvertCandidate struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Confidence float64 `json:"confidence"`
	Decision   string  `json:"decision" enum:"match,possible"`
	Rule       string  `json:"rule,omitempty"`
}

// ObjectDecision is what a conversion does about one object.
type ObjectDecision struct {
	Action     string             `json:"action" enum:"attach,merge,create,skip" doc:"attach (account) / merge (contact): use the existing record ID; create: a new record; skip: no opportunity"`
	ID         string             `json:"id,omitempty" doc:"The existing record used"`
	Name       string             `json:"name,omitempty"`
	Reason     string             `json:"reason" doc:"Why, in words"`
	Confidence float64            `json:"confidence,omitempty" doc:"The match confidence of the record used, when the matching engine chose it"`
	Candidates []ConvertCandidate `json:"candidates,omitempty" doc:"The best candidates the matching engine found (at most 3)"`
}

// OwnerPlan is who will own the records and why.
type OwnerPlan struct {
	Mode     string `json:"mode"`
	UserID   string `json:"user_id,omitempty" doc:"The owner (for pool: who is next now; the assignment itself happens during the conversion)"`
	Pool     string `json:"pool,omitempty"`
	Why      string `json:"why"`
	Sequence int64  `json:"sequence,omitempty" doc:"For pool: the sequence number the assignment would get"`
}

// ConversionPlan is what a conversion will do, computed without writing anything.
type ConversionPlan struct {
	LeadID          string         `json:"lead_id"`
	LeadOwner       string         `json:"lead_owner,omitempty"`
	Account         ObjectDecision `json:"account"`
	Contact         ObjectDecision `json:"contact"`
	Opportunity     ObjectDecision `json:"opportunity"`
	Owner           OwnerPlan      `json:"owner"`
	ConvertedStatus string         `json:"converted_status"`
	MergePolicy     string         `json:"merge_policy"`
	Diffs           []RecordDiff   `json:"diffs" doc:"The changes, record by record (records to create have no id yet)"`
}

// asMatch turns a CRM record into the matching engine's view (string fields).
func asMatch(r *crm.Record) match.Record {
	f := make(map[string]string, len(r.Fields))
	for k, v := range r.Fields {
		switch x := v.(type) {
		case string:
			f[k] = x
		case nil:
		default:
			f[k] = fmt.Sprint(x)
		}
	}
	return match.Record{ID: r.ID, Fields: f, LastModified: r.LastModifiedAt}
}

func anyFields(f map[string]string) map[string]any {
	out := make(map[string]any, len(f))
	for k, v := range f {
		out[k] = v
	}
	return out
}

func topCandidates(ms []match.Match, names map[string]string) []ConvertCandidate {
	var out []ConvertCandidate
	for i, m := range ms {
		if i == 3 {
			break
		}
		out = append(out, ConvertCandidate{ID: m.CandidateID, Name: names[m.CandidateID], Confidence: m.Confidence, Decision: m.Decision, Rule: m.Rule})
	}
	return out
}

// check validates the request's shape (what needs no database).
func (r *Request) check() error {
	id, ok := crm.To18(r.LeadID)
	if !ok || crm.ObjectOf(id) != crm.Lead {
		return apperr.Field("path.id", "%q is not a Lead id (Lead ids start with 00Q)", r.LeadID)
	}
	r.LeadID = id
	for _, ref := range []struct {
		field, object string
		id            *string
	}{{"body.account_id", crm.Account, &r.AccountID}, {"body.contact_id", crm.Contact, &r.ContactID}} {
		if *ref.id == "" {
			continue
		}
		id, ok := crm.To18(*ref.id)
		if !ok || crm.ObjectOf(id) != ref.object {
			return apperr.Field(ref.field, "%q is not a valid %s id", *ref.id, ref.object)
		}
		*ref.id = id
	}
	if r.ContactID != "" && r.AccountID == "" {
		return apperr.Field("body.account_id", "is required with contact_id: a contact is merged within its account")
	}
	switch r.Owner.Mode {
	case "":
		r.Owner.Mode = OwnerLead
	case OwnerLead, OwnerAccountOwner:
	case OwnerExplicit:
		if r.Owner.UserID == "" {
			return apperr.Field("body.owner.user_id", "is required with owner mode explicit")
		}
	case OwnerPool:
		if strings.TrimSpace(r.Owner.Pool) == "" {
			return apperr.Field("body.owner.pool", "is required with owner mode pool")
		}
	default:
		return apperr.Field("body.owner.mode", "must be one of lead_owner, explicit, pool, account_owner")
	}
	if r.Owner.Mode != OwnerExplicit && r.Owner.UserID != "" {
		return apperr.Field("body.owner.user_id", "is only used with owner mode explicit")
	}
	if r.Owner.Mode != OwnerPool && r.Owner.Pool != "" {
		return apperr.Field("body.owner.pool", "is only used with owner mode pool")
	}
	if r.MergePolicy != "" {
		if err := checkPolicyName("body.merge_policy", r.MergePolicy); err != nil {
			return err
		}
	}
	if len(r.OpportunityName) > 120 {
		return apperr.Field("body.opportunity_name", "must be at most 120 characters")
	}
	if len(r.ConvertedStatus) > 100 {
		return apperr.Field("body.converted_status", "must be at most 100 characters")
	}
	return nil
}

// Check validates a conversion request's shape, normalising its ids.
func (r *Request) Check() error { return r.check() }

// ConversionPlan decides what converting the lead will do, writing nothing: the account (the one named,
// else the best match at or above the org's threshold, else a new one), the contact (the one
// named, else the account's contact with the lead's email, else its best match by name, else a
// new one), the opportunity, the owner, and every field change.
func (s *Service) Plan(ctx context.Context, org uuid.UUID, req Request) (*ConversionPlan, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	pol, err := s.GetPolicy(ctx, org)
	if err != nil {
		return nil, err
	}
	lead, err := s.store().Get(ctx, org, crm.Lead, req.LeadID)
	if apperr.Is(err, apperr.NotFound) {
		return nil, &apperr.Error{Code: apperr.NotFound, Field: "path.id", Message: "no Lead " + req.LeadID}
	}
	if err != nil {
		return nil, err
	}
	if b, _ := lead.Fields["IsConverted"].(bool); b {
		return nil, &apperr.Error{Code: apperr.Conflict, Field: "path.id", Message: fmt.Sprintf("lead %s is already converted (account %v, contact %v, on %v)",
			lead.ID, lead.Fields["ConvertedAccountId"], lead.Fields["ConvertedContactId"], lead.Fields["ConvertedDate"])}
	}
	p := &ConversionPlan{LeadID: lead.ID, LeadOwner: lead.Str("OwnerId"), ConvertedStatus: req.ConvertedStatus, MergePolicy: req.MergePolicy}
	if p.ConvertedStatus == "" {
		p.ConvertedStatus = pol.ConvertedStatus
	}
	if p.MergePolicy == "" {
		p.MergePolicy = pol.DefaultPolicy
	}
	overrides := pol.FieldOverrides
	leadM := asMatch(lead)

	// Account.
	var acct *crm.Record
	if req.AccountID != "" {
		acct, err = s.store().Get(ctx, org, crm.Account, req.AccountID)
		if apperr.Is(err, apperr.NotFound) {
			return nil, &apperr.Error{Code: apperr.NotFound, Field: "body.account_id", Message: "no Account " + req.AccountID}
		}
		if err != nil {
			return nil, err
		}
		p.Account = ObjectDecision{Action: "attach", ID: acct.ID, Name: acct.Str("Name"), Reason: "account_id was given"}
	} else {
		in := match.LeadAsAccount(leadM)
		cands, err := s.accountCandidates(ctx, org, in)
		if err != nil {
			return nil, err
		}
		recs := make([]match.Record, len(cands[0]))
		names := map[string]string{}
		for i := range cands[0] {
			recs[i] = asMatch(&cands[0][i])
			names[cands[0][i].ID] = cands[0][i].Str("Name")
		}
		// Ties between equally good accounts (a CRM with duplicates) go to the account that
		// already holds the lead as a contact (by email), then to the one with more contacts.
		withLead, counts, err := s.accountContacts(ctx, org, lead, cands[0])
		if err != nil {
			return nil, err
		}
		for i := range recs {
			recs[i].ContactCount = counts[recs[i].ID]
		}
		rules := match.LeadToAccountRules()
		ms := match.Rank(match.ObjectAccount, in, recs, match.Options{Rules: &rules, Threshold: pol.Threshold, DefaultRegion: s.region(),
			TieBreakers: []string{match.TieContactCount, match.TieLastModified, match.TieOwnerActive}})
		for i := 1; i < len(ms) && withLead != nil; i++ {
			if ms[i].Decision == match.DecisionMatch && ms[i].Confidence >= ms[0].Confidence-1e-9 && withLead[ms[i].CandidateID] && !withLead[ms[0].CandidateID] {
				ms[0], ms[i] = ms[i], ms[0]
			}
		}
		p.Account = ObjectDecision{Action: "create", Name: leadM.Fields["Company"], Candidates: topCandidates(ms, names)}
		switch {
		case len(ms) > 0 && ms[0].Decision == match.DecisionMatch && pol.AutoMerge:
			for i := range cands[0] {
				if cands[0][i].ID == ms[0].CandidateID {
					acct = &cands[0][i]
				}
			}
			p.Account = ObjectDecision{Action: "attach", ID: acct.ID, Name: acct.Str("Name"), Confidence: ms[0].Confidence, Candidates: p.Account.Candidates,
				Reason: fmt.Sprintf("the lead's company matches this account (confidence %.2f, rule %s; threshold %.2f)", ms[0].Confidence, ms[0].Rule, pol.Threshold)}
		case len(ms) > 0 && ms[0].Decision == match.DecisionMatch:
			p.Account.Reason = "a matching account exists, but the org's policy has auto_merge off: a new account is created"
		case len(ms) > 0:
			p.Account.Reason = fmt.Sprintf("no account matches at or above the threshold %.2f (best %.2f): a new account is created", pol.Threshold, ms[0].Confidence)
		default:
			p.Account.Reason = "no account resembles the lead's company: a new account is created"
		}
	}

	// Contact.
	var contact *crm.Record
	switch {
	case req.ContactID != "":
		contact, err = s.store().Get(ctx, org, crm.Contact, req.ContactID)
		if apperr.Is(err, apperr.NotFound) {
			return nil, &apperr.Error{Code: apperr.NotFound, Field: "body.contact_id", Message: "no Contact " + req.ContactID}
		}
		if err != nil {
			return nil, err
		}
		if contact.Str("AccountId") != acct.ID {
			return nil, apperr.Field("body.contact_id", "contact %s belongs to account %q, not %s", contact.ID, contact.Str("AccountId"), acct.ID)
		}
		p.Contact = ObjectDecision{Action: "merge", ID: contact.ID, Name: personName(contact), Reason: "contact_id was given"}
	case acct != nil:
		contact, p.Contact, err = s.matchContact(ctx, org, lead, acct, pol)
		if err != nil {
			return nil, err
		}
	default:
		p.Contact = ObjectDecision{Action: "create", Name: personName(lead), Reason: "the account is new, so is the contact"}
	}

	// Opportunity.
	createOpp := pol.CreateOpportunity
	if req.CreateOpportunity != nil {
		createOpp = *req.CreateOpportunity
	}
	oppFields := crm.LeadOpportunityFields(lead.Fields, req.OpportunityName, s.now())
	if createOpp {
		p.Opportunity = ObjectDecision{Action: "create", Name: oppFields["Name"].(string), Reason: "create_opportunity"}
		if p.Opportunity.Name == "" {
			return nil, apperr.Field("body.opportunity_name", "is required: the lead has no Company to name the opportunity after")
		}
	} else {
		p.Opportunity = ObjectDecision{Action: "skip", Reason: "create_opportunity is false"}
	}

	// OwnerRule.
	if p.Owner, err = s.planOwner(ctx, org, req, lead, acct); err != nil {
		return nil, err
	}

	// Diffs.
	owner := p.Owner.UserID
	if owner == "" {
		owner = lead.Str("OwnerId")
	}
	withOwner := func(f map[string]any) map[string]any {
		if owner != "" {
			f["OwnerId"] = owner
		}
		return f
	}
	acctRef, contactRef := "(new Account)", "(new Contact)"
	if acct != nil {
		acctRef = acct.ID
		after := ConversionTarget(p.MergePolicy, overrides, acct, lead, crm.LeadAccountFields(lead.Fields))
		if d := diffFields(acct.Fields, after); len(d) > 0 {
			p.Diffs = append(p.Diffs, RecordDiff{Object: crm.Account, ID: acct.ID, Action: "update", Fields: d})
		}
	} else {
		p.Diffs = append(p.Diffs, RecordDiff{Object: crm.Account, Action: "create", Fields: diffFields(nil, withOwner(crm.LeadAccountFields(lead.Fields)))})
	}
	if contact != nil {
		contactRef = contact.ID
		after := ConversionTarget(p.MergePolicy, overrides, contact, lead, crm.LeadContactFields(lead.Fields))
		if d := diffFields(contact.Fields, after); len(d) > 0 {
			p.Diffs = append(p.Diffs, RecordDiff{Object: crm.Contact, ID: contact.ID, Action: "update", Fields: d})
		}
	} else {
		f := withOwner(crm.LeadContactFields(lead.Fields))
		f["AccountId"] = acctRef
		p.Diffs = append(p.Diffs, RecordDiff{Object: crm.Contact, Action: "create", Fields: diffFields(nil, f)})
	}
	leadAfter := crm.WithChanges(lead.Fields, map[string]any{"IsConverted": true, "ConvertedAccountId": acctRef, "ConvertedContactId": contactRef,
		"ConvertedDate": s.now().Format("2006-01-02"), "Status": p.ConvertedStatus})
	if createOpp {
		f := withOwner(oppFields)
		f["AccountId"] = acctRef
		p.Diffs = append(p.Diffs, RecordDiff{Object: crm.Opportunity, Action: "create", Fields: diffFields(nil, f)})
		leadAfter["ConvertedOpportunityId"] = "(new Opportunity)"
	}
	if owner != "" {
		leadAfter["OwnerId"] = owner
	}
	p.Diffs = append(p.Diffs, RecordDiff{Object: crm.Lead, ID: lead.ID, Action: "update", Fields: diffFields(lead.Fields, leadAfter)})
	return p, nil
}

// accountContacts says which candidate accounts hold a contact with the lead's email, and how
// many contacts each has.
func (s *Service) accountContacts(ctx context.Context, org uuid.UUID, lead *crm.Record, accts []crm.Record) (map[string]bool, map[string]int, error) {
	if len(accts) == 0 {
		return nil, nil, nil
	}
	if s.local() == nil {
		return s.remoteAccountContacts(ctx, org, lead, accts)
	}
	ids := make([]string, len(accts))
	for i := range accts {
		ids[i] = accts[i].ID
	}
	var rows []struct {
		AccountID string `bun:"account_id"`
		N         int    `bun:"n"`
		WithLead  bool   `bun:"with_lead"`
	}
	email := match.NormalizeEmail(lead.Str("Email"))
	err := s.DB.NewRaw(`SELECT account_id, count(*) AS n, bool_or(? <> '' AND email = ?) AS with_lead FROM crm_records
		WHERE org_id = ? AND object = 'Contact' AND account_id IN (?) GROUP BY account_id`, email, email, org, bun.List(ids)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, err
	}
	withLead, counts := map[string]bool{}, map[string]int{}
	for _, r := range rows {
		withLead[r.AccountID], counts[r.AccountID] = r.WithLead, r.N
	}
	return withLead, counts, nil
}

func personName(r *crm.Record) string {
	return strings.TrimSpace(r.Str("FirstName") + " " + r.Str("LastName"))
}

// matchContact finds the lead among the account's contacts: by email first, else by the
// matching engine (name, phone, city) with the account's name standing in for the company.
func (s *Service) matchContact(ctx context.Context, org uuid.UUID, lead, acct *crm.Record, pol MergePolicy) (*crm.Record, ObjectDecision, error) {
	create := ObjectDecision{Action: "create", Name: personName(lead)}
	var contacts []crm.Record
	for after := ""; ; {
		page, err := s.store().Query(ctx, org, crm.Query{Object: crm.Contact, Filters: map[string]string{"account_id": acct.ID}, After: after, Limit: 1000})
		if err != nil {
			return nil, ObjectDecision{}, err
		}
		contacts = append(contacts, page.Records...)
		if page.Next == "" || len(contacts) >= 5000 {
			break
		}
		after = page.Next
	}
	if len(contacts) == 0 {
		create.Reason = "the account has no contacts: a new contact is created"
		return nil, create, nil
	}
	email := match.NormalizeEmail(lead.Str("Email"))
	if email != "" {
		for i := range contacts {
			if match.NormalizeEmail(contacts[i].Str("Email")) == email {
				c := &contacts[i]
				if !pol.AutoMerge {
					create.Reason = "a contact of the account has the lead's email, but the org's policy has auto_merge off: a new contact is created"
					create.Candidates = []ConvertCandidate{{ID: c.ID, Name: personName(c), Confidence: 1, Decision: match.DecisionMatch, Rule: "email"}}
					return nil, create, nil
				}
				return c, ObjectDecision{Action: "merge", ID: c.ID, Name: personName(c), Confidence: 1, Reason: "a contact of the account has the lead's email " + email}, nil
			}
		}
	}
	in := asMatch(lead)
	in.Fields = map[string]string{}
	for k, v := range crm.LeadContactFields(lead.Fields) {
		if sv, ok := v.(string); ok {
			in.Fields[k] = sv
		}
	}
	in.Fields["AccountName"] = acct.Str("Name")
	recs := make([]match.Record, len(contacts))
	names := map[string]string{}
	for i := range contacts {
		recs[i] = asMatch(&contacts[i])
		recs[i].Fields["AccountName"] = acct.Str("Name")
		names[contacts[i].ID] = personName(&contacts[i])
	}
	ms := match.Rank(match.ObjectContact, in, recs, match.Options{Threshold: pol.Threshold, DefaultRegion: s.region()})
	create.Candidates = topCandidates(ms, names)
	if len(ms) > 0 && ms[0].Decision == match.DecisionMatch && pol.AutoMerge {
		for i := range contacts {
			if contacts[i].ID == ms[0].CandidateID {
				c := &contacts[i]
				return c, ObjectDecision{Action: "merge", ID: c.ID, Name: personName(c), Confidence: ms[0].Confidence, Candidates: create.Candidates,
					Reason: fmt.Sprintf("the lead matches this contact of the account (confidence %.2f, rule %s)", ms[0].Confidence, ms[0].Rule)}, nil
			}
		}
	}
	create.Reason = "no contact of the account matches the lead: a new contact is created"
	return nil, create, nil
}

// planOwner decides the owner. For a pool it asks the rotation who is next without assigning.
func (s *Service) planOwner(ctx context.Context, org uuid.UUID, req Request, lead, acct *crm.Record) (OwnerPlan, error) {
	o := OwnerPlan{Mode: req.Owner.Mode}
	switch req.Owner.Mode {
	case OwnerExplicit:
		id, err := crm.ActiveUser(ctx, s.store(), org, req.Owner.UserID, "body.owner.user_id")
		if err != nil {
			return o, err
		}
		o.UserID, o.Why = id, "owner.user_id was given"
	case OwnerPool:
		if s.Routing == nil {
			return o, apperr.New(apperr.NotConfigured, "round-robin routing is not set up on this server")
		}
		o.Pool = req.Owner.Pool
		res, err := s.Routing.Assign(ctx, org, routing.AssignRequest{Pool: req.Owner.Pool, Object: crm.Lead, ObjectID: lead.ID, DryRun: true})
		if err != nil {
			if e, ok := apperr.As(err); ok && (e.Field == "pool" || e.Field == "body.object") {
				c := *e
				c.Field = "body.owner.pool"
				return o, &c
			}
			return o, err
		}
		if !res.Assigned {
			return o, apperr.Field("body.owner.pool", "nobody in pool %s can take the lead now: %s", req.Owner.Pool, res.Why)
		}
		o.UserID, o.Sequence, o.Why = res.AssignedTo, res.Sequence, res.Why
	case OwnerAccountOwner:
		if acct != nil && acct.Str("OwnerId") != "" {
			o.UserID, o.Why = acct.Str("OwnerId"), "the owner of account "+acct.ID
		} else {
			o.UserID, o.Why = lead.Str("OwnerId"), "the account is new (or has no owner): the lead's owner"
		}
	default:
		o.UserID, o.Why = lead.Str("OwnerId"), "the lead's owner"
	}
	return o, nil
}

// ConversionTarget is an existing record's fields after a conversion merges the lead into it
// under policy: mapped are the lead's values under the record's field names.
func ConversionTarget(policy string, overrides map[string]string, existing, lead *crm.Record, mapped map[string]any) map[string]any {
	leadView := crm.Record{ID: lead.ID, Fields: mapped, LastModifiedAt: lead.LastModifiedAt}
	master := crm.Record{ID: existing.ID, Fields: crm.WithChanges(existing.Fields, nil), LastModifiedAt: existing.LastModifiedAt}
	out, _ := Survive(policy, overrides, master, []crm.Record{leadView})
	// Fields the lead does not carry and the survivorship skips (system fields) stay.
	for k, v := range master.Fields {
		if _, ok := out[k]; !ok && systemFields[k] {
			out[k] = v
		}
	}
	return out
}
