package vendors_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lanternhq/lantern/internal/enrich/vendors"
)

// FuzzParseVendorBodies: vendor answers are outside input; no body may panic a parser.
func FuzzParseVendorBodies(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"data":{"work_email":[true],"personal_emails":[1,"a",null],"location":"x"},"likelihood":"1e999"}`))
	f.Add([]byte(`{"employee_count":1e300,"founded":-1e20,"location":{"name":true},"tags":true}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = vendors.ParseHunterFinder(200, body)
		_, _ = vendors.ParseHunterVerifier(200, body)
		_, _, _ = vendors.ParseHunterError(400, body)
		_, _ = vendors.ParsePDLPerson(200, body)
		_, _ = vendors.ParsePDLCompany(200, body)
		_, _, _ = vendors.ParsePDLError(404, body)
	})
}
