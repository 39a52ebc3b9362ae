package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/match"
	"github.com/lanternhq/lantern/internal/ratelimit"
)

// MatchRecord is one record to match.
type MatchRecord struct {
	RecordID string         `json:"record_id,omitempty" maxLength:"255" doc:"Your id for the record, echoed in its result. A candidate with this id (the record itself, when it is stored) is never its own match"`
	Fields   map[string]any `json:"fields" doc:"Field values by Salesforce API name. Account: Name, Website, Phone, BillingStreet, BillingCity, BillingPostalCode, BillingState, BillingCountry. Contact: FirstName, LastName (or Name), Email, Phone, MobilePhone, Title, AccountName, Mailing*, Birthdate. Lead: as Contact, with Company, Street, City, PostalCode, State, Country, Website"`
}

// MatchCandidate is a record to match against, given in the request instead of read from the CRM.
type MatchCandidate struct {
	ID           string         `json:"id" minLength:"1" maxLength:"255" doc:"The candidate's id, unique in the request"`
	Object       string         `json:"object,omitempty" enum:"Account,Contact,Lead" doc:"The candidate's object; defaults to the endpoint's (Lead for /v1/match/leads, where Contact and Account candidates are allowed too)"`
	Fields       map[string]any `json:"fields"`
	LastModified time.Time      `json:"last_modified,omitempty" doc:"Breaks ties: the most recently modified first"`
	ContactCount int            `json:"contact_count,omitempty" minimum:"0" doc:"Breaks ties: the account with the most contacts first"`
	OwnerActive  bool           `json:"owner_active,omitempty" doc:"Breaks ties: candidates whose owner is active first"`
}

// MatchOptions tune a match request.
type MatchOptions struct {
	Mode            string       `json:"mode,omitempty" enum:"exact,fuzzy,ai" default:"fuzzy" doc:"exact: only candidates whose normalised values are equal on every field of a rule group; fuzzy: similarity comparators and Fellegi-Sunter weights; ai: fuzzy, then the configured language model judges the 'possible' candidates"`
	Threshold       float64      `json:"threshold,omitempty" minimum:"0" maximum:"1" doc:"Confidence at or above which a candidate that satisfies the rules is a match (0 or absent: 0.9). Candidates up to 0.25 below it are 'possible'"`
	MaxMatches      int          `json:"max_matches,omitempty" minimum:"0" maximum:"100" doc:"Most candidates returned per record (0 or absent: 10)"`
	Rules           *match.Rules `json:"rules,omitempty" doc:"Grouped boolean rules replacing the defaults: a candidate may be a match when every condition of at least one group in 'any' holds; a failed 'veto' condition caps it at possible. Methods: exact, fuzzy, jaro_winkler, token_set, acronym, edit_distance, phonetic, phone, trigram"`
	AccountRules    *match.Rules `json:"account_rules,omitempty" doc:"Leads only: rules for lead-to-account matching (default: the Account rules without their vetoes)"`
	TieBreakers     []string     `json:"tie_breakers,omitempty" maxItems:"4" doc:"Order of equally confident candidates: last_modified, contact_count, owner_active, id (default: last_modified, contact_count, owner_active; ascending id always last)"`
	DefaultRegion   string       `json:"default_region,omitempty" pattern:"^[A-Za-z]{2}$" doc:"ISO 3166 region for phone numbers written without a country code (default: the server's)"`
	AIMaxCandidates int          `json:"ai_max_candidates,omitempty" minimum:"0" maximum:"10" doc:"mode ai: how many 'possible' candidates per record the model judges, best first (0 or absent: 3)"`
	AIThreshold     float64      `json:"ai_threshold,omitempty" minimum:"0" maximum:"1" doc:"mode ai: the model's confidence at which its verdict decides (0 or absent: 0.8); below it the candidate stays possible"`
}

