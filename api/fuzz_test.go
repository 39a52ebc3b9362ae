package api

import (
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
)

// FuzzParseInstant: any query value is either a time in range or an invalid_input error
// naming the field; never a panic.
func FuzzParseInstant(f *testing.F) {
	for _, s := range []string{"2025-09-18", "2025-09-18T16:12:00Z", "2025-09-18T16:12:00.123+02:00", "2025-09-18T16:12",
		"2025-13-01", "yesterday", "", "0000-01-01", "9999-12-31T23:59:59Z", "2025-09-18T16:12:00+0530"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, end := range []bool{false, true} {
			got, err := parseInstant("query.from", v, end)
			if err != nil {
				if ae, ok := apperr.As(err); !ok || ae.Code != apperr.Invalid || ae.Field != "query.from" {
					t.Fatalf("%q: %v", v, err)
				}
				continue
			}
			if got.Location() != time.UTC || got.Year() < 1970 || got.Year() > 10000 {
				t.Fatalf("%q -> %v", v, got)
			}
		}
	})
}
