package match

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
)

func TestNormalizeCompany(t *testing.T) {
	same := [][2]string{
		{"Acme, Inc.", "ACME Incorporated"},
		{"The Boeing Company", "Boeing Co"},
		{"Akzo Nobel N.V.", "AKZO NOBEL NV"},
		{"Siemens AG", "Siemens Aktiengesellschaft"},
		{"Müller GmbH", "Muller G.m.b.H."},
		{"Procter & Gamble", "Procter and Gamble"},
		{"Nokia Oyj", "Nokia"},
		{"Telefonaktiebolaget LM Ericsson AB", "Telefonaktiebolaget LM Ericsson"},
	}
	for _, p := range same {
		if a, b := NormalizeCompany(p[0]), NormalizeCompany(p[1]); a != b {
			t.Errorf("NormalizeCompany(%q) = %q, NormalizeCompany(%q) = %q; want equal", p[0], a, p[1], b)
		}
	}
	if got := NormalizeCompany("Acme Ltd"); got == "" || got == NormalizeCompany("Apex Ltd") {
		t.Errorf("NormalizeCompany(Acme Ltd) = %q: must keep the distinctive word", got)
	}
}

func TestNormalizeDomain(t *testing.T) {
	cases := map[string]string{
		"https://www.Example.co.uk/about": "example.co.uk",
		"jane@sales.example.com":          "example.com",
		"example.com":                     "example.com",
		"jane@gmail.com":                  "", // webmail never counts as a company domain
		"http://localhost":                "",
		"":                                "",
	}
	for in, want := range cases {
		if got := NormalizeDomain(in); got != want {
			t.Errorf("NormalizeDomain(%q) = %q, want %q", in, got, want)
		}
	}
	if !IsWebmail("someone@outlook.com") || IsWebmail("someone@acme.com") {
		t.Error("IsWebmail disagrees on outlook.com / acme.com")
	}
}

func TestPhones(t *testing.T) {
	if got := NormalizePhone("(415) 555-2671", "US"); got != "+14155552671" {
		t.Errorf("NormalizePhone US = %q", got)
	}
	if got := NormalizePhone("020 7946 0958", "GB"); got != "+442079460958" {
		t.Errorf("NormalizePhone GB = %q", got)
	}
	if s := PhoneSimilarity("+1 415 555 2671", "415-555-2671", "US"); s != 1 {
		t.Errorf("same number written twice: %v", s)
	}
	same := PhoneSimilarity("+1 415 555 2671", "+1 415 555 2672", "US")
	other := PhoneSimilarity("+1 415 555 2671", "+1 212 987 6543", "US")
	if !(same > other && same < 1) {
		t.Errorf("by section: one digit off %v should beat another area %v and stay below 1", same, other)
	}
}

func TestPersonNames(t *testing.T) {
	cases := []struct {
		a, b string
		min  float64
		max  float64
	}{
		{"Robert Smith", "Bob Smith", 0.9, 1}, // nickname
		{"J. Smith", "John Smith", 0.8, 1},    // initial
		{"Smith John", "John Smith", 0.95, 1}, // swapped
		{"John Smith", "Jane Doe", 0, 0.5},    // different
		{"Katherine Schmidt", "Kathy Schmitt", 0.8, 1},
	}
	for _, c := range cases {
		if s := PersonNameSimilarity(c.a, c.b); s < c.min || s > c.max {
			t.Errorf("PersonNameSimilarity(%q, %q) = %.3f, want in [%v, %v]", c.a, c.b, s, c.min, c.max)
		}
	}
	if f, l := SplitPersonName("Smith, John"); f != "john" || l != "smith" {
		t.Errorf("SplitPersonName(Smith, John) = %q %q", f, l)
	}
	if f, l := SplitPersonName("Ludwig van Beethoven"); f != "ludwig" || l != "van beethoven" {
		t.Errorf("SplitPersonName(Ludwig van Beethoven) = %q %q", f, l)
	}
}

func TestComparators(t *testing.T) {
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-3 }
	if got := JaroWinkler("MARTHA", "MARHTA"); !near(got, 0.961) {
		t.Errorf("JaroWinkler(MARTHA, MARHTA) = %v, want 0.961 (Winkler 1990)", got)
	}
	if got := EditDistance("kitten", "sitting"); !near(got, 1-3.0/7) {
		t.Errorf("EditDistance(kitten, sitting) = %v", got)
	}
	if got := TokenSet("acme global widgets", "widgets acme global"); got != 1 {
		t.Errorf("TokenSet ignores word order: %v", got)
	}
	if got := Acronym("IBM", "International Business Machines"); got < 0.9 {
		t.Errorf("Acronym(IBM, International Business Machines) = %v", got)
	}
	if got := Phonetic("Schmidt", "Smith"); got < 0.9 {
		t.Errorf("Phonetic(Schmidt, Smith) = %v (Double Metaphone XMT/SM0 share SM)", got)
	}
	if Exact("acme", "acme") != 1 || Exact("", "") != 0 || Exact("acme", "acne") != 0 {
		t.Error("Exact: equal and non-empty is 1, else 0")
	}
	if got := TrigramSimilarity("word", "word"); got != 1 {
		t.Errorf("TrigramSimilarity of equal strings = %v", got)
	}
}

