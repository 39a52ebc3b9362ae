package api

import (
	"encoding/json"
	"fmt"

	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
)

// OpenAPI renders the API description without connecting to anything. publicURL is the
// server URL the document names.
func OpenAPI(publicURL, format string) ([]byte, error) {
	a := humachi.New(chi.NewRouter(), HumaConfig(publicURL))
	(&Server{}).Register(a)
	switch format {
	case "json":
		return json.MarshalIndent(a.OpenAPI(), "", "  ")
	case "yaml":
		return a.OpenAPI().YAML()
	}
	return nil, fmt.Errorf("--format: want json or yaml, got %q", format)
}
