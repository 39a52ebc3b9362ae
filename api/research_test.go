package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/testenv"
	lworker "github.com/lanternhq/lantern/worker"
)

// researchStack is an API and a worker on the Temporal dev server, with a test model, a
// SearXNG server and a site of pages to read.
func researchStack(t *testing.T) (*testServer, *testenv.LLM, testenv.Tenant) {
	db := testenv.DB(t)
	site := testenv.Site(t, map[string]string{
		"/robots.txt": "User-agent: *\nDisallow: /private\n",
		"/about":      `<html><head><title>About Acme</title></head><body><nav>menu</nav><p>Acme builds industrial robots for car makers.</p></body></html>`,
		"/private":    `<html><body>secret</body></html>`,
	})
	press := testenv.Site(t, map[string]string{
		"/team": `<html><head><title>Acme team</title></head><body><p>Jane Roe leads sales at Acme since 2021.</p><script>var x=1</script></body></html>`,
	})
	searx := testenv.NewSearXNG(t, func(q string) []testenv.SearchHit {
		return []testenv.SearchHit{{URL: site.URL + "/about", Title: "About Acme"}, {URL: press.URL + "/team", Title: "Team"},
			{URL: site.URL + "/private", Title: "Private"}, {URL: "javascript:alert(1)", Title: "bad"}}
	})
	model := testenv.NewLLM(t, 1000, func(req testenv.LLMRequest) any {
		switch req.SchemaName() {
		case "research_plan":
			return map[string]any{"queries": []string{"Acme products", "Acme sales leadership"}}
		case "page_notes":
			if strings.Contains(req.User(), "robots") {
				return map[string]any{"notes": []any{map[string]string{"claim": "Acme builds robots for car makers", "quote": "Acme builds industrial robots for car makers."}}}
			}
			return map[string]any{"notes": []any{map[string]string{"claim": "Jane Roe leads sales", "quote": "Jane Roe leads sales at Acme since 2021."}}}
		}
		return "Acme builds industrial robots for car makers [1]. Jane Roe leads its sales [2]."
	})
	cfg := testenv.Config(t)
	generous(cfg)
	withLLM(model)(cfg)
	cfg.Enrich.SearXNGURL = searx.URL
	cfg.Enrich.FetchAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	cfg.TemporalTaskQueue = testenv.TaskQueue(t)
	eng, err := enrich.New(db, cfg.Enrich)
	if err != nil {
		t.Fatal(err)
	}
	tc := testenv.Temporal(t)
	w := worker.New(tc, cfg.TemporalTaskQueue, worker.Options{})
	lworker.Register(w, cfg, lworker.Deps{DB: db, Enrich: eng})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	srv := New(Deps{Config: cfg, DB: db, Temporal: tc, Enrich: eng})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testServer{Server: hs, srv: srv}, model, testenv.NewTenant(t, db, 1000)
}

