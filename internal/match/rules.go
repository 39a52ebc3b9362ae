package match

import (
	"fmt"
	"math"
	"strings"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/nyaruka/phonenumbers"
)

// Rules are matching rules in the shape of Salesforce matching rules: a candidate satisfies
// the rules when every condition of at least one group holds (an OR of AND-groups). A
// condition holds when both records have the field and Method scores it at least Threshold.
// Rules decide which candidates may be called a match; the Fellegi-Sunter weights (weights.go)
// decide how confident that match is.
type Rules struct {
	Any []Group `json:"any"`
	// Veto lists conditions that must not fail: when both records have the field and it scores
	// below Threshold, the candidate is at most "possible", whatever its confidence. The
	// default Account rules veto different street addresses and countries, because one company
	// often has one account per site.
	Veto []Condition `json:"veto,omitempty"`
}

// Group is a conjunction of conditions. Name labels the group in results; unnamed groups are
// reported as "any[i]".
type Group struct {
	Name string      `json:"name,omitempty"`
	All  []Condition `json:"all"`
}

// Condition compares one field with one method; it holds at Score ≥ Threshold.
type Condition struct {
	Field     string  `json:"field"`
	Method    string  `json:"method"`
	Threshold float64 `json:"threshold"`
}

// DefaultRules returns Lantern's default rules for "Account", "Contact" or "Lead" (any case);
// nil groups for anything else. Lead rules match leads against leads and contacts; to match a
// lead against accounts use DefaultRules("Account") with LeadAsAccount(lead).
//
// Account (company deduplication and lead-to-account):
//
//	name          Name fuzzy ≥ 0.85                     (same company name; PATSTAT has only names)
//	website       Website exact                         (same registrable domain)
//	phone+name    Phone phone ≥ 0.9, Name fuzzy ≥ 0.5
//	address+name  BillingStreet fuzzy ≥ 0.9, Name fuzzy ≥ 0.5
//	address+phone BillingStreet fuzzy ≥ 0.85, Phone phone ≥ 0.9 (a renamed site)
//	veto          BillingStreet fuzzy < 0.7 or BillingCountry not exact: another site, at most "possible"
//
// Contact and Lead:
//
//	email         Email exact, Name fuzzy ≥ 0.6         (shared mailboxes need a name too)
//	name+phone    Name fuzzy ≥ 0.85, Phone phone ≥ 0.9
//	name+company  Name fuzzy ≥ 0.85, AccountName fuzzy ≥ 0.85
//	name+birth    Name fuzzy ≥ 0.85, Birthdate fuzzy ≥ 0.8
//	name+address  Name fuzzy ≥ 0.85, MailingStreet fuzzy ≥ 0.8, MailingPostalCode fuzzy ≥ 0.75
//	name+locality Name fuzzy ≥ 0.85, MailingCity fuzzy ≥ 0.9, MailingPostalCode exact
//	birth+address Birthdate exact, MailingStreet fuzzy ≥ 0.85, MailingPostalCode fuzzy ≥ 0.75
//	birth+postal+street Birthdate exact, MailingPostalCode exact, MailingStreet fuzzy ≥ 0.7
//	              (a renamed person at the same home: marriage, a nickname, a data-entry swap)
//
// Person-name fuzzy scores nicknames 0.93, an agreeing initial 0.8 on the given name, and
// takes given and family names crosswise when they are swapped.
func DefaultRules(objectName string) Rules {
	o, ok := lookupObject(objectName)
	if !ok {
		return Rules{}
	}
	c := func(f, m string, t float64) Condition { return Condition{Field: f, Method: m, Threshold: t} }
	if o.name == ObjectAccount {
		return Rules{Any: []Group{
			{Name: "name", All: []Condition{c("Name", MethodFuzzy, 0.85)}},
			{Name: "website", All: []Condition{c("Website", MethodExact, 1)}},
			{Name: "phone+name", All: []Condition{c("Phone", MethodPhone, 0.9), c("Name", MethodFuzzy, 0.5)}},
			{Name: "address+name", All: []Condition{c("BillingStreet", MethodFuzzy, 0.9), c("Name", MethodFuzzy, 0.5)}},
			{Name: "address+phone", All: []Condition{c("BillingStreet", MethodFuzzy, 0.85), c("Phone", MethodPhone, 0.9)}},
		}, Veto: []Condition{c("BillingStreet", MethodFuzzy, 0.7), c("BillingCountry", MethodExact, 1)}}
	}
	return Rules{Any: []Group{
		{Name: "email", All: []Condition{c("Email", MethodExact, 1), c("Name", MethodFuzzy, 0.6)}},
		{Name: "name+phone", All: []Condition{c("Name", MethodFuzzy, 0.85), c("Phone", MethodPhone, 0.9)}},
		{Name: "name+company", All: []Condition{c("Name", MethodFuzzy, 0.85), c("AccountName", MethodFuzzy, 0.85)}},
		{Name: "name+birth", All: []Condition{c("Name", MethodFuzzy, 0.85), c("Birthdate", MethodFuzzy, 0.8)}},
		{Name: "name+address", All: []Condition{c("Name", MethodFuzzy, 0.85), c("MailingStreet", MethodFuzzy, 0.8),
			c("MailingPostalCode", MethodFuzzy, 0.75)}},
		{Name: "name+locality", All: []Condition{c("Name", MethodFuzzy, 0.85), c("MailingCity", MethodFuzzy, 0.9),
			c("MailingPostalCode", MethodExact, 1)}},
		{Name: "birth+address", All: []Condition{c("Birthdate", MethodExact, 1), c("MailingStreet", MethodFuzzy, 0.85),
			c("MailingPostalCode", MethodFuzzy, 0.75)}},
		{Name: "birth+postal+street", All: []Condition{c("Birthdate", MethodExact, 1), c("MailingPostalCode", MethodExact, 1),
			c("MailingStreet", MethodFuzzy, 0.7)}},
	}}
}

