package match

import (
	"strings"
	"time"
)

// Addresses, postal codes, regions, countries and dates.

// streetAbbrev maps street-type words, directions and unit words to the USPS Publication 28
// abbreviations (Appendix C1, C2), extended with common Australian and British types, so that
// "North Main Street" and "N Main St" compare equal.
var streetAbbrev = map[string]string{
	"street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd", "boulevard": "blvd",
	"drive": "dr", "place": "pl", "court": "ct", "crescent": "cres", "cresent": "cres", "cr": "cres",
	"circuit": "cct", "lane": "ln", "terrace": "tce", "ter": "tce", "parkway": "pkwy",
	"highway": "hwy", "square": "sq", "suite": "ste", "apartment": "apt", "building": "bldg",
	"floor": "fl", "circle": "cir", "close": "cl", "way": "wy", "expressway": "expy",
	"freeway": "fwy", "trail": "trl", "center": "ctr", "centre": "ctr", "mount": "mt",
	"heights": "hts", "point": "pt", "esplanade": "esp", "grove": "gr", "parade": "pde",
	"north": "n", "south": "s", "east": "e", "west": "w", "northeast": "ne", "northwest": "nw",
	"southeast": "se", "southwest": "sw", "saint": "st", "first": "1st", "second": "2nd",
	"third": "3rd", "fourth": "4th", "fifth": "5th", "number": "no",
}

// streetMinor are the words of an address that are not its street name: types, directions and
// unit markers. They count less when streets are compared.
var streetMinor = toSet(`st ave rd blvd dr pl ct cres cct ln tce pkwy hwy sq ste apt bldg fl cir cl wy
expy fwy trl ctr pde esp gr n s e w ne nw se sw no unit`)

// NormalizeStreet returns the comparable form of a street address: lower case, no diacritics
// or punctuation, USPS abbreviations ("North Main Street" → "n main st"). Idempotent.
func NormalizeStreet(s string) string {
	return strings.Join(streetTokens(s), " ")
}

func streetTokens(s string) []string {
	toks := words(fold(s))
	for i, t := range toks {
		if a, ok := streetAbbrev[t]; ok {
			toks[i] = a
		}
	}
	return toks
}

// street is a prepared street address.
type street struct {
	norm     string
	house    string   // the leading house number, "" if the address does not start with one
	names    []string // the other words that are not street types or directions (unit numbers too)
	minor    []string // street types, directions, unit markers
	squashed string   // every word but the house number, without spaces
}

func prepareStreet(raw string) *street {
	toks := streetTokens(raw)
	if len(toks) == 0 {
		return nil
	}
	s := &street{norm: strings.Join(toks, " ")}
	rest := toks
	if t := toks[0]; t[0] >= '0' && t[0] <= '9' && !isOrdinal(t) {
		s.house, rest = t, toks[1:]
	}
	for _, t := range rest {
		if streetMinor[t] {
			s.minor = append(s.minor, t)
		} else {
			s.names = append(s.names, t)
		}
	}
	s.squashed = strings.Join(rest, "")
	return s
}

// streetSim compares street addresses:
//
//	1.00  same normalised address
//	else  the house numbers set a ceiling (equal 1, one side has none 0.85, one typo apart 0.7,
//	      different 0.5) on the better of: a typo-tolerant overlap of the other words (street
//	      types and directions count 0.3, so "3449 W Arthington" ≈ "3449 W. Arthington St"),
//	      and the edit similarity of those words written without spaces ("dowling s treet" ≈
//	      "dowling street")
func streetSim(a, b *street) float64 {
	if a == nil || b == nil {
		return 0
	}
	if a.norm == b.norm {
		return 1
	}
	ceiling := 1.0
	switch {
	case a.house == "" || b.house == "":
		ceiling = 0.85
	case a.house == b.house:
	case withinOneEdit(a.house, b.house):
		ceiling = 0.7
	default:
		ceiling = 0.5
	}
	if len(a.names)+len(a.minor) == 0 || len(b.names)+len(b.minor) == 0 {
		if len(a.names)+len(a.minor) == 0 && len(b.names)+len(b.minor) == 0 {
			return ceiling * 0.8 // house numbers only
		}
		return 0
	}
	// Best match per word; weights summed on both sides (a soft Dice coefficient).
	cover := func(x, xm, y, ym []string) (got, total, nameGot float64) {
		for _, t := range x {
			best := 0.0
			for _, u := range y {
				best = max(best, wordSim(t, u))
			}
			got += best
			nameGot += best
		}
		for _, t := range xm {
			best := 0.0
			for _, u := range ym {
				if t == u {
					best = 1
				}
			}
			got += 0.3 * best
		}
		return got, float64(len(x)) + 0.3*float64(len(xm)), nameGot
	}
	ga, ta, na := cover(a.names, a.minor, b.names, b.minor)
	gb, tb, nb := cover(b.names, b.minor, a.names, a.minor)
	sim := (ga + gb) / (ta + tb)
	// The street names agree while one side omits the street type or a second line.
	if len(a.names) > 0 && len(b.names) > 0 {
		ca, cb := na/float64(len(a.names)), nb/float64(len(b.names))
		sim = max(sim, 0.95*min(ca, cb), 0.9*max(ca, cb))
	}
	if a.squashed != "" && b.squashed != "" {
		sim = max(sim, 0.95*EditDistance(a.squashed, b.squashed))
	}
	return min(ceiling*sim, 0.99)
}

