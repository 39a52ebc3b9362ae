package enrich

import (
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestParsePhone(t *testing.T) {
	for _, tc := range []struct {
		raw, region string
		e164, typ   string
		valid       bool
	}{
		{"+1 415-555-0100", "", "+14155550100", "fixed_line_or_mobile", true},
		{"(650) 253-0000", "US", "+16502530000", "fixed_line_or_mobile", true},
		{"+44 20 7946 0018", "", "+442079460018", "fixed_line", true},
		{"020 7946 0018", "GB", "+442079460018", "fixed_line", true},
		{"+44 7400 123456", "", "+447400123456", "mobile", true},
		{"0800 890 011", "GB", "+44800890011", "toll_free", true},
		{"+49 30 901820", "", "+4930901820", "fixed_line", true},
		{"tel:+33-1-42-68-53-00", "", "+33142685300", "fixed_line", true},
		{"+1 650-253-0000 ext. 12", "", "+16502530000", "fixed_line_or_mobile", true},
		{"+61 2 9374 4000", "", "+61293744000", "fixed_line", true},
		{"+81 3-3224-9999", "", "+81332249999", "fixed_line", true},
	} {
		p, err := ParsePhone(tc.raw, tc.region)
		if err != nil {
			t.Errorf("%q: %v", tc.raw, err)
			continue
		}
		if p.E164 != tc.e164 || p.Type != tc.typ || p.Valid != tc.valid {
			t.Errorf("%q: got %s %s valid=%v, want %s %s valid=%v", tc.raw, p.E164, p.Type, p.Valid, tc.e164, tc.typ, tc.valid)
		}
		if p.Valid && len(p.TimeZones) == 0 {
			t.Errorf("%q: no time zones", tc.raw)
		}
	}
	p, _ := ParsePhone("+1 650-253-0000 ext. 12", "")
	if p.Extension != "12" || p.National != "(650) 253-0000 ext. 12" || p.Region != "US" || p.CountryCode != 1 {
		t.Errorf("extension/national: %+v", p)
	}
	if p, err := ParsePhone("12", "US"); err != nil || p.Valid || p.Possible {
		t.Errorf("12: %+v %v, want parsed but neither possible nor valid", p, err)
	}
	for _, bad := range []struct{ raw, region string }{{"hello", "US"}, {"650 253 0000", ""}, {"+999 1234", ""}} {
		if _, err := ParsePhone(bad.raw, bad.region); err == nil {
			t.Errorf("%q (%s) parsed", bad.raw, bad.region)
		}
	}
}

// TestPhoneCoverage: every region's example number of every type parses, validates and
// round-trips through E.164.
func TestPhoneCoverage(t *testing.T) {
	regions, numbers, nationalMisses := 0, 0, 0
	for region := range phonenumbers.GetSupportedRegions() {
		regions++
		for typ, name := range phoneTypes {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			numbers++
			e164 := phonenumbers.Format(ex, phonenumbers.E164)
			p, err := ParsePhone(e164, "")
			if err != nil || !p.Valid || p.E164 != e164 {
				t.Errorf("%s %s example %s: %+v %v", region, name, e164, p, err)
				continue
			}
			// Also from the national format with the region as default: informational, since
			// a few plans (Argentina's mobile "15") format nationally in a way parsing reads
			// differently.
			if nat, err := ParsePhone(phonenumbers.Format(ex, phonenumbers.NATIONAL), region); err != nil || nat.E164 != e164 {
				nationalMisses++
			}
		}
	}
	t.Logf("phone coverage: %d example numbers across %d regions parse, validate and round-trip through E.164; %d do not round-trip from their national format",
		numbers, regions, nationalMisses)
	if regions < 240 || numbers < 1000 {
		t.Fatalf("only %d regions / %d numbers", regions, numbers)
	}
}