type matchInput struct {
	Body struct {
		Records    []MatchRecord    `json:"records" minItems:"1" maxItems:"100" doc:"1 to 100 records to match"`
		Candidates []MatchCandidate `json:"candidates,omitempty" minItems:"1" maxItems:"1000" doc:"Stateless matching: compare with these records (every input with all of them) instead of searching the CRM"`
		Options    *MatchOptions    `json:"options,omitempty"`
		MaxCredits int64            `json:"max_credits,omitempty" minimum:"0" doc:"mode ai: the most this request may spend on the model; comparisons that would exceed it are not asked and keep their deterministic decision. 0 or absent: no cap"`
	}
}

// MatchExplanation is why a candidate got its confidence and decision. Fields is the
// deterministic evidence; AI, separately, is the language model's verdict (mode ai only).
type MatchExplanation struct {
	Rule   string                   `json:"rule,omitempty" doc:"The first rule group the candidate satisfied"`
	Veto   string                   `json:"veto,omitempty" doc:"The veto condition that failed, capping the candidate at possible"`
	Weight float64                  `json:"weight" doc:"Total evidence in bits: prior plus every field's contribution; confidence = 1/(1+2^-weight)"`
	Prior  float64                  `json:"prior" doc:"The object's starting weight in bits"`
	Fields []match.FieldExplanation `json:"fields" doc:"Each field compared: both values, method, score, weight and contribution"`
	AI     *match.AIVerdict         `json:"ai,omitempty" doc:"mode ai: the model's verdict on a possible candidate, kept apart from the deterministic evidence"`
	// TieBreak shows why one of two equally confident candidates comes first.
	TieBreak match.TieFacts `json:"tie_break" doc:"The candidate's values for the tie-breakers (options.tie_breakers): last change, number of contacts (accounts), whether its owner is an active User"`
}

// MatchedRecord is one candidate in a result.
type MatchedRecord struct {
	ID          string           `json:"id" doc:"The candidate's id: a CRM record id, or the id given in candidates"`
	Object      string           `json:"object" enum:"Account,Contact,Lead"`
	Confidence  float64          `json:"confidence" doc:"Calibrated probability (0-1) that the records are the same entity, from the field evidence"`
	Decision    string           `json:"decision" enum:"match,possible,no_match"`
	DecidedBy   string           `json:"decided_by" enum:"rules,ai" doc:"rules: the threshold and rules decided; ai: the model's verdict did"`
	Explanation MatchExplanation `json:"explanation"`
}

// MatchSet is the ranked candidates of one record against one kind of record.
type MatchSet struct {
	Matched    bool            `json:"matched" doc:"best is a match (not only possible)"`
	Best       *MatchedRecord  `json:"best" doc:"The top-ranked candidate that is a match or possible; null when there is none"`
	Matches    []MatchedRecord `json:"matches" doc:"Matches first, then possible (then candidates the model rejected, in mode ai); best first within each"`
	Candidates int             `json:"candidates_considered" doc:"How many candidates were compared"`
}

// MatchResult is the outcome for one input record.
type MatchResult struct {
	Index    int    `json:"index" doc:"The record's position in the request"`
	RecordID string `json:"record_id,omitempty"`
	MatchSet
	Accounts *MatchSet `json:"accounts,omitempty" doc:"Leads only: lead-to-account matching against accounts"`
}

type matchOutput struct {
	CreditsRemaining *int64 `header:"X-Credits-Remaining"`
	Body             struct {
		Success     bool          `json:"success"`
		Object      string        `json:"object" enum:"Account,Contact,Lead"`
		Mode        string        `json:"mode" enum:"exact,fuzzy,ai"`
		Source      string        `json:"source" enum:"crm,inline" doc:"Where the candidates came from"`
		CreditsUsed int64         `json:"credits_used" doc:"mode ai: the model's tokens; exact and fuzzy matching is free"`
		Results     []MatchResult `json:"results"`
	}
}

// candidateSearch is what a CRM store offers for matching (the local store does; a CRM
// without it needs inline candidates).
type candidateSearch interface {
	MatchCandidates(ctx context.Context, org uuid.UUID, object string, recs []match.Record, k int) ([][]match.Record, error)
}

