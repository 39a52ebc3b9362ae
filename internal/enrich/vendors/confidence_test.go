package vendors_test

import (
	"testing"

	"github.com/lanternhq/lantern/internal/enrich/vendors"
)

func TestHunterConfidence(t *testing.T) {
	cases := []struct {
		score  int
		status string
		want   float64
	}{
		{100, "valid", 0.95},
		{80, "valid", 0.8},
		{99, "", 0.8},
		{90, "webmail", 0.7},
		{95, "accept_all", 0.6},
		{40, "accept_all", 0.4},
		{88, "unknown", 0.5},
		{88, "something_new", 0.5},
		{70, "disposable", 0.2},
		{99, "invalid", 0},
		{150, "valid", 0.95},
		{-5, "valid", 0},
	}
	for _, tc := range cases {
		if got := vendors.HunterConfidence(tc.score, tc.status); got != tc.want {
			t.Errorf("HunterConfidence(%d, %q) = %v, want %v", tc.score, tc.status, got, tc.want)
		}
	}
}

func TestPDLConfidence(t *testing.T) {
	for l, want := range map[int]float64{-1: 0, 0: 0, 1: 0.1, 6: 0.6, 10: 1, 12: 1} {
		if got := vendors.PDLConfidence(l); got != want {
			t.Errorf("PDLConfidence(%d) = %v, want %v", l, got, want)
		}
	}
}

// A verified Hunter address outranks a catch-all guess and an average PDL match, and a known
// invalid address loses to everything: the point of one scale.
func TestConfidenceOrdersProviders(t *testing.T) {
	valid := vendors.HunterConfidence(97, "valid")
	catchAll := vendors.HunterConfidence(97, "accept_all")
	pdl := vendors.PDLConfidence(7)
	invalid := vendors.HunterConfidence(97, "invalid")
	if !(valid > pdl && pdl > catchAll && catchAll > invalid) {
		t.Errorf("valid %v, pdl(7) %v, catch-all %v, invalid %v", valid, pdl, catchAll, invalid)
	}
}
