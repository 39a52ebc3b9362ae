package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/objectstore"
	"github.com/lanternhq/lantern/internal/tenancy"
	"github.com/lanternhq/lantern/internal/testenv"
	lworker "github.com/lanternhq/lantern/worker"
)

// batchStack is an API and a worker on the real Postgres, Temporal dev server and S3.
type batchStack struct {
	*testServer
	db      *bun.DB
	cfg     *config.Config
	store   *objectstore.Store
	tn      testenv.Tenant
	startW  func(store *objectstore.Store) worker.Worker // starts another worker on the queue
	workers []worker.Worker
}

func newBatchStack(t testing.TB, balance int64, mod func(*config.Config)) *batchStack {
	db := testenv.DB(t)
	cfg := testenv.Config(t)
	cfg.TemporalTaskQueue = testenv.TaskQueue(t)
	cfg.Enrich.FetchAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	if mod != nil {
		mod(cfg)
	}
	eng, err := enrich.New(db, cfg.Enrich)
	if err != nil {
		t.Fatal(err)
	}
	tc := testenv.Temporal(t)
	st := testenv.Store(t)
	bs := &batchStack{db: db, cfg: cfg, store: st}
	bs.startW = func(store *objectstore.Store) worker.Worker {
		w := worker.New(tc, cfg.TemporalTaskQueue, worker.Options{})
		lworker.Register(w, cfg, lworker.Deps{DB: db, Enrich: eng, Store: store})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		bs.workers = append(bs.workers, w)
		return w
	}
	t.Cleanup(func() {
		for _, w := range bs.workers {
			w.Stop()
		}
	})
	srv := New(Deps{Config: cfg, DB: db, Temporal: tc, Store: st, Enrich: eng})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	bs.testServer = &testServer{Server: hs, srv: srv}
	bs.tn = testenv.NewTenant(t, db, balance)
	return bs
}

// hunterStub answers Hunter's email finder after delay, in its documented shape.
func hunterStub(t testing.TB, delay time.Duration, calls *atomic.Int64) *httptest.Server {
	body, err := os.ReadFile("../internal/enrich/vendors/testdata/hunter_email_finder.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls != nil {
			calls.Add(1)
		}
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func withHunter(srv *httptest.Server) func(*config.Config) {
	return func(c *config.Config) {
		c.Enrich.HunterBaseURL, c.Enrich.HunterAPIKey = srv.URL+"/v2", "hunter-key"
	}
}

func phoneRecords(n int) string {
	recs := make([]string, n)
	for i := range recs {
		recs[i] = fmt.Sprintf(`{"record_id":"p-%d","phone":"+1 650-253-%04d"}`, i, i%10000)
	}
	return "[" + strings.Join(recs, ",") + "]"
}

func emailRecords(n int) string {
	recs := make([]string, n)
	for i := range recs {
		recs[i] = fmt.Sprintf(`{"record_id":"e-%d","first_name":"Ada","last_name":"Lovelace%d","domain":"acme-robotics.example"}`, i, i)
	}
	return "[" + strings.Join(recs, ",") + "]"
}

// submit posts a batch and returns its 202 body.
func (bs *batchStack) submit(t testing.TB, typ, body string) map[string]any {
	t.Helper()
	r := bs.post(t, "/v1/agents/"+typ+"/batch", body, "")
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d %s", r.StatusCode, r.body)
	}
	var m map[string]any
	json.Unmarshal(r.body, &m)
	return m
}

func (bs *batchStack) post(t testing.TB, path, body, idemKey string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, bs.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bs.tn.Secret)
	req.Header.Set("Content-Type", "application/json")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := bs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp, b}
}

func (bs *batchStack) status(t testing.TB, id string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, bs.URL+"/v1/agents/batches/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+bs.tn.Secret)
	resp, err := bs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &m) != nil {
		t.Fatalf("status: %d %s", resp.StatusCode, b)
	}
	return m
}

