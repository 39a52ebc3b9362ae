package match

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region assumed for phone numbers written without a country code when
// the caller gives none (Options.DefaultRegion).
const DefaultRegion = "US"

// PhoneSections are the parts of a phone number compared separately, so that "386-5286" can
// match "(773) 386-5286" when one record omits the area code.
type PhoneSections struct {
	Country    string `json:"country,omitempty"`    // calling code, "1" for NANP, "44" for the UK
	Area       string `json:"area,omitempty"`       // national destination (area) code, "" if not dialled
	Subscriber string `json:"subscriber,omitempty"` // the rest of the national number
	E164       string `json:"e164,omitempty"`       // "+17733865286"; "" unless the number is complete
}

// Empty reports whether no number was found.
func (p PhoneSections) Empty() bool { return p.Subscriber == "" }

// NormalizePhone returns the E.164 form of a phone number ("+14155550123"), reading numbers
// without a country code as numbers of region (an ISO 3166 code; "" means DefaultRegion).
// Numbers that cannot be complete (too short, a local number without its area code,
// not a number) give "". Extensions are dropped. Idempotent.
func NormalizePhone(s, region string) string {
	return SplitPhone(s, region).E164
}

// SplitPhone parses a phone number into its sections with github.com/nyaruka/phonenumbers
// (a port of Google's libphonenumber). A local number ("386-5286" in the US) keeps its
// subscriber number and country but no area code and no E.164 form; text that does not parse
// keeps its digits as the subscriber number so that identical junk still compares equal.
func SplitPhone(s, region string) PhoneSections {
	s = strings.TrimSpace(s)
	if s == "" {
		return PhoneSections{}
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	if region == "" {
		region = DefaultRegion
	}
	main, _ := phonenumbers.MaybeSeparateExtensionFromPhone(s)
	digits := digitsOnly(main)
	if len(digits) < 4 || len(digits) > 17 {
		return PhoneSections{}
	}
	num, err := phonenumbers.Parse(main, region)
	if err != nil {
		return PhoneSections{Subscriber: digits}
	}
	cc := strconv.Itoa(int(num.GetCountryCode()))
	nsn := phonenumbers.GetNationalSignificantNumber(num)
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.IS_POSSIBLE:
		n := phonenumbers.GetLengthOfNationalDestinationCode(num)
		if n == 0 && cc == "1" && len(nsn) == 10 {
			n = 3 // NANP numbers outside allocated ranges still have a 3-digit area code
		}
		if n >= len(nsn) {
			n = 0
		}
		return PhoneSections{Country: cc, Area: nsn[:n], Subscriber: nsn[n:], E164: "+" + cc + nsn}
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return PhoneSections{Country: cc, Subscriber: nsn}
	}
	return PhoneSections{Subscriber: digits}
}

// PhoneSimilarity compares two numbers section by section (see phoneSim).
func PhoneSimilarity(a, b, region string) float64 {
	return phoneSim(SplitPhone(a, region), SplitPhone(b, region))
}

// phoneSim scores two parsed numbers:
//
//	1.0  same complete number
//	0.9  same subscriber number and country, one side without its area code
//	0.8  same digits where neither side could be parsed as a number
//	0.6  same country and area, subscriber numbers one typo apart
//	0.4  same subscriber number under a different area code
//	0    otherwise (including different countries)
func phoneSim(a, b PhoneSections) float64 {
	if a.Empty() || b.Empty() {
		return 0
	}
	if a.E164 != "" && a.E164 == b.E164 {
		return 1
	}
	if a.Country != "" && b.Country != "" && a.Country != b.Country {
		return 0
	}
	if a.Country == "" || b.Country == "" {
		// At least one side is unparsed digits: compare the digits that both carry.
		da, db := a.Area+a.Subscriber, b.Area+b.Subscriber
		if da == db || (len(da) >= 7 && len(db) >= 7 && (strings.HasSuffix(da, db) || strings.HasSuffix(db, da))) {
			return 0.8
		}
		return 0
	}
	switch {
	case a.Area == "" || b.Area == "":
		if a.Subscriber == b.Subscriber {
			return 0.9
		}
		// A complete number whose last digits are the local number.
		if a.Area == "" && strings.HasSuffix(b.Area+b.Subscriber, a.Subscriber) && len(a.Subscriber) >= 7 {
			return 0.9
		}
		if b.Area == "" && strings.HasSuffix(a.Area+a.Subscriber, b.Subscriber) && len(b.Subscriber) >= 7 {
			return 0.9
		}
	case a.Area == b.Area:
		if withinOneEdit(a.Subscriber, b.Subscriber) {
			return 0.6
		}
	case a.Subscriber == b.Subscriber:
		return 0.4
	}
	return 0
}