// NormalizePostalCode returns an upper-case postal code without spaces or dashes; a US ZIP+4
// keeps its five-digit ZIP ("60302-1234" → "60302"). Idempotent.
func NormalizePostalCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(fold(s)) {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	p := strings.ToUpper(b.String())
	if len(p) == 9 && isDigits(p) && strings.Contains(s, "-") {
		p = p[:5]
	}
	return p
}

// postalSim: equal 1; one typo 0.75 (for codes of four or more characters); same first three
// characters (the same US sectional centre, UK outward district or similar) 0.5; else 0.
func postalSim(a, b string) float64 {
	switch {
	case a == "" || b == "":
		return 0
	case a == b:
		return 1
	case len(a) >= 4 && len(b) >= 4 && withinOneEdit(a, b):
		return 0.75
	case len(a) >= 5 && len(b) >= 5 && a[:3] == b[:3]:
		return 0.5
	}
	return 0
}

// regionCodes maps US state, Canadian province and Australian state names to their postal
// abbreviations.
var regionCodes = map[string]string{
	"alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca",
	"colorado": "co", "connecticut": "ct", "delaware": "de", "district of columbia": "dc",
	"florida": "fl", "georgia": "ga", "hawaii": "hi", "idaho": "id", "illinois": "il",
	"indiana": "in", "iowa": "ia", "kansas": "ks", "kentucky": "ky", "louisiana": "la",
	"maine": "me", "maryland": "md", "massachusetts": "ma", "michigan": "mi", "minnesota": "mn",
	"mississippi": "ms", "missouri": "mo", "montana": "mt", "nebraska": "ne", "nevada": "nv",
	"new hampshire": "nh", "new jersey": "nj", "new mexico": "nm", "new york": "ny",
	"north carolina": "nc", "north dakota": "nd", "ohio": "oh", "oklahoma": "ok", "oregon": "or",
	"pennsylvania": "pa", "rhode island": "ri", "south carolina": "sc", "south dakota": "sd",
	"tennessee": "tn", "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va",
	"washington": "wa", "west virginia": "wv", "wisconsin": "wi", "wyoming": "wy",
	"puerto rico": "pr", "alberta": "ab", "british columbia": "bc", "manitoba": "mb",
	"new brunswick": "nb", "newfoundland and labrador": "nl", "nova scotia": "ns", "ontario": "on",
	"prince edward island": "pe", "quebec": "qc", "saskatchewan": "sk",
	"new south wales": "nsw", "victoria": "vic", "queensland": "qld", "south australia": "sa",
	"western australia": "wa", "tasmania": "tas", "northern territory": "nt",
	"australian capital territory": "act",
}

// NormalizeRegion returns a state or province as its postal abbreviation when it is a US state,
// Canadian province or Australian state ("Illinois" → "il"), otherwise folded text. Idempotent.
func NormalizeRegion(s string) string {
	n := strings.Join(words(fold(s)), " ")
	if c, ok := regionCodes[n]; ok {
		return c
	}
	return n
}