func (s *Server) registerMatch(a huma.API) {
	reg := func(id, path, object, summary, desc string) {
		huma.Register(a, op(huma.Operation{
			OperationID: id, Method: http.MethodPost, Path: path, Tags: []string{"Match"}, Summary: summary,
			Description: desc + " 1 to 100 records per request. Each record gets its ranked candidates with confidence, " +
				"decision (match, possible, no_match) and a per-field explanation, and a best pick. Candidates come from " +
				"the CRM (exact keys: domain, email, phone, birth date; plus the most similar names) or, for stateless " +
				"matching, from `candidates`. Mode ai needs LANTERN_LLM_BASE_URL and bills the model's tokens " +
				"(LANTERN_LLM_CREDITS_PER_1K_TOKENS); without a model it answers 501 not_configured.",
			Errors: []int{http.StatusUnprocessableEntity, http.StatusPaymentRequired, http.StatusNotImplemented, http.StatusServiceUnavailable},
		}, limits(ratelimit.Match)), func(ctx context.Context, in *matchInput) (*matchOutput, error) {
			return s.match(ctx, object, in)
		})
	}
	reg("matchAccounts", "/v1/match/accounts", match.ObjectAccount, "Match accounts",
		"Finds the accounts each company record duplicates: company names (legal suffixes, abbreviations, word order), website domain, phone and billing address.")
	reg("matchContacts", "/v1/match/contacts", match.ObjectContact, "Match contacts",
		"Finds the contacts each person record duplicates: names (nicknames, initials, swapped), email, phones, company, mailing address, birth date.")
	reg("matchLeads", "/v1/match/leads", match.ObjectLead, "Match leads",
		"Finds the leads and contacts each lead duplicates (in `matches`), and the accounts it belongs to (lead-to-account, in `accounts`).")
	// Any other object under /v1/match is the client's mistake about the path, answered as such.
	huma.Register(a, op(huma.Operation{OperationID: "matchUnknown", Method: http.MethodPost, Path: "/v1/match/{object}", Hidden: true},
		limits(ratelimit.Match)), func(ctx context.Context, in *struct {
		Object string `path:"object"`
	}) (*struct{}, error) {
		return nil, apperr.Field("path.object", "unknown object %q: use accounts, contacts or leads", in.Object)
	})
}

// match runs one request: check it, gather candidates, rank (and adjudicate), shape.
func (s *Server) match(ctx context.Context, object string, in *matchInput) (*matchOutput, error) {
	b := in.Body
	opts := MatchOptions{}
	if b.Options != nil {
		opts = *b.Options
	}
	mode := opts.Mode
	if mode == "" {
		mode = match.ModeFuzzy
	}
	mopt, accOpt, err := s.matchOptions(object, opts)
	if err != nil {
		return nil, err
	}
	inputs := make([]match.Record, len(b.Records))
	for i, r := range b.Records {
		f, err := stringFields(fmt.Sprintf("body.records[%d].fields", i), r.Fields)
		if err != nil {
			return nil, err
		}
		inputs[i] = match.Record{ID: r.RecordID, Fields: f}
		if !match.Matchable(object, inputs[i]) {
			return nil, apperr.Field(fmt.Sprintf("body.records[%d].fields", i),
				"has no field to match on; give some of: %s", strings.Join(match.Fields(object), ", "))
		}
	}
	inline, err := inlineCandidates(object, b.Candidates)
	if err != nil {
		return nil, err
	}

	p := PrincipalFrom(ctx)
	var judge match.Judge
	var balance func() *int64
	var used func() int64
	if mode == match.ModeAI {
		if s.enrich == nil {
			return nil, apperr.New(apperr.Unavailable, "AI-assisted matching is not set up on this server")
		}
		j, err := s.enrich.MatchJudge(ctx, p.OrgID, &p.KeyID, RequestIDFrom(ctx), b.MaxCredits)
		if err != nil {
			return nil, err
		}
		judge, balance, used = j, j.Balance, j.CreditsUsed
	}

	targets, objectOf, source, err := s.matchTargets(ctx, p.OrgID, object, inputs, mopt, accOpt, inline, b.Candidates)
	if err != nil {
		return nil, err
	}
	judged, err := match.Run(ctx, mode, targets, judge, match.AIPolicy{MaxPerRecord: opts.AIMaxCandidates, Threshold: opts.AIThreshold})
	if err != nil {
		return nil, err
	}
	out := &matchOutput{}
	out.Body.Success, out.Body.Object, out.Body.Mode, out.Body.Source = true, object, mode, source
	out.Body.Results = make([]MatchResult, len(inputs))
	for i, r := range b.Records {
		res := MatchResult{Index: i, RecordID: r.RecordID}
		res.MatchSet = matchSet(judged[0][i], len(targets[0].Candidates[i]), objectOf)
		if object == match.ObjectLead {
			acc := matchSet(judged[1][i], len(targets[1].Candidates[i]), objectOf)
			res.Accounts = &acc
		}
		out.Body.Results[i] = res
	}
	if used != nil {
		out.Body.CreditsUsed, out.CreditsRemaining = used(), balance()
	}
	return out, nil
}