func TestResearchEndToEnd(t *testing.T) {
	ts, model, tn := researchStack(t)
	body := `{"record_id":"acct-1","question":"What does Acme sell and who leads sales?","company":"Acme","domain":"acme.test","max_credits":50}`
	r := ts.call(t, http.MethodPost, "/v1/enrich/research", tn.Secret, body)
	m := r.json(t)
	if r.StatusCode != http.StatusOK || m["status"] != "complete" {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	data := m["data"].(map[string]any)
	report := data["report"].(string)
	if !strings.Contains(report, "[1]") || !strings.Contains(report, "## Sources") || !strings.Contains(report, "/about") {
		t.Fatalf("report: %s", report)
	}
	if cites := data["citations"].([]any); len(cites) != 2 {
		t.Fatalf("citations %v", cites)
	}
	// Steps: plan, two searches, three pages (one refused by robots.txt), the report.
	steps := m["providers"].([]any)
	var refused bool
	for _, s := range steps {
		st := s.(map[string]any)
		if st["status"] == "error" && strings.Contains(st["error"].(string), "robots.txt") {
			refused = true
		}
	}
	if len(steps) != 7 || !refused {
		t.Fatalf("steps %v", steps)
	}
	// The credits reported are the credits debited, and within max_credits.
	used := int64(m["credits_used"].(float64))
	var debited int64
	if err := ts.srv.db.NewRaw("SELECT -coalesce(sum(amount),0) FROM credit_ledger WHERE org_id = ? AND kind = 'debit'", tn.OrgID).Scan(context.Background(), &debited); err != nil {
		t.Fatal(err)
	}
	if used == 0 || used != debited || used > 50 {
		t.Fatalf("credits_used %d, debited %d", used, debited)
	}
	calls := len(model.Requests())

	// Asked again about the same record: cached, free, no model call.
	r = ts.call(t, http.MethodPost, "/v1/enrich/research", tn.Secret, body)
	if m := r.json(t); m["cached"] != true || m["credits_used"] != float64(0) || len(model.Requests()) != calls {
		t.Fatalf("cache: %s", r.body)
	}
	if b, _ := credits.Balance(context.Background(), ts.srv.db, tn.OrgID); b != 1000-debited {
		t.Fatalf("balance %d", b)
	}
}

func TestResearchAnswers202ThenPolls(t *testing.T) {
	ts, _, tn := researchStack(t)
	req := func(key string) reply {
		hr, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/enrich/research",
			strings.NewReader(`{"question":"Who leads sales at Acme?","company":"Acme","options":{"wait_seconds":0}}`))
		hr.Header.Set("Authorization", "Bearer "+tn.Secret)
		hr.Header.Set("Content-Type", "application/json")
		hr.Header.Set("Idempotency-Key", key)
		resp, err := ts.Client().Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return reply{resp, []byte(b.String())}
	}
	r := req("k-1")
	m := r.json(t)
	if r.StatusCode != http.StatusAccepted || m["status"] != "running" || m["id"] == "" || !strings.HasSuffix(m["status_url"].(string), m["id"].(string)) {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	id := m["id"].(string)
	// The same idempotency key is the same run.
	if again := req("k-1").json(t); again["id"] != id {
		t.Fatalf("repeat started another run: %v vs %s", again["id"], id)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := ts.get(t, "/v1/enrich/research/"+id, tn.Secret)
		m := r.json(t)
		if m["status"] == "complete" {
			if !strings.Contains(m["data"].(map[string]any)["report"].(string), "[2]") {
				t.Fatalf("report %v", m["data"])
			}
			break
		}
		if m["status"] != "running" || m["progress"] == nil || time.Now().After(deadline) {
			t.Fatalf("poll: %s", r.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Another org cannot see it.
	other := testenv.NewTenant(t, ts.srv.db, 10)
	problem(t, ts.get(t, "/v1/enrich/research/"+id, other.Secret), http.StatusNotFound, "not_found")
}

func TestResearchNeedsSearchAndModel(t *testing.T) {
	db := testenv.DB(t)
	tn := testenv.NewTenant(t, db, 100)
	model := testenv.NewLLM(t, 10, func(testenv.LLMRequest) any { return "" })
	for setting, mod := range map[string]func(*config.Config){
		"LANTERN_LLM_BASE_URL": func(*config.Config) {},
		"LANTERN_SEARXNG_URL":  withLLM(model),
	} {
		cfg := testenv.Config(t)
		generous(cfg)
		mod(cfg)
		eng, err := enrich.New(db, cfg.Enrich)
		if err != nil {
			t.Fatal(err)
		}
		srv := New(Deps{Config: cfg, DB: db, Temporal: testenv.Temporal(t), Enrich: eng})
		ts := &testServer{Server: httptest.NewServer(srv.Handler()), srv: srv}
		m := problem(t, ts.call(t, http.MethodPost, "/v1/enrich/research", tn.Secret, `{"question":"Who is Acme?"}`), http.StatusNotImplemented, "not_configured")
		if !strings.Contains(m["detail"].(string), setting) {
			t.Errorf("detail %q does not name %s", m["detail"], setting)
		}
		ts.Close()
	}
}