// countryCodes maps common country names and codes to ISO 3166-1 alpha-2 (lower case).
var countryCodes = map[string]string{
	"us": "us", "usa": "us", "united states": "us", "united states of america": "us", "america": "us",
	"u s a": "us", "u s": "us", "gb": "gb", "uk": "gb", "united kingdom": "gb", "great britain": "gb",
	"england": "gb", "scotland": "gb", "wales": "gb", "britain": "gb", "de": "de", "germany": "de",
	"deutschland": "de", "fr": "fr", "france": "fr", "nl": "nl", "netherlands": "nl",
	"the netherlands": "nl", "holland": "nl", "nederland": "nl", "be": "be", "belgium": "be",
	"ca": "ca", "canada": "ca", "au": "au", "australia": "au", "nz": "nz", "new zealand": "nz",
	"ie": "ie", "ireland": "ie", "es": "es", "spain": "es", "espana": "es", "it": "it", "italy": "it",
	"italia": "it", "ch": "ch", "switzerland": "ch", "schweiz": "ch", "suisse": "ch", "at": "at",
	"austria": "at", "osterreich": "at", "se": "se", "sweden": "se", "sverige": "se", "no": "no",
	"norway": "no", "norge": "no", "dk": "dk", "denmark": "dk", "danmark": "dk", "fi": "fi",
	"finland": "fi", "suomi": "fi", "pl": "pl", "poland": "pl", "polska": "pl", "pt": "pt",
	"portugal": "pt", "br": "br", "brazil": "br", "brasil": "br", "mx": "mx", "mexico": "mx",
	"jp": "jp", "japan": "jp", "cn": "cn", "china": "cn", "in": "in", "india": "in", "sg": "sg",
	"singapore": "sg", "il": "il", "israel": "il", "za": "za", "south africa": "za",
}

// NormalizeCountry returns an ISO 3166-1 alpha-2 code for common country names and codes
// ("United States", "USA" → "us"), otherwise folded text. Idempotent.
func NormalizeCountry(s string) string {
	n := strings.Join(words(fold(s)), " ")
	if c, ok := countryCodes[n]; ok {
		return c
	}
	return n
}

// NormalizeCity returns folded city text with "saint"/"mount" abbreviated. Idempotent.
func NormalizeCity(s string) string {
	toks := words(fold(s))
	for i, t := range toks {
		switch t {
		case "saint":
			toks[i] = "st"
		case "mount":
			toks[i] = "mt"
		case "fort":
			toks[i] = "ft"
		}
	}
	return strings.Join(toks, " ")
}

// dateLayouts are the date formats NormalizeDate accepts, ISO first. Ambiguous numeric dates
// are read month first (the Salesforce US default) before day first.
var dateLayouts = []string{
	"2006-01-02", "20060102", "2006/01/02", "2006-1-2", "01/02/2006", "1/2/2006", "02/01/2006",
	"02.01.2006", "2.1.2006", "Jan 2, 2006", "January 2, 2006", "2 Jan 2006", "2 January 2006",
	"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05",
}

// NormalizeDate returns a date as "YYYY-MM-DD" when it parses in a known layout; otherwise
// its digits, so that corrupted dates ("19450493") still compare digit by digit. Idempotent.
func NormalizeDate(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Format("2006-01-02")
		}
	}
	d := digitsOnly(s)
	if len(d) == 8 && (strings.HasPrefix(d, "19") || strings.HasPrefix(d, "20")) {
		return d[:4] + "-" + d[4:6] + "-" + d[6:]
	}
	return d
}

// dateSim compares normalised dates: equal 1; day and month swapped 0.85; one digit wrong or
// two adjacent digits swapped 0.8; same year and month 0.5; otherwise 0.
func dateSim(a, b string) float64 {
	switch {
	case a == "" || b == "":
		return 0
	case a == b:
		return 1
	}
	da, db := digitsOnly(a), digitsOnly(b)
	if len(da) == 8 && len(db) == 8 {
		if da[:4] == db[:4] && da[4:6] == db[6:8] && da[6:8] == db[4:6] {
			return 0.85
		}
		if oneDigitOff(da, db) {
			return 0.8
		}
		if da[:6] == db[:6] {
			return 0.5
		}
	}
	return 0
}

// oneDigitOff: same length, one substitution or one adjacent transposition.
func oneDigitOff(a, b string) bool {
	return len(a) == len(b) && withinOneEdit(a, b)
}

// isOrdinal reports whether t is a numbered street name such as "43rd" or "132nd".
func isOrdinal(t string) bool {
	n := len(t)
	if n < 3 || !isDigits(t[:n-2]) {
		return false
	}
	switch t[n-2:] {
	case "st", "nd", "rd", "th":
		return true
	}
	return false
}