// wait polls the batch until it has ended.
func (bs *batchStack) wait(t testing.TB, id string, limit time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		m := bs.status(t, id)
		switch m["state"] {
		case "completed", "budget_exhausted", "cancelled", "failed":
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch still %v after %s: %v", m["state"], limit, m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// download fetches a presigned URL with a plain client: no API key, no S3 credentials.
func download(t testing.TB, u string) []byte {
	t.Helper()
	if u == "" {
		t.Fatal("no presigned URL")
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET presigned: %d %s", resp.StatusCode, b)
	}
	return b
}

// resultLines reads results.jsonl and fails on a record that appears twice.
func resultLines(t testing.TB, b []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		id := m["record_id"].(string)
		if _, dup := out[id]; dup {
			t.Fatalf("record %s appears twice in results.jsonl", id)
		}
		out[id] = m
	}
	return out
}

// ledgerNet is what the org's ledger says the batch cost: debits minus refunds.
func ledgerNet(t testing.TB, db bun.IDB, bs *batchStack) int64 {
	var net int64
	if err := db.NewRaw("SELECT -coalesce(sum(amount),0) FROM credit_ledger WHERE org_id = ? AND kind IN ('debit','refund')", bs.tn.OrgID).
		Scan(context.Background(), &net); err != nil {
		t.Fatal(err)
	}
	return net
}

func urls(m map[string]any) map[string]any { u, _ := m["urls"].(map[string]any); return u }

func TestBatchPhoneEndToEnd(t *testing.T) {
	bs := newBatchStack(t, 1000, nil)
	bs.startW(bs.store)
	m := bs.submit(t, "phone", `{"records":`+phoneRecords(40)+`,"max_credits":500}`)
	id := m["batch_id"].(string)
	s3 := m["s3"].(map[string]any)
	if m["status_url"] != bs.cfg.PublicURL+"/v1/agents/batches/"+id || s3["bucket"] != bs.store.Bucket() ||
		!strings.HasSuffix(s3["objects"].(map[string]any)["input"].(string), id+"/input.json") {
		t.Fatalf("202 body: %v", m)
	}
	// The claim check: the input is in S3 by the time the call answers.
	if _, err := bs.store.Get(context.Background(), s3["objects"].(map[string]any)["input"].(string)); err != nil {
		t.Fatal(err)
	}
	st := bs.wait(t, id, time.Minute)
	if st["state"] != "completed" || st["processed"] != float64(40) || st["succeeded"] != float64(40) || st["failed"] != float64(0) {
		t.Fatalf("status: %v", st)
	}
	lines := resultLines(t, download(t, urls(st)["results"].(string)))
	if len(lines) != 40 {
		t.Fatalf("%d result lines", len(lines))
	}
	l := lines["p-7"]
	if l["success"] != true || l["credits_used"] != float64(1) || l["cached"] != false ||
		l["data"].(map[string]any)["phone"] == nil {
		t.Fatalf("line: %v", l)
	}
	var costs struct {
		Total      int64            `json:"total_credits"`
		Reserved   int64            `json:"credits_reserved"`
		Refunded   int64            `json:"credits_refunded"`
		ByService  map[string]int64 `json:"by_service"`
		ByProvider map[string]int64 `json:"by_provider"`
		ByRecord   []struct {
			RecordID string `json:"record_id"`
			Credits  int64  `json:"credits"`
		} `json:"by_record"`
	}
	json.Unmarshal(download(t, urls(st)["costs"].(string)), &costs)
	if costs.Total != 40 || costs.ByService["enrich.phone"] != 40 || costs.ByProvider["libphonenumber"] != 40 ||
		len(costs.ByRecord) != 40 || costs.Reserved != 500 || costs.Refunded != 460 {
		t.Fatalf("costs: %+v", costs)
	}
	var sum map[string]any
	json.Unmarshal(download(t, urls(st)["summary"].(string)), &sum)
	if sum["state"] != "completed" || sum["processed"] != float64(40) || sum["credits_used"] != float64(40) {
		t.Fatalf("summary: %v", sum)
	}
	// The ledger: one reservation, one refund; the org paid exactly what the records cost.
	if net := ledgerNet(t, bs.db, bs); net != 40 {
		t.Fatalf("ledger net %d", net)
	}
	if b, _ := credits.Balance(context.Background(), bs.db, bs.tn.OrgID); b != 960 {
		t.Fatalf("balance %d", b)
	}
	// The list shows it; another org does not see it.
	r := bs.get(t, "/v1/agents/batches", bs.tn.Secret)
	if !strings.Contains(string(r.body), id) {
		t.Fatalf("list: %s", r.body)
	}
	other := testenv.NewTenant(t, bs.db, 10)
	problem(t, bs.get(t, "/v1/agents/batches/"+id, other.Secret), http.StatusNotFound, "not_found")
	if r := bs.get(t, "/v1/agents/batches", other.Secret); strings.Contains(string(r.body), id) {
		t.Fatalf("other org lists the batch: %s", r.body)
	}
}

func TestBatchBadInput(t *testing.T) {
	bs := newBatchStack(t, 100, generous)
	cases := []struct{ path, body, want string }{
		{"/v1/agents/phone/batch", `{"records":[]}`, "body.records"},
		{"/v1/agents/phone/batch", `{"records":` + phoneRecords(1001) + `}`, "body.records"},
		{"/v1/agents/phone/batch", `{"records":[{"record_id":"a","phone":"+16502530000"},{"record_id":"a","phone":"+16502530001"}]}`, `duplicate record_id \"a\"`},
		{"/v1/agents/phone/batch", `{"records":[{"record_id":"a","phone":"+16502530000"},{"record_id":"b","phone":"call me"}]}`, "body.records[1].phone"},
		{"/v1/agents/phone/batch", `{"records":[{"record_id":"a"}]}`, "body.records[0].phone"},
		{"/v1/agents/email/batch", `{"records":[{"record_id":"a","first_name":"Ada"}]}`, "body.records[0].email"},
		{"/v1/agents/fax/batch", `{"records":[{"record_id":"a","phone":"+16502530000"}]}`, "path.type"},
		{"/v1/agents/phone/batch", `{"records":[{"record_id":"a","phone":"+16502530000"}],"callback_url":"ftp://example.com/x"}`, "body.callback_url"},
		{"/v1/agents/phone/batch", `{"records":[{"record_id":"a","phone":"+16502530000"}],"callback_url":"http://10.0.0.5/hook"}`, "body.callback_url"},
		{"/v1/agents/phone/batch", `{"records":[{"record_id":"a","phone":"+16502530000"}],"max_credits":-1}`, "body.max_credits"},
	}
	for _, c := range cases {
		r := bs.post(t, c.path, c.body, "")
		if r.StatusCode < 400 || r.StatusCode > 499 || !strings.Contains(string(r.body), c.want) {
			t.Errorf("%s %.80s: %d %s (want a 4xx naming %s)", c.path, c.body, r.StatusCode, r.body, c.want)
		}
	}
	var n int
	bs.db.NewRaw("SELECT count(*) FROM batches").Scan(context.Background(), &n)
	if n != 0 {
		t.Fatalf("%d batches created from bad input", n)
	}
}

func TestBatchIdempotencyAndRateLimit(t *testing.T) {
	withinOneMinute(t, 10)
	bs := newBatchStack(t, 100, nil) // the seed's async limit: 1 batch per minute per key
	body := `{"records":` + phoneRecords(3) + `}`
	a := bs.post(t, "/v1/agents/phone/batch", body, "job-1")
	b := bs.post(t, "/v1/agents/phone/batch", body, "job-1")
	if a.StatusCode != http.StatusAccepted {
		t.Fatalf("%d %s", a.StatusCode, a.body)
	}
	// The repeat is rate limited before it is even looked at; lift the key's limit to see the replay.
	problem(t, b, http.StatusTooManyRequests, "rate_limited")
	if err := tenancy.SetKeyLimits(context.Background(), bs.db, bs.tn.OrgID, bs.tn.KeyID, map[string]int{"async": 100}); err != nil {
		t.Fatal(err)
	}
	bs.srv.auth.Forget()
	b = bs.post(t, "/v1/agents/phone/batch", body, "job-1")
	if b.StatusCode != http.StatusAccepted || a.json(t)["batch_id"] != b.json(t)["batch_id"] {
		t.Fatalf("replay: %d %s vs %s", b.StatusCode, b.body, a.body)
	}
	problem(t, bs.post(t, "/v1/agents/phone/batch", `{"records":`+phoneRecords(4)+`}`, "job-1"), http.StatusConflict, "conflict")
	var n int
	bs.db.NewRaw("SELECT count(*) FROM batches WHERE org_id = ?", bs.tn.OrgID).Scan(context.Background(), &n)
	if n != 1 {
		t.Fatalf("%d batches", n)
	}
}

func TestBatchStopsAtMaxCredits(t *testing.T) {
	bs := newBatchStack(t, 1000, func(c *config.Config) { generous(c); c.BatchConcurrency = 4 })
	bs.startW(bs.store)
	m := bs.submit(t, "phone", `{"records":`+phoneRecords(30)+`,"max_credits":7}`)
	st := bs.wait(t, m["batch_id"].(string), time.Minute)
	if st["state"] != "budget_exhausted" || st["credits_used"] != float64(7) || !strings.Contains(st["message"].(string), "max_credits") {
		t.Fatalf("status: %v", st)
	}
	if net := ledgerNet(t, bs.db, bs); net != 7 {
		t.Fatalf("charged %d of max_credits 7", net)
	}
	var sum map[string]any
	json.Unmarshal(download(t, urls(st)["summary"].(string)), &sum)
	if sum["skipped"].(float64) == 0 || sum["processed"].(float64)+sum["skipped"].(float64) != 30 {
		t.Fatalf("summary: %v", sum)
	}
}

func TestBatchCancelKeepsPartialResults(t *testing.T) {
	hunter := hunterStub(t, 150*time.Millisecond, nil)
	bs := newBatchStack(t, 10000, func(c *config.Config) {
		generous(c)
		withHunter(hunter)(c)
		c.BatchConcurrency, c.BatchChunkSize = 2, 10
	})
	bs.startW(bs.store)
	m := bs.submit(t, "email", `{"records":`+emailRecords(200)+`,"options":{"providers":["hunter"]}}`)
	id := m["batch_id"].(string)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if st := bs.status(t, id); st["processed"].(float64) >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no progress")
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := bs.call(t, http.MethodDelete, "/v1/agents/batches/"+id, bs.tn.Secret, "")
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("cancel: %d %s", r.StatusCode, r.body)
	}
	st := bs.wait(t, id, 30*time.Second)
	processed := int(st["processed"].(float64))
	if st["state"] != "cancelled" || processed < 10 || processed >= 200 {
		t.Fatalf("status: %v", st)
	}
	lines := resultLines(t, download(t, urls(st)["results"].(string)))
	if len(lines) != processed {
		t.Fatalf("%d lines for %d processed", len(lines), processed)
	}
	if net := ledgerNet(t, bs.db, bs); net != int64(st["credits_used"].(float64)) || net != int64(5*processed) {
		t.Fatalf("ledger %d, credits_used %v, processed %d", net, st["credits_used"], processed)
	}
	problem(t, bs.call(t, http.MethodDelete, "/v1/agents/batches/"+id, bs.tn.Secret, ""), http.StatusConflict, "conflict")
}

