package enrich

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/lanternhq/lantern/internal/apperr"
)

// PhoneInfo is a parsed telephone number.
type PhoneInfo struct {
	E164          string   `json:"e164" example:"+14155550100"`
	National      string   `json:"national" example:"(415) 555-0100"`
	International string   `json:"international" example:"+1 415-555-0100"`
	Type          string   `json:"type" enum:"fixed_line,mobile,fixed_line_or_mobile,toll_free,premium_rate,shared_cost,voip,personal_number,pager,uan,voicemail,unknown"`
	Region        string   `json:"region" doc:"ISO 3166 region the number belongs to" example:"US"`
	CountryCode   int32    `json:"country_code" example:"1"`
	Location      string   `json:"location,omitempty" doc:"Geographic area, when the numbering plan says" example:"California"`
	Carrier       string   `json:"carrier,omitempty" doc:"Original carrier of a mobile number, when known"`
	TimeZones     []string `json:"time_zones"`
	Extension     string   `json:"extension,omitempty"`
	Valid         bool     `json:"valid" doc:"A number in use in its region's numbering plan"`
	Possible      bool     `json:"possible" doc:"The right length for its region"`
}

var phoneTypes = map[phonenumbers.PhoneNumberType]string{
	phonenumbers.FIXED_LINE:           "fixed_line",
	phonenumbers.MOBILE:               "mobile",
	phonenumbers.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
	phonenumbers.TOLL_FREE:            "toll_free",
	phonenumbers.PREMIUM_RATE:         "premium_rate",
	phonenumbers.SHARED_COST:          "shared_cost",
	phonenumbers.VOIP:                 "voip",
	phonenumbers.PERSONAL_NUMBER:      "personal_number",
	phonenumbers.PAGER:                "pager",
	phonenumbers.UAN:                  "uan",
	phonenumbers.VOICEMAIL:            "voicemail",
	phonenumbers.UNKNOWN:              "unknown",
}

// ParsePhone parses raw as written anywhere ("+44 20 7946 0958", "(415) 555-0100",
// "tel:+1-415-555-0100;ext=12"), using region for numbers without a country code. It fails
// only when raw is not a phone number at all; a number that parses but is not in use comes
// back with Valid false.
func ParsePhone(raw, region string) (PhoneInfo, error) {
	num, err := parseNumber(raw, region)
	if err != nil {
		return PhoneInfo{}, err
	}
	info := PhoneInfo{
		E164:          phonenumbers.Format(num, phonenumbers.E164),
		National:      phonenumbers.Format(num, phonenumbers.NATIONAL),
		International: phonenumbers.Format(num, phonenumbers.INTERNATIONAL),
		Type:          phoneTypes[phonenumbers.GetNumberType(num)],
		Region:        phonenumbers.GetRegionCodeForNumber(num),
		CountryCode:   num.GetCountryCode(),
		Extension:     num.GetExtension(),
		Valid:         phonenumbers.IsValidNumber(num),
		Possible:      phonenumbers.IsPossibleNumber(num),
		TimeZones:     []string{},
	}
	if info.Valid {
		info.Location, _ = phonenumbers.GetGeocodingForNumber(num, "en")
		info.Carrier, _ = phonenumbers.GetCarrierForNumber(num, "en")
		if tz, err := phonenumbers.GetTimezonesForNumber(num); err == nil {
			for _, z := range tz {
				if z != "Etc/Unknown" {
					info.TimeZones = append(info.TimeZones, z)
				}
			}
		}
	}
	return info, nil
}

// CheckPhone says whether raw parses as a phone number, without describing it (cheap).
func CheckPhone(raw, region string) error {
	_, err := parseNumber(raw, region)
	return err
}

func parseNumber(raw, region string) (*phonenumbers.PhoneNumber, error) {
	raw = strings.TrimPrefix(strings.TrimSpace(raw), "tel:")
	region = strings.ToUpper(strings.TrimSpace(region))
	if region == "" {
		region = "ZZ" // unknown: only numbers with a country code parse
	}
	num, err := phonenumbers.Parse(raw, region)
	if err != nil {
		return nil, fmt.Errorf("%q is not a phone number: %s", raw, phoneError(err, region))
	}
	return num, nil
}

func phoneError(err error, region string) string {
	switch err {
	case phonenumbers.ErrInvalidCountryCode:
		if region == "ZZ" {
			return "no country code; start with + or give a country/default_region"
		}
		return "invalid country code"
	case phonenumbers.ErrNotANumber:
		return "not a number"
	case phonenumbers.ErrTooShortNSN, phonenumbers.ErrTooShortAfterIDD:
		return "too short"
	case phonenumbers.ErrNumTooLong:
		return "too long"
	}
	return err.Error()
}

// phoneConfidence: valid numbers are as certain as a numbering plan can make them; a number
// of the right length that no plan assigns is doubtful; anything else is contradicted.
func phoneConfidence(p PhoneInfo) float64 {
	switch {
	case p.Valid:
		return 0.95
	case p.Possible:
		return 0.3
	}
	return 0
}

// PhoneParser is the "libphonenumber" provider: it parses, validates and describes the phone
// the caller gave (ValidateRecord has already refused one that is not a number at all).
type PhoneParser struct{ DefaultRegion string }

func (PhoneParser) Name() string       { return "libphonenumber" }
func (PhoneParser) Supplies() []string { return []string{"phone"} }

func (p PhoneParser) Enrich(_ context.Context, in Input) (map[string]Result, error) {
	raw := in.Record["phone"]
	if raw == "" {
		return nil, nil
	}
	info, err := ParsePhone(raw, regionOf(in, p.DefaultRegion))
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "%s", err.Error())
	}
	return map[string]Result{"phone": {Value: info, Confidence: phoneConfidence(info),
		Source: Source{Provider: "libphonenumber", Method: "parse"}, ObservedAt: time.Now().UTC()}}, nil
}

// regionOf is the region for numbers without a country code: the record's country, the
// request's default_region, or the server's default.
func regionOf(in Input, fallback string) string {
	for _, r := range []string{in.Record["country"], in.Options.DefaultRegion, fallback} {
		if len(r) == 2 {
			return strings.ToUpper(r)
		}
	}
	return ""
}
