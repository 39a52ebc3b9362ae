package match

import (
	"sort"
	"strings"
)

// Objects that can be matched.
const (
	ObjectAccount = "Account"
	ObjectContact = "Contact"
	ObjectLead    = "Lead"
)

// Comparison methods a rule condition may name.
const (
	MethodExact        = "exact"         // normalised values equal
	MethodFuzzy        = "fuzzy"         // the field's own comparator (company name, person name, street, ...)
	MethodJaroWinkler  = "jaro_winkler"  // JaroWinkler on normalised values
	MethodTokenSet     = "token_set"     // TokenSet: word-order-insensitive overlap
	MethodAcronym      = "acronym"       // Acronym: company names only
	MethodEditDistance = "edit_distance" // EditDistance: normalised Levenshtein
	MethodPhonetic     = "phonetic"      // Phonetic: Double Metaphone codes of the words
	MethodPhone        = "phone"         // PhoneSimilarity: phone fields only, by section
	MethodTrigram      = "trigram"       // TrigramSimilarity: pg_trgm similarity
)

// Methods lists every method name, for documentation and validation messages.
var Methods = []string{MethodExact, MethodFuzzy, MethodJaroWinkler, MethodTokenSet, MethodAcronym,
	MethodEditDistance, MethodPhonetic, MethodPhone, MethodTrigram}

// kind says how a field is normalised and which comparator "fuzzy" means for it.
type kind uint8

const (
	kindCompany kind = iota
	kindWebsite
	kindPhone
	kindStreet
	kindCity
	kindPostal
	kindRegion
	kindCountry
	kindFirstName
	kindLastName
	kindPersonName
	kindEmail
	kindText
	kindDate
)

var kindNames = [...]string{"company name", "website", "phone", "street", "city", "postal code",
	"state", "country", "first name", "last name", "person name", "email", "text", "date"}

// field describes one matchable field of an object. Keys are the Record.Fields keys read, in
// order; Lead records use Salesforce's Lead names (Company, Street, ...) and Contacts theirs.
type field struct {
	name string
	kind kind
	keys []string
}

type object struct {
	name   string
	fields []field
	byName map[string]int // field name or alias → index in fields
}

func newObject(name string, fields ...field) *object {
	o := &object{name: name, fields: fields, byName: map[string]int{}}
	for i, f := range fields {
		o.byName[f.name] = i
		for _, k := range f.keys {
			if _, ok := o.byName[k]; !ok {
				o.byName[k] = i
			}
		}
	}
	return o
}

func personFields() []field {
	return []field{
		{"Name", kindPersonName, []string{"Name"}},
		{"FirstName", kindFirstName, []string{"FirstName"}},
		{"LastName", kindLastName, []string{"LastName"}},
		{"Email", kindEmail, []string{"Email"}},
		{"Phone", kindPhone, []string{"Phone"}},
		{"MobilePhone", kindPhone, []string{"MobilePhone"}},
		{"Title", kindText, []string{"Title"}},
		{"AccountName", kindCompany, []string{"AccountName", "Company"}},
		{"MailingStreet", kindStreet, []string{"MailingStreet", "Street"}},
		{"MailingCity", kindCity, []string{"MailingCity", "City"}},
		{"MailingPostalCode", kindPostal, []string{"MailingPostalCode", "PostalCode"}},
		{"MailingState", kindRegion, []string{"MailingState", "State"}},
		{"MailingCountry", kindCountry, []string{"MailingCountry", "Country"}},
		{"Birthdate", kindDate, []string{"Birthdate"}},
	}
}

var objects = map[string]*object{
	ObjectAccount: newObject(ObjectAccount,
		field{"Name", kindCompany, []string{"Name"}},
		field{"Website", kindWebsite, []string{"Website"}},
		field{"Phone", kindPhone, []string{"Phone"}},
		field{"BillingStreet", kindStreet, []string{"BillingStreet"}},
		field{"BillingCity", kindCity, []string{"BillingCity"}},
		field{"BillingPostalCode", kindPostal, []string{"BillingPostalCode"}},
		field{"BillingState", kindRegion, []string{"BillingState"}},
		field{"BillingCountry", kindCountry, []string{"BillingCountry"}},
	),
	ObjectContact: newObject(ObjectContact, personFields()...),
	ObjectLead:    newObject(ObjectLead, personFields()...),
}