// matchTargets is what each input is compared with: the inline candidates, or the org's CRM
// records found for it (for leads: leads and contacts, and accounts). It also returns each
// candidate's object and where the candidates came from.
func (s *Server) matchTargets(ctx context.Context, org uuid.UUID, object string, inputs []match.Record, mopt, accOpt match.Options,
	inline map[string][]match.Record, given []MatchCandidate) ([]match.Target, map[string]string, string, error) {
	targets := []match.Target{{RankAs: object, Inputs: inputs, Options: mopt, StepPrefix: "matches"}}
	var accInputs []match.Record
	if object == match.ObjectLead {
		accInputs = make([]match.Record, len(inputs))
		for i, r := range inputs {
			accInputs[i] = match.LeadAsAccount(r)
		}
		targets = append(targets, match.Target{RankAs: match.ObjectAccount, Inputs: accInputs, Options: accOpt, StepPrefix: "accounts"})
	}
	objectOf := map[string]string{}
	if inline != nil {
		for _, c := range given {
			objectOf[c.ID] = candidateObject(object, c.Object)
		}
		targets[0].Candidates = repeat(inline[object], len(inputs))
		if object == match.ObjectLead {
			targets[0].Candidates = repeat(append(inline[match.ObjectLead], inline[match.ObjectContact]...), len(inputs))
			targets[1].Candidates = repeat(inline[match.ObjectAccount], len(inputs))
		}
		return targets, objectOf, "inline", nil
	}
	cs, ok := s.crm.(candidateSearch)
	if !ok {
		return nil, nil, "", apperr.New(apperr.NotConfigured, "this server's CRM cannot be searched for candidates; pass them in candidates")
	}
	k := min(max(2*mopt.MaxMatches, 20), 50) // trigram candidates per record: enough to fill max_matches twice
	search := func(obj string, recs []match.Record) ([][]match.Record, error) {
		found, err := cs.MatchCandidates(ctx, org, obj, recs, k)
		for _, list := range found {
			for _, r := range list {
				objectOf[r.ID] = obj
			}
		}
		return found, err
	}
	var err error
	if targets[0].Candidates, err = search(object, inputs); err != nil {
		return nil, nil, "", err
	}
	if object == match.ObjectLead {
		contacts, err := search(match.ObjectContact, inputs)
		if err != nil {
			return nil, nil, "", err
		}
		for i := range targets[0].Candidates {
			targets[0].Candidates[i] = append(targets[0].Candidates[i], contacts[i]...)
		}
		if targets[1].Candidates, err = search(match.ObjectAccount, accInputs); err != nil {
			return nil, nil, "", err
		}
	}
	return targets, objectOf, "crm", nil
}