func TestBatchCallbackIsSigned(t *testing.T) {
	var mu sync.Mutex
	var got []byte
	var sig string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got, _ = io.ReadAll(r.Body)
		sig = r.Header.Get("X-Lantern-Signature")
	}))
	defer recv.Close()
	bs := newBatchStack(t, 100, generous)
	bs.startW(bs.store)
	m := bs.submit(t, "phone", `{"records":`+phoneRecords(2)+`,"callback_url":"`+recv.URL+`/hook"}`)
	secret, _ := m["callback_secret"].(string)
	bs.wait(t, m["batch_id"].(string), time.Minute)
	var body []byte
	var header string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		body, header = got, sig
		mu.Unlock()
		if body != nil {
			break
		}
	}
	var ts, v1 string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	if secret == "" || v1 == "" || !hmac.Equal([]byte(v1), []byte(hex.EncodeToString(mac.Sum(nil)))) ||
		!strings.Contains(string(body), `"state": "completed"`) {
		t.Fatalf("callback %q signed %q (secret %q)", body, header, secret)
	}
}

// TestBatchResearch runs a research batch: each record is a child research run whose steps
// are charged against the batch's reservation.
func TestBatchResearch(t *testing.T) {
	site := testenv.Site(t, map[string]string{
		"/about": `<html><head><title>About Acme</title></head><body><p>Acme builds industrial robots for car makers.</p></body></html>`,
	})
	searx := testenv.NewSearXNG(t, func(q string) []testenv.SearchHit {
		return []testenv.SearchHit{{URL: site.URL + "/about", Title: "About Acme"}}
	})
	model := testenv.NewLLM(t, 1000, func(req testenv.LLMRequest) any {
		switch req.SchemaName() {
		case "research_plan":
			return map[string]any{"queries": []string{"Acme products"}}
		case "page_notes":
			return map[string]any{"notes": []any{map[string]string{"claim": "Acme builds robots", "quote": "Acme builds industrial robots for car makers."}}}
		}
		return "Acme builds industrial robots [1]."
	})
	bs := newBatchStack(t, 10000, func(c *config.Config) {
		generous(c)
		withLLM(model)(c)
		c.Enrich.SearXNGURL = searx.URL
		c.BatchConcurrency = 2
	})
	bs.startW(bs.store)
	m := bs.submit(t, "research", `{"question":"What does the company sell?","max_credits":500,"records":[
		{"record_id":"r1","company":"Acme","domain":"acme.test"},
		{"record_id":"r2","company":"Acme Two","domain":"acme2.test","question":"Who leads sales?"},
		{"record_id":"r3","company":"Acme Three","domain":"acme3.test"}]}`)
	st := bs.wait(t, m["batch_id"].(string), 2*time.Minute)
	if st["state"] != "completed" || st["succeeded"] != float64(3) {
		t.Fatalf("status: %v", st)
	}
	lines := resultLines(t, download(t, urls(st)["results"].(string)))
	var lineSum int64
	for _, id := range []string{"r1", "r2", "r3"} {
		l := lines[id]
		report, _ := l["data"].(map[string]any)["report"].(string)
		if l["success"] != true || !strings.Contains(report, "[1]") {
			t.Fatalf("line %s: %v", id, l)
		}
		lineSum += int64(l["credits_used"].(float64))
	}
	var costs struct {
		Total      int64            `json:"total_credits"`
		ByProvider map[string]int64 `json:"by_provider"`
	}
	json.Unmarshal(download(t, urls(st)["costs"].(string)), &costs)
	if costs.Total == 0 || costs.Total != lineSum || costs.ByProvider["llm"] == 0 || costs.ByProvider["search"] == 0 || costs.ByProvider["web"] == 0 ||
		ledgerNet(t, bs.db, bs) != costs.Total || int64(st["credits_used"].(float64)) != costs.Total {
		t.Fatalf("costs %+v, lines %d, ledger %d", costs, lineSum, ledgerNet(t, bs.db, bs))
	}
}