// lookupObject accepts the object name in any case ("account", "ACCOUNT").
func lookupObject(name string) (*object, bool) {
	if o, ok := objects[name]; ok {
		return o, true
	}
	for k, o := range objects {
		if strings.EqualFold(k, name) {
			return o, true
		}
	}
	return nil, false
}

// Fields returns the field names an object's rules may use, sorted (aliases not included).
func Fields(objectName string) []string {
	o, ok := lookupObject(objectName)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(o.fields))
	for _, f := range o.fields {
		out = append(out, f.name)
	}
	sort.Strings(out)
	return out
}

// methodAllowed reports whether method can compare a field of kind k.
func methodAllowed(method string, k kind) bool {
	switch method {
	case MethodExact, MethodFuzzy, MethodJaroWinkler, MethodTokenSet, MethodEditDistance, MethodTrigram:
		return true
	case MethodPhone:
		return k == kindPhone
	case MethodAcronym:
		return k == kindCompany
	case MethodPhonetic:
		switch k {
		case kindCompany, kindStreet, kindCity, kindFirstName, kindLastName, kindPersonName, kindText:
			return true
		}
	}
	return false
}

// value is one field of a record, normalised once for every comparison it takes part in.
type value struct {
	raw  string
	norm string // normalised text: what exact, jaro_winkler, edit_distance, trigram compare

	company *companyName
	part    *namePart
	person  personName
	street  *street
	phone   PhoneSections

	// Computed on first use by the methods that need them.
	wordsDone bool
	wordList  []string
	codes     []dmCodes
	tris      []trigram
	trisDone  bool
}

func (v *value) present() bool { return v != nil && v.norm != "" }

func (v *value) words() []string {
	if !v.wordsDone {
		v.wordList = uniqueSorted(strings.Fields(v.norm))
		v.codes = metaphoneWords(strings.Fields(v.norm))
		v.wordsDone = true
	}
	return v.wordList
}

func (v *value) trigrams() []trigram {
	if !v.trisDone {
		v.tris = trigrams(v.norm)
		v.trisDone = true
	}
	return v.tris
}

// record is a Record prepared for comparison: one value per field of its object.
type record struct {
	src  *Record
	vals []*value
}

func prepare(o *object, r *Record, region string) *record {
	p := &record{src: r, vals: make([]*value, len(o.fields))}
	get := func(f field) string {
		for _, k := range f.keys {
			if s := strings.TrimSpace(r.Fields[k]); s != "" {
				return s
			}
		}
		return ""
	}
	// Persons: the full name, given and family names fill in for each other.
	var splitFirst, splitLast string
	var splitDone bool
	for i, f := range o.fields {
		raw := get(f)
		if (f.kind == kindFirstName || f.kind == kindLastName) && raw == "" {
			if !splitDone {
				splitFirst, splitLast = SplitPersonName(r.Fields["Name"])
				splitDone = true
			}
			if f.kind == kindFirstName {
				raw = splitFirst
			} else {
				raw = splitLast
			}
		}
		if f.kind == kindPersonName && raw == "" {
			raw = strings.TrimSpace(strings.TrimSpace(r.Fields["FirstName"]) + " " + strings.TrimSpace(r.Fields["LastName"]))
		}
		if raw == "" {
			continue
		}
		v := newValue(f.kind, raw, region, r)
		if v.norm != "" {
			p.vals[i] = v
		}
	}
	return p
}