// The explanation adds up: weight = prior + Σ contributions, confidence = 1/(1+2^-weight).
func TestExplanationAddsUp(t *testing.T) {
	in := Record{ID: "in", Fields: map[string]string{"Name": "Acme Corp", "Website": "https://acme.com", "Phone": "+1 415 555 2671", "BillingCity": "San Francisco"}}
	cand := Record{ID: "001A", Fields: map[string]string{"Name": "ACME Corporation", "Website": "www.acme.com", "Phone": "(415) 555-2671", "BillingCity": "Oakland"}}
	m := Compare("Account", in, cand, Options{})
	if m.Decision != DecisionMatch || m.Rule == "" {
		t.Fatalf("decision %q rule %q, want match: %+v", m.Decision, m.Rule, m)
	}
	sum := m.Prior
	seen := map[string]bool{}
	for _, f := range m.Fields {
		sum += f.Contribution
		seen[f.Field] = true
		if f.Method == "" || f.Input == "" && f.Candidate == "" {
			t.Errorf("field explanation without method or values: %+v", f)
		}
	}
	if math.Abs(sum-m.Weight) > 1e-3 {
		t.Errorf("prior + contributions = %v, weight = %v", sum, m.Weight)
	}
	if want := 1 / (1 + math.Exp2(-m.Weight)); math.Abs(want-m.Confidence) > 1e-3 {
		t.Errorf("confidence %v, want %v from weight", m.Confidence, want)
	}
	for _, f := range []string{"Name", "Website", "Phone", "BillingCity"} {
		if !seen[f] {
			t.Errorf("no explanation for %s", f)
		}
	}
	for _, f := range m.Fields {
		if f.Field == "BillingCity" && f.Contribution >= 0 {
			t.Errorf("disagreeing city must count against: %+v", f)
		}
	}
}

func TestDecisions(t *testing.T) {
	a := Record{ID: "a", Fields: map[string]string{"Name": "Globex Corporation"}}
	b := Record{ID: "b", Fields: map[string]string{"Name": "Initech LLC"}}
	if m := Compare("Account", a, b, Options{}); m.Decision != DecisionNoMatch {
		t.Errorf("different companies: %q (%.3f)", m.Decision, m.Confidence)
	}
	// The same name at another street address is another site: at most possible.
	c := Record{ID: "c", Fields: map[string]string{"Name": "Globex Corp", "BillingStreet": "1 Main Street"}}
	d := Record{ID: "d", Fields: map[string]string{"Name": "Globex Corporation", "BillingStreet": "400 Elm Avenue"}}
	if m := Compare("Account", c, d, Options{}); m.Decision == DecisionMatch || m.Veto == "" {
		t.Errorf("other site: decision %q veto %q", m.Decision, m.Veto)
	}
	// Contacts: same email and name → match; same email, other name (a shared mailbox) → not.
	p := Record{ID: "p", Fields: map[string]string{"FirstName": "Robert", "LastName": "Smith", "Email": "Bob.Smith@Acme.com"}}
	q := Record{ID: "q", Fields: map[string]string{"FirstName": "Bob", "LastName": "Smith", "Email": "bob.smith@acme.com"}}
	r := Record{ID: "r", Fields: map[string]string{"FirstName": "Alice", "LastName": "Wong", "Email": "bob.smith@acme.com"}}
	if m := Compare("Contact", p, q, Options{}); m.Decision != DecisionMatch || m.Rule != "email" {
		t.Errorf("nickname + same email: %q rule %q", m.Decision, m.Rule)
	}
	if m := Compare("Contact", p, r, Options{}); m.Decision == DecisionMatch {
		t.Errorf("shared mailbox, other person: %q", m.Decision)
	}
	// Custom rules: an OR of AND-groups.
	rules := &Rules{Any: []Group{{Name: "last+email", All: []Condition{
		{Field: "LastName", Method: MethodExact, Threshold: 1}, {Field: "Email", Method: MethodExact, Threshold: 1}}}}}
	if m := Compare("Contact", p, r, Options{Rules: rules}); m.Rule != "" {
		t.Errorf("custom rule matched a different last name: %q", m.Rule)
	}
	if m := Compare("Contact", p, q, Options{Rules: rules}); m.Rule != "last+email" {
		t.Errorf("custom rule: %q", m.Rule)
	}
}

