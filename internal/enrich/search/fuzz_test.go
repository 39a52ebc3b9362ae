package search_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lanternhq/lantern/internal/enrich/search"
)

// FuzzParseResponse: whatever an instance (or something posing as one) sends, parsing must
// not panic.
func FuzzParseResponse(f *testing.F) {
	for _, name := range []string{"searxng_search.json", "searxng_search_answers.json", "searx_legacy_answers.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"results":[{"score":"1e999","publishedDate":"0001-01-01"}],"unresponsive_engines":[[],[1]]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = search.ParseResponse(body)
	})
}