func newValue(k kind, raw, region string, r *Record) *value {
	v := &value{raw: raw}
	switch k {
	case kindCompany:
		v.company = prepareCompany(raw)
		if v.company != nil {
			v.norm = v.company.norm
		}
	case kindWebsite:
		v.norm = NormalizeDomain(raw)
	case kindPhone:
		v.phone = SplitPhone(raw, region)
		v.norm = v.phone.E164
		if v.norm == "" {
			v.norm = v.phone.Area + v.phone.Subscriber
		}
	case kindStreet:
		v.street = prepareStreet(raw)
		if v.street != nil {
			v.norm = v.street.norm
		}
	case kindCity:
		v.norm = NormalizeCity(raw)
	case kindPostal:
		v.norm = NormalizePostalCode(raw)
	case kindRegion:
		v.norm = NormalizeRegion(raw)
	case kindCountry:
		v.norm = NormalizeCountry(raw)
	case kindFirstName, kindLastName:
		v.part = prepareNamePart(raw)
		if v.part != nil {
			v.norm = v.part.joined
		}
	case kindPersonName:
		first, last := strings.TrimSpace(r.Fields["FirstName"]), strings.TrimSpace(r.Fields["LastName"])
		if first == "" && last == "" {
			first, last = SplitPersonName(raw)
		}
		v.person = personName{first: prepareNamePart(first), last: prepareNamePart(last)}
		v.norm = NormalizePersonName(first + " " + last)
	case kindEmail:
		v.norm = NormalizeEmail(raw)
	case kindText:
		v.norm = strings.Join(words(fold(raw)), " ")
	case kindDate:
		v.norm = NormalizeDate(raw)
	}
	return v
}

// compareValues scores two present values of kind k with method.
func compareValues(method string, k kind, a, b *value) float64 {
	switch method {
	case MethodExact:
		return Exact(a.norm, b.norm)
	case MethodFuzzy:
		return fuzzy(k, a, b)
	case MethodJaroWinkler:
		return JaroWinkler(a.norm, b.norm)
	case MethodEditDistance:
		return EditDistance(a.norm, b.norm)
	case MethodTokenSet:
		return tokenSetWords(a.words(), b.words())
	case MethodTrigram:
		ta, tb := a.trigrams(), b.trigrams()
		if len(ta) == 0 || len(tb) == 0 {
			return 0
		}
		return trigramJaccard(ta, tb)
	case MethodPhonetic:
		a.words()
		b.words()
		return phoneticWords(a.codes, b.codes)
	case MethodAcronym:
		return companyAcronymMatch(a.company, b.company)
	case MethodPhone:
		return phoneSim(a.phone, b.phone)
	}
	return 0
}

// fuzzy is the comparator that suits each kind of field.
func fuzzy(k kind, a, b *value) float64 {
	switch k {
	case kindCompany:
		return companySim(a.company, b.company)
	case kindWebsite:
		return websiteSim(a.norm, b.norm)
	case kindPhone:
		return phoneSim(a.phone, b.phone)
	case kindStreet:
		return streetSim(a.street, b.street)
	case kindCity:
		if a.norm == b.norm {
			return 1
		}
		return JaroWinkler(a.norm, b.norm)
	case kindPostal:
		return postalSim(a.norm, b.norm)
	case kindRegion, kindCountry:
		return Exact(a.norm, b.norm)
	case kindFirstName:
		return firstNameSim(a.part, b.part)
	case kindLastName:
		return lastNameSim(a.part, b.part)
	case kindPersonName:
		s, _ := personNameSim(a.person, b.person)
		return s
	case kindEmail:
		return emailSim(a.norm, b.norm)
	case kindText:
		if a.norm == b.norm {
			return 1
		}
		return tokenSetWords(a.words(), b.words())
	case kindDate:
		return dateSim(a.norm, b.norm)
	}
	return 0
}

// websiteSim: same registrable domain 1; same name under another suffix ("acme.com" /
// "acme.co.uk") 0.8; else 0.
func websiteSim(a, b string) float64 {
	if a == b {
		return 1
	}
	la, _, _ := strings.Cut(a, ".")
	lb, _, _ := strings.Cut(b, ".")
	if la != "" && la == lb {
		return 0.8
	}
	return 0
}

// emailSim: same address 1; same mailbox name at another domain 0.7 (a person who moved
// employer or uses a personal address) when the name is specific (has a separator or is long);
// one typo 0.9; else 0.
func emailSim(a, b string) float64 {
	if a == b {
		return 1
	}
	if withinOneEdit(a, b) {
		return 0.9
	}
	la, _, _ := strings.Cut(a, "@")
	lb, _, _ := strings.Cut(b, "@")
	if la == lb && (strings.ContainsAny(la, "._-") || len(la) >= 8) {
		return 0.7
	}
	return 0
}