func TestRankTieBreakers(t *testing.T) {
	in := Record{ID: "in", Fields: map[string]string{"Name": "Umbrella Corp"}}
	old := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cands := []Record{
		{ID: "001C", Fields: map[string]string{"Name": "Umbrella Corporation"}, LastModified: old, ContactCount: 9},
		{ID: "001B", Fields: map[string]string{"Name": "Umbrella Corporation"}, LastModified: old.Add(time.Hour), ContactCount: 1},
		{ID: "001A", Fields: map[string]string{"Name": "Umbrella Corporation"}, LastModified: old, ContactCount: 1},
		{ID: "001Z", Fields: map[string]string{"Name": "Wayne Enterprises"}},
	}
	ids := func(ms []Match) (out []string) {
		for _, m := range ms {
			out = append(out, m.CandidateID)
		}
		return out
	}
	got := ids(Rank("Account", in, cands, Options{}))
	if want := []string{"001B", "001C", "001A"}; !equalWords(got, want) {
		t.Errorf("default tie-breakers: %v, want %v", got, want)
	}
	got = ids(Rank("Account", in, cands, Options{TieBreakers: []string{TieContactCount}}))
	if want := []string{"001C", "001A", "001B"}; !equalWords(got, want) {
		t.Errorf("contact_count then id: %v, want %v", got, want)
	}
	if got := Rank("Account", in, cands, Options{MaxMatches: 1}); len(got) != 1 {
		t.Errorf("max_matches 1: %d results", len(got))
	}
}

func TestValidate(t *testing.T) {
	field := func(err error) string {
		var e *apperr.Error
		if !errors.As(err, &e) {
			return ""
		}
		return e.Field
	}
	cases := []struct {
		opt    Options
		object string
		want   string
	}{
		{Options{}, "Opportunity", "object"},
		{Options{Threshold: 1.5}, "Account", "threshold"},
		{Options{Threshold: -0.1}, "Account", "threshold"},
		{Options{MaxMatches: -1}, "Account", "max_matches"},
		{Options{TieBreakers: []string{"coin_flip"}}, "Account", "tie_breakers[0]"},
		{Options{DefaultRegion: "XX"}, "Account", "default_region"},
		{Options{Rules: &Rules{}}, "Contact", "rules.any"},
		{Options{Rules: &Rules{Any: []Group{{All: []Condition{{Field: "Shoe", Method: MethodExact, Threshold: 1}}}}}}, "Contact", "rules.any[0].all[0].field"},
		{Options{Rules: &Rules{Any: []Group{{All: []Condition{{Field: "Email", Method: "vibes", Threshold: 1}}}}}}, "Contact", "rules.any[0].all[0].method"},
		{Options{Rules: &Rules{Any: []Group{{All: []Condition{{Field: "Email", Method: MethodPhone, Threshold: 1}}}}}}, "Contact", "rules.any[0].all[0].method"},
		{Options{Rules: &Rules{Any: []Group{{All: []Condition{{Field: "Email", Method: MethodExact, Threshold: 2}}}}}}, "Contact", "rules.any[0].all[0].threshold"},
	}
	for _, c := range cases {
		if got := field(c.opt.Validate(c.object)); got != c.want {
			t.Errorf("%+v on %s: error field %q, want %q", c.opt, c.object, got, c.want)
		}
	}
	if err := (Options{Threshold: 0.8, Rules: &Rules{Any: []Group{{All: []Condition{{Field: "Email", Method: MethodExact, Threshold: 1}}}}}}).Validate("Lead"); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

func TestLeadAsAccount(t *testing.T) {
	lead := Record{ID: "00Q1", Fields: map[string]string{"Company": "Hooli Inc", "Email": "gavin@hooli.com", "City": "Palo Alto"}}
	acct := Record{ID: "0011", Fields: map[string]string{"Name": "Hooli", "Website": "https://www.hooli.com", "BillingCity": "Palo Alto"}}
	m := Compare("Account", LeadAsAccount(lead), acct, Options{Rules: ptr(LeadToAccountRules())})
	if m.Decision != DecisionMatch {
		t.Errorf("lead to account: %q %.3f %+v", m.Decision, m.Confidence, m.Fields)
	}
}

func ptr[T any](v T) *T { return &v }

func TestKeys(t *testing.T) {
	k := Keys("Contact", Record{Fields: map[string]string{"Name": "Dr. Jane Q. Public", "Email": "Jane@Example.com", "Phone": "415 555 2671", "Birthdate": "1980-02-29"}}, "US")
	if k.Email != "jane@example.com" || k.Domain != "example.com" || k.Phone != "+14155552671" || k.Name == "" || k.Birthdate != "1980-02-29" {
		t.Errorf("contact keys: %+v", k)
	}
	a := Keys("Account", Record{Fields: map[string]string{"Name": "The Acme Company, Inc.", "Website": "acme.com"}}, "")
	if a.Domain != "acme.com" || a.Name != NormalizeCompany("Acme") {
		t.Errorf("account keys: %+v", a)
	}
}
