package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/testenv"
)

func TestHealthReadyAndDocs(t *testing.T) {
	db := testenv.DB(t)
	cfg := testenv.Config(t)
	srv := New(Deps{Config: cfg, DB: db, Temporal: testenv.Temporal(t), Store: testenv.Store(t)})
	ts := &testServer{Server: httptest.NewServer(srv.Handler()), srv: srv}
	defer ts.Close()

	if r := ts.get(t, "/healthz", ""); r.StatusCode != http.StatusOK || r.json(t)["success"] != true {
		t.Fatalf("healthz: %d %s", r.StatusCode, r.body)
	}
	r := ts.get(t, "/readyz", "")
	m := r.json(t)
	checks, _ := m["checks"].(map[string]any)
	if r.StatusCode != http.StatusOK || len(checks) != 3 {
		t.Fatalf("readyz: %d %s", r.StatusCode, r.body)
	}
	for _, name := range []string{"postgres", "temporal", "s3"} {
		if c, _ := checks[name].(map[string]any); c["status"] != "ok" {
			t.Fatalf("readyz %s: %v", name, checks[name])
		}
	}
	if r := ts.get(t, "/docs", ""); r.StatusCode != http.StatusOK || !strings.Contains(string(r.body), "openapi") {
		t.Fatalf("docs: %d", r.StatusCode)
	}
	if r := ts.get(t, "/openapi.yaml", ""); r.StatusCode != http.StatusOK || !strings.Contains(string(r.body), "openapi: 3.1") {
		t.Fatalf("openapi.yaml: %d %.100s", r.StatusCode, r.body)
	}
	if r := ts.get(t, "/v1/nope", ""); r.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %d", r.StatusCode)
	} else {
		problem(t, r, http.StatusNotFound, "not_found")
	}

	r = ts.get(t, "/openapi.json", "")
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                    `json:"operationId"`
			Security    []map[string][]string     `json:"security"`
			Responses   map[string]map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	for path, ops := range doc.Paths {
		for method, o := range ops {
			if o.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
			}
			if !strings.HasPrefix(path, "/v1/") {
				continue
			}
			if len(o.Security) == 0 {
				t.Errorf("%s %s is not marked as bearer-authenticated", method, path)
			}
			for status, resp := range o.Responses {
				if !strings.HasPrefix(status, "2") {
					continue
				}
				hdrs, _ := resp["headers"].(map[string]any)
				for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Credits-Remaining", "X-Request-ID"} {
					if hdrs[h] == nil {
						t.Errorf("%s %s: %s response does not document %s", method, path, status, h)
					}
				}
			}
			if o.Responses["429"] == nil || o.Responses["401"] == nil {
				t.Errorf("%s %s: 401/429 not documented", method, path)
			}
		}
	}
	// `lantern openapi` writes the same document the server serves.
	b, err := OpenAPI(cfg.PublicURL, "json")
	if err != nil {
		t.Fatal(err)
	}
	var written map[string]any
	json.Unmarshal(b, &written)
	if len(written["paths"].(map[string]any)) != len(doc.Paths) {
		t.Fatalf("openapi command has %d paths, server %d", len(written["paths"].(map[string]any)), len(doc.Paths))
	}
}
