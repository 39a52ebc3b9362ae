package enrich

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/testenv"
)

// vendorServer answers like Hunter (/v2/...) and People Data Labs (/v5/...), with the
// documented response shapes kept in vendors/testdata.
func vendorServer(t *testing.T, hunterFound bool) (*httptest.Server, *atomic.Int32, *atomic.Int32) {
	var hunterCalls, pdlCalls atomic.Int32
	fixture := func(name string) []byte {
		b, err := os.ReadFile("vendors/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v2/email-finder":
			hunterCalls.Add(1)
			if r.URL.Query().Get("api_key") != "hunter-key" {
				w.WriteHeader(http.StatusUnauthorized)
				w.Write(fixture("hunter_error_401.json"))
				return
			}
			if !hunterFound {
				w.Write(fixture("hunter_email_finder_empty.json"))
				return
			}
			w.Write(fixture("hunter_email_finder.json"))
		case "/v5/person/enrich":
			pdlCalls.Add(1)
			if r.Header.Get("X-Api-Key") != "pdl-key" {
				w.WriteHeader(http.StatusUnauthorized)
				w.Write(fixture("pdl_error_401.json"))
				return
			}
			w.Write(fixture("pdl_person_enrich.json"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hunterCalls, &pdlCalls
}

func vendorEngine(t *testing.T, srv *httptest.Server) (*Engine, testenv.Tenant) {
	db := testenv.DB(t)
	cfg := testenv.Config(t)
	cfg.Enrich = config.EnrichConfig{Threshold: 0.8, CacheTTL: 0, StepTimeout: cfg.Enrich.StepTimeout,
		DefaultRegion: "US", UserAgent: "LanternTest/1.0", FetchTimeout: cfg.Enrich.FetchTimeout, FetchMaxBytes: 1 << 20,
		HunterBaseURL: srv.URL + "/v2", HunterAPIKey: "hunter-key", PDLBaseURL: srv.URL + "/v5", PDLAPIKey: "pdl-key"}
	e, err := New(db, cfg.Enrich)
	if err != nil {
		t.Fatal(err)
	}
	return e, testenv.NewTenant(t, db, 100)
}

func TestVendorsInTheWaterfall(t *testing.T) {
	srv, hunterCalls, pdlCalls := vendorServer(t, true)
	e, tn := vendorEngine(t, srv)
	out, err := e.Run(context.Background(), Job{OrgID: tn.OrgID, RequestID: "r1", Service: Email,
		Record:  Record{"first_name": "Ada", "last_name": "Lovelace", "domain": "acme-robotics.example"},
		Options: Options{Providers: []string{"hunter", "pdl"}}})
	if err != nil {
		t.Fatal(err)
	}
	email := out.Fields["email"]
	v := email.Value.(map[string]any)
	// Hunter's score 94 is capped at the vendor ceiling, which meets the 0.8 threshold: PDL is
	// not paid for.
	if v["email"] != "ada@acme-robotics.example" || email.Confidence != vendorCap || email.Source.Provider != "hunter" {
		t.Fatalf("email %+v", email)
	}
	if out.Fields["title"].Value != "Chief Technology Officer" || hunterCalls.Load() != 1 || pdlCalls.Load() != 0 || out.CreditsUsed != 5 {
		t.Fatalf("title %v, calls %d/%d, credits %d", out.Fields["title"].Value, hunterCalls.Load(), pdlCalls.Load(), out.CreditsUsed)
	}
}

func TestVendorsFallThroughWhenHunterFindsNothing(t *testing.T) {
	srv, hunterCalls, pdlCalls := vendorServer(t, false)
	e, tn := vendorEngine(t, srv)
	out, err := e.Run(context.Background(), Job{OrgID: tn.OrgID, RequestID: "r2", Service: Person,
		Record:  Record{"first_name": "Ada", "last_name": "Lovelace", "domain": "acme-robotics.example"},
		Options: Options{Providers: []string{"hunter", "pdl"}}})
	if err != nil {
		t.Fatal(err)
	}
	if hunterCalls.Load() != 1 || pdlCalls.Load() != 1 {
		t.Fatalf("calls %d/%d", hunterCalls.Load(), pdlCalls.Load())
	}
	if out.Fields["email"].Source.Provider != "pdl" || out.Fields["phone"].Value.(PhoneInfo).E164 != "+14155550123" ||
		out.Fields["title"].Value != "chief technology officer" || out.CreditsUsed != 10 {
		t.Fatalf("fields %+v, credits %d", out.Fields, out.CreditsUsed)
	}
	// Hunter found nothing: an empty step that cost nothing.
	if out.Attempts[0].Provider != "hunter" || out.Attempts[0].Status != "empty" || out.Attempts[0].Credits != 0 {
		t.Fatalf("attempts %+v", out.Attempts)
	}
}
