package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/ratelimit"
	"github.com/lanternhq/lantern/internal/testenv"
)

// testServer is one API process over a shared database, served on a real port.
type testServer struct {
	*httptest.Server
	srv *Server
}

// start runs an API instance with test-only operations behind the real middleware:
//   - GET /v1/test/sync counts against the sync group (no sync endpoint exists yet);
//   - POST /v1/test/debit charges ?amount credits through the ledger.
func start(t testing.TB, db *bun.DB, mod func(*config.Config)) *testServer {
	t.Helper()
	cfg := testenv.Config(t)
	if mod != nil {
		mod(cfg)
	}
	eng, err := enrich.New(db, cfg.Enrich)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Deps{Config: cfg, DB: db, Enrich: eng})
	ctx, cancel := context.WithCancel(context.Background())
	go srv.Listen(ctx)
	hs := httptest.NewServer(srv.handler(func(a huma.API) {
		huma.Register(a, op(huma.Operation{OperationID: "testSync", Method: http.MethodGet, Path: "/v1/test/sync"},
			limits(ratelimit.Sync)), func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
			out := &healthOutput{}
			out.Body.Success, out.Body.Status = true, "ok"
			return out, nil
		})
		huma.Register(a, op(huma.Operation{OperationID: "testDebit", Method: http.MethodPost, Path: "/v1/test/debit"},
			limits(ratelimit.Sync)), func(ctx context.Context, in *struct {
			Amount int64 `query:"amount"`
		}) (*healthOutput, error) {
			p := PrincipalFrom(ctx)
			if _, err := credits.Debit(ctx, db, credits.Charge{OrgID: p.OrgID, APIKeyID: &p.KeyID,
				RequestID: RequestIDFrom(ctx), Step: "test", Service: "test", Amount: in.Amount}); err != nil {
				return nil, err
			}
			out := &healthOutput{}
			out.Body.Success, out.Body.Status = true, "charged"
			return out, nil
		})
	}))
	t.Cleanup(func() { hs.Close(); cancel() })
	return &testServer{Server: hs, srv: srv}
}

// reply is a response with its body read.
type reply struct {
	*http.Response
	body []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object (%v): %s", err, r.body)
	}
	return m
}

func (ts *testServer) call(t *testing.T, method, path, key, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp, b}
}

func (ts *testServer) get(t *testing.T, path, key string) reply {
	t.Helper()
	return ts.call(t, http.MethodGet, path, key, "")
}

// problem checks an error response: status, RFC 9457 fields, success false, code, request id.
func problem(t *testing.T, r reply, status int, code string) map[string]any {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q", ct)
	}
	m := r.json(t)
	if m["success"] != false || m["code"] != code || m["status"] != float64(status) || m["title"] == "" {
		t.Fatalf("problem body: %s", r.body)
	}
	if id := r.Header.Get("X-Request-ID"); id == "" || m["request_id"] != id {
		t.Fatalf("request_id %v vs header %q", m["request_id"], id)
	}
	return m
}

// withinOneMinute waits, if need be, so that the next few seconds of calls fall in one clock
// minute: across a boundary the sliding window weighs the previous minute's calls slightly
// below their count, and a limit test could see one call more fit, by design.
func withinOneMinute(t *testing.T, seconds int) {
	if s := time.Now().Second(); s > 59-seconds {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
}
