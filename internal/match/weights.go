package match

import "math"

// Scoring follows Fellegi & Sunter (1969, "A Theory for Record Linkage", JASA 64:1183): each
// field's comparator score falls into an agreement level; a level reached with probability m
// by true matches and u by non-matches adds log2(m/u) bits of evidence; below the last level
// the field disagrees and adds log2((1-Σm)/(1-Σu)), which is negative; a field missing on
// either side adds nothing. The total, plus the object's prior, is the log2 odds of a match,
// and Confidence = 1 / (1 + 2^-total).
//
// How the numbers were estimated (TestEstimateWeights prints the raw figures):
//
//   - u, the chance that two different entities agree at a level, was measured on 200,000
//     random non-matching pairs of each outside data set (PATSTAT and Chicago for company
//     names, Chicago for phones, streets and postal codes, Febrl for person fields), then
//     raised where those data are more varied than a CRM: real CRMs hold many people called
//     John and many accounts in one city, ZIP code or building, so u for first names, cities,
//     postal codes and streets is set several times higher than measured.
//   - m, the chance that a true match agrees at a level, was measured on the true pairs (at
//     most 300-1,000 per entity, so one large entity does not dominate), then rounded and
//     pulled toward what CRM data shows: people move and change employer, phone and email, so
//     no field is given m(disagree) below 3%. Fields absent from the data (Email, Website,
//     Title, AccountName, MobilePhone, Country) were set by the same reasoning: an email
//     address or web domain is almost unique (u ≈ 1e-6, 1e-5), a title or country is not.
//   - prior, the log2 odds that a retrieved candidate is a match before any field is
//     compared, was set so that a company name at the "strong" level alone (every distinctive
//     word of one name in the other) reaches the default threshold 0.9 while a partial name
//     overlap does not, and checked on the candidates of all three data sets (TestQuality*).

// level is one agreement level of a field: comparator score ≥ min. m is the probability of
// reaching it for a true match, u for a non-match.
type level struct{ min, m, u float64 }

type fieldWeight struct {
	field  string
	levels []level // highest min first; below the last level the values disagree
}

// agreeWeight is log2(m/u) of the top level.
func (f fieldWeight) agreeWeight() float64 {
	return math.Log2(f.levels[0].m / f.levels[0].u)
}

// contribution is the log2 likelihood ratio of a comparator score.
func (f fieldWeight) contribution(s float64) float64 {
	sm, su := 0.0, 0.0
	for _, l := range f.levels {
		if s >= l.min {
			return math.Log2(l.m / l.u)
		}
		sm += l.m
		su += l.u
	}
	return math.Log2((1 - sm) / (1 - su))
}

type objectWeights struct {
	prior  float64
	fields []fieldWeight
}

func weightsFor(object string) *objectWeights { return weightTable[object] }

// Levels shared by objects.
var (
	// companyName: PATSTAT m ≈ .88/.10/0/.005, Chicago m ≈ .38/.41/.03/.09 at 0.95/0.85/0.7/0.5;
	// u ≈ 3e-4/1e-3/7e-4/6e-3 (both sets).
	companyLevels = []level{{0.95, 0.60, 0.0003}, {0.85, 0.25, 0.0007}, {0.7, 0.03, 0.001}, {0.5, 0.05, 0.008}}
	// accountName on a person: people change employer, so agreement counts less.
	accountNameLevels = []level{{0.95, 0.50, 0.001}, {0.85, 0.15, 0.002}, {0.5, 0.05, 0.01}}
	// phone: Chicago m ≈ .81 at ≥0.9 (mostly seven-digit local numbers), u ≈ 2e-4.
	phoneLevels = []level{{0.9, 0.70, 0.0002}, {0.6, 0.03, 0.0001}, {0.4, 0.01, 0.0001}}
	// street: Chicago m ≈ .92 at ≥0.95; Febrl (address lines 1 and 2, typos) m ≈ .43/.29/.05 at
	// 0.95/0.85/0.7; u below 1e-5 in both, set to 1e-4 because offices share buildings.
	streetLevels = []level{{0.95, 0.70, 0.0001}, {0.85, 0.16, 0.0002}, {0.7, 0.05, 0.0005}}
	// postal: Chicago m ≈ .97 exact, u ≈ .03 (one city); Febrl m ≈ .84/.14 exact/one typo,
	// u ≈ .001/.013.
	postalLevels = []level{{1, 0.85, 0.01}, {0.75, 0.07, 0.03}}
	// city: Febrl m ≈ .76/.18 at 1/0.9, u ≈ .001; u raised to .01 for CRMs.
	cityLevels    = []level{{1, 0.80, 0.01}, {0.9, 0.12, 0.003}}
	regionLevels  = []level{{1, 0.95, 0.1}} // Febrl m ≈ .96, u ≈ .23 (eight states); US: fifty
	countryLevels = []level{{1, 0.97, 0.3}} // most CRMs are dominated by a few countries
	websiteLevels = []level{{1, 0.70, 1e-5}, {0.8, 0.05, 1e-4}}
)

var weightTable = map[string]*objectWeights{
	ObjectAccount: {
		prior: -4.8,
		fields: []fieldWeight{
			{"Name", companyLevels},
			{"Website", websiteLevels},
			{"Phone", phoneLevels},
			{"BillingStreet", streetLevels},
			{"BillingCity", cityLevels},
			{"BillingPostalCode", postalLevels},
			{"BillingState", regionLevels},
			{"BillingCountry", countryLevels},
		},
	},
	ObjectContact: personWeights(),
	ObjectLead:    personWeights(),
}

func personWeights() *objectWeights {
	return &objectWeights{
		prior: -4.8,
		fields: []fieldWeight{
			// Febrl m ≈ .69/.13/.02 at 1/0.9/0.8, u ≈ .003/.002/.006; u raised for common names.
			{"FirstName", []level{{1, 0.70, 0.005}, {0.9, 0.14, 0.003}, {0.8, 0.03, 0.01}}},
			// Febrl m ≈ .68/.18/.01, u ≈ .003/.001/.003.
			{"LastName", []level{{1, 0.70, 0.002}, {0.9, 0.18, 0.0015}, {0.8, 0.015, 0.004}}},
			{"Email", []level{{1, 0.60, 1e-6}, {0.9, 0.05, 1e-5}, {0.7, 0.05, 1e-4}}},
			{"Phone", phoneLevels}, // Phone and MobilePhone, best pair
			{"AccountName", accountNameLevels},
			{"Title", []level{{1, 0.40, 0.02}, {0.7, 0.20, 0.05}}},
			{"MailingStreet", streetLevels},
			{"MailingCity", cityLevels},
			{"MailingPostalCode", postalLevels},
			{"MailingState", regionLevels},
			{"MailingCountry", countryLevels},
			// Febrl m ≈ .93/.02 exact/one digit, u ≈ 1e-4 (one day in ~60 years ≈ 5e-5).
			{"Birthdate", []level{{1, 0.90, 0.0001}, {0.8, 0.04, 0.0005}}},
		},
	}
}