// LeadToAccountRules are the rules for matching a lead (through LeadAsAccount) against
// accounts: the Account rules without their vetoes, because a lead's address is often a branch
// of the company whose account holds the head-office address.
func LeadToAccountRules() Rules {
	r := DefaultRules(ObjectAccount)
	r.Veto = nil
	return r
}

// Validate checks client-supplied rules for an object. Errors are apperr invalid_input errors
// whose Field names the offending part, e.g. "rules.any[1].all[0].method".
func (r Rules) Validate(objectName string) error {
	return r.validate(objectName, "rules")
}

func (r Rules) validate(objectName, path string) error {
	o, ok := lookupObject(objectName)
	if !ok {
		return apperr.Field("object", "unknown object %q: use Account, Contact or Lead", objectName)
	}
	if len(r.Any) == 0 {
		return apperr.Field(path+".any", "at least one group is required")
	}
	const maxGroups, maxConditions = 32, 16
	if len(r.Any) > maxGroups {
		return apperr.Field(path+".any", "at most %d groups are allowed", maxGroups)
	}
	for i, g := range r.Any {
		gp := fmt.Sprintf("%s.any[%d]", path, i)
		if len(g.All) == 0 {
			return apperr.Field(gp+".all", "a group needs at least one condition")
		}
		if len(g.All) > maxConditions {
			return apperr.Field(gp+".all", "at most %d conditions are allowed in a group", maxConditions)
		}
		for j, c := range g.All {
			if err := validateCondition(o, c, fmt.Sprintf("%s.all[%d]", gp, j)); err != nil {
				return err
			}
		}
	}
	if len(r.Veto) > maxConditions {
		return apperr.Field(path+".veto", "at most %d veto conditions are allowed", maxConditions)
	}
	for j, c := range r.Veto {
		if err := validateCondition(o, c, fmt.Sprintf("%s.veto[%d]", path, j)); err != nil {
			return err
		}
	}
	return nil
}

func validateCondition(o *object, c Condition, cp string) error {
	fi, ok := o.byName[c.Field]
	if !ok {
		return apperr.Field(cp+".field", "unknown %s field %q; known fields: %s", o.name, c.Field,
			strings.Join(Fields(o.name), ", "))
	}
	if !isMethod(c.Method) {
		return apperr.Field(cp+".method", "unknown method %q; known methods: %s", c.Method,
			strings.Join(Methods, ", "))
	}
	if k := o.fields[fi].kind; !methodAllowed(c.Method, k) {
		return apperr.Field(cp+".method", "method %q cannot compare %s (a %s field)", c.Method, c.Field, kindNames[k])
	}
	if math.IsNaN(c.Threshold) || c.Threshold < 0 || c.Threshold > 1 {
		return apperr.Field(cp+".threshold", "threshold must be between 0 and 1, got %v", c.Threshold)
	}
	return nil
}

func isMethod(m string) bool {
	for _, x := range Methods {
		if x == m {
			return true
		}
	}
	return false
}

// Tie-breakers order candidates whose confidence is equal.
const (
	TieLastModified = "last_modified" // most recently modified first
	TieContactCount = "contact_count" // most contacts first
	TieOwnerActive  = "owner_active"  // candidates whose owner is active first
	TieID           = "id"            // ascending ID; always applied last
)

// DefaultTieBreakers is the order used when Options.TieBreakers is nil.
var DefaultTieBreakers = []string{TieLastModified, TieContactCount, TieOwnerActive}

// Validate checks options from a client. Zero values mean defaults and are valid.
func (o Options) Validate(objectName string) error {
	if _, ok := lookupObject(objectName); !ok {
		return apperr.Field("object", "unknown object %q: use Account, Contact or Lead", objectName)
	}
	if math.IsNaN(o.Threshold) || o.Threshold < 0 || o.Threshold > 1 {
		return apperr.Field("threshold", "threshold must be between 0 and 1, got %v", o.Threshold)
	}
	if o.MaxMatches < 0 || o.MaxMatches > MaxMatchesLimit {
		return apperr.Field("max_matches", "max_matches must be between 0 and %d, got %d", MaxMatchesLimit, o.MaxMatches)
	}
	for i, t := range o.TieBreakers {
		switch t {
		case TieLastModified, TieContactCount, TieOwnerActive, TieID:
		default:
			return apperr.Field(fmt.Sprintf("tie_breakers[%d]", i), "unknown tie-breaker %q; use %s, %s, %s or %s",
				t, TieLastModified, TieContactCount, TieOwnerActive, TieID)
		}
	}
	if o.DefaultRegion != "" && phonenumbers.GetCountryCodeForRegion(strings.ToUpper(o.DefaultRegion)) == 0 {
		return apperr.Field("default_region", "unknown region %q: use an ISO 3166 code such as US or GB", o.DefaultRegion)
	}
	if o.Rules != nil {
		return o.Rules.validate(objectName, "rules")
	}
	return nil
}