// matchOptions builds the engine's options from the request's and checks them; errors name
// the field under body.options. The second value is for lead-to-account matching.
func (s *Server) matchOptions(object string, o MatchOptions) (match.Options, match.Options, error) {
	region := s.cfg.Enrich.DefaultRegion
	if o.DefaultRegion != "" {
		region = strings.ToUpper(o.DefaultRegion)
	}
	mo := match.Options{Threshold: o.Threshold, MaxMatches: o.MaxMatches, Rules: o.Rules, TieBreakers: o.TieBreakers, DefaultRegion: region}
	if err := mo.Validate(object); err != nil {
		return mo, mo, underOptions(err, "rules", "rules")
	}
	acc := mo
	acc.Rules = o.AccountRules
	if o.AccountRules != nil {
		if object != match.ObjectLead {
			return mo, mo, apperr.Field("body.options.account_rules", "applies to /v1/match/leads only; use rules")
		}
		if err := o.AccountRules.Validate(match.ObjectAccount); err != nil {
			return mo, mo, underOptions(err, "rules", "account_rules")
		}
	} else {
		r := match.LeadToAccountRules()
		acc.Rules = &r
	}
	return mo, acc, nil
}

// underOptions names a field error as the client sent it: "rules.any[0]..." is under
// body.options, and account rules were validated under the name "rules".
func underOptions(err error, from, to string) error {
	ae, ok := apperr.As(err)
	if !ok || ae.Field == "" {
		return err
	}
	c := *ae
	if rest, ok := strings.CutPrefix(ae.Field, from); ok {
		c.Field = "body.options." + to + rest
	} else {
		c.Field = "body.options." + ae.Field
	}
	return &c
}

// stringFields reads a record's fields as the engine does: strings as given, numbers as
// written, null as absent. Objects and arrays cannot be matched on and are refused.
func stringFields(path string, in map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for k, v := range in {
		switch x := v.(type) {
		case nil:
		case string:
			if len(x) > 4096 {
				return nil, apperr.Field(path+"."+k, "is longer than 4,096 characters")
			}
			out[k] = x
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(x)
		default:
			return nil, apperr.Field(path+"."+k, "must be a string, number, boolean or null")
		}
	}
	return out, nil
}

// candidateObject is an inline candidate's object: as given, else the endpoint's.
func candidateObject(endpoint, given string) string {
	if given == "" {
		return endpoint
	}
	return given
}

// inlineCandidates reads the request's candidates by object; nil when none were given.
func inlineCandidates(object string, cs []MatchCandidate) (map[string][]match.Record, error) {
	if cs == nil {
		return nil, nil
	}
	out := map[string][]match.Record{}
	seen := make(map[string]int, len(cs))
	for i, c := range cs {
		path := fmt.Sprintf("body.candidates[%d]", i)
		if j, dup := seen[c.ID]; dup {
			return nil, apperr.Field(path+".id", "repeats candidates[%d].id %q", j, c.ID)
		}
		seen[c.ID] = i
		obj := candidateObject(object, c.Object)
		if obj != object && object != match.ObjectLead {
			return nil, apperr.Field(path+".object", "/v1/match/%ss compares %s records only, not %s",
				strings.ToLower(object), object, obj)
		}
		f, err := stringFields(path+".fields", c.Fields)
		if err != nil {
			return nil, err
		}
		out[obj] = append(out[obj], match.Record{ID: c.ID, Fields: f, LastModified: c.LastModified,
			ContactCount: c.ContactCount, OwnerActive: c.OwnerActive})
	}
	return out, nil
}

func repeat(rs []match.Record, n int) [][]match.Record {
	out := make([][]match.Record, n)
	for i := range out {
		out[i] = rs
	}
	return out
}

func matchSet(js []match.Judged, considered int, objectOf map[string]string) MatchSet {
	set := MatchSet{Matches: make([]MatchedRecord, len(js)), Candidates: considered}
	for i, j := range js {
		set.Matches[i] = MatchedRecord{ID: j.CandidateID, Object: objectOf[j.CandidateID], Confidence: j.Confidence,
			Decision: j.Decision, DecidedBy: j.DecidedBy, Explanation: MatchExplanation{Rule: j.Rule, Veto: j.Veto,
				Weight: j.Weight, Prior: j.Prior, Fields: j.Fields, AI: j.AI, TieBreak: j.TieBreak}}
	}
	if len(set.Matches) > 0 && set.Matches[0].Decision != match.DecisionNoMatch {
		set.Best = &set.Matches[0]
		set.Matched = set.Best.Decision == match.DecisionMatch
	}
	return set
}