// TestBatchResearch1000 runs a 1,000-record research batch: 1,000 child runs and about 6,000
// activities. The workflow continues as new as its history grows, so it completes; the test
// checks that it did, and that every record is in the results once.
func TestBatchResearch1000(t *testing.T) {
	if testing.Short() {
		t.Skip("long: a 1,000-record research batch")
	}
	site := testenv.Site(t, map[string]string{"/a": `<html><head><title>A</title></head><body><p>Acme builds robots.</p></body></html>`})
	searx := testenv.NewSearXNG(t, func(string) []testenv.SearchHit { return []testenv.SearchHit{{URL: site.URL + "/a", Title: "A"}} })
	model := testenv.NewLLM(t, 100, func(req testenv.LLMRequest) any {
		switch req.SchemaName() {
		case "research_plan":
			return map[string]any{"queries": []string{"acme"}}
		case "page_notes":
			return map[string]any{"notes": []any{map[string]string{"claim": "Acme builds robots", "quote": "Acme builds robots."}}}
		}
		return "Acme builds robots [1]."
	})
	bs := newBatchStack(t, 1_000_000, func(c *config.Config) {
		generous(c)
		withLLM(model)(c)
		c.Enrich.SearXNGURL = searx.URL
	})
	bs.startW(bs.store)
	recs := make([]string, 1000)
	for i := range recs {
		recs[i] = fmt.Sprintf(`{"record_id":"r%d","company":"Acme %d"}`, i, i)
	}
	start := time.Now()
	m := bs.submit(t, "research", `{"question":"What does it sell?","records":[`+strings.Join(recs, ",")+`]}`)
	st := bs.wait(t, m["batch_id"].(string), 15*time.Minute)
	if st["state"] != "completed" || st["succeeded"] != float64(1000) {
		t.Fatalf("status: %v", st)
	}
	if lines := resultLines(t, download(t, urls(st)["results"].(string))); len(lines) != 1000 {
		t.Fatalf("%d lines", len(lines))
	}
	var runs int
	tc := testenv.Temporal(t)
	resp, err := tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", st["workflow_id"])})
	if err == nil {
		runs = len(resp.Executions)
	}
	t.Logf("1,000 research records in %s; %d workflow runs (continue-as-new)", time.Since(start).Round(time.Second), runs)
	if runs < 2 {
		t.Errorf("expected the batch to continue as new, found %d runs (%v)", runs, err)
	}
}
