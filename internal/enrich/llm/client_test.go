package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/enrich/llm"
)

const testKey = "sk-test-SECRETKEY0000ET42"

var companySchema = json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "name": {"type": "string"},
    "employees": {"type": "integer", "minimum": 0}
  },
  "required": ["name", "employees"],
  "additionalProperties": false
}`)

// reply is one canned answer: a fixture from testdata/ (the documented shapes) or a literal.
type reply struct {
	status  int
	header  map[string]string
	fixture string
	body    string
	block   bool // hold the request until the client gives up
}

type captured struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   map[string]any
}

type fakeServer struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	reqs    []captured
	replies []reply
}

func newFake(t *testing.T, replies ...reply) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	c := captured{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &c.Body); err != nil {
			f.t.Errorf("request body is not JSON: %v", err)
		}
	}
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, c)
	f.mu.Unlock()
	if n >= len(f.replies) {
		f.t.Errorf("unexpected request #%d", n+1)
		http.Error(w, "unexpected", http.StatusTeapot)
		return
	}
	rp := f.replies[n]
	if rp.block {
		<-r.Context().Done()
		return
	}
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	status := rp.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	body := []byte(rp.body)
	if rp.fixture != "" {
		b, err := os.ReadFile(filepath.Join("testdata", rp.fixture))
		if err != nil {
			f.t.Errorf("fixture: %v", err)
		}
		body = b
	}
	_, _ = w.Write(body)
}

func (f *fakeServer) requests() []captured {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]captured(nil), f.reqs...)
}

// newClient builds a client against f whose retry waits are recorded instead of slept.
func newClient(t *testing.T, f *fakeServer, mod func(*llm.Config)) (*llm.Client, *[]time.Duration) {
	t.Helper()
	temp := 0.0
	cfg := llm.Config{BaseURL: f.URL + "/v1", APIKey: testKey, Model: "gpt-4o", Temperature: &temp, MaxTokens: 400}
	if mod != nil {
		mod(&cfg)
	}
	c, err := llm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	var mu sync.Mutex
	llm.SetSleep(c, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return ctx.Err()
	})
	return c, &waits
}

func genRequest() llm.Request {
	return llm.Request{
		System:     "Extract the company described.",
		User:       "Acme Robotics, 120 staff.",
		Schema:     companySchema,
		SchemaName: "company profile!",
	}
}

// assertNoKey checks every error in the chain: none may print the key.
func assertNoKey(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "SECRETKEY") {
			t.Fatalf("error leaks the API key: %q", e.Error())
		}
	}
}

func TestGenerateSuccessSendsStructuredOutputRequest(t *testing.T) {
	f := newFake(t, reply{fixture: "chat_completion_ok.json"})
	c, _ := newClient(t, f, nil)

	res, err := c.Generate(context.Background(), genRequest())
	if err != nil {
		t.Fatal(err)
	}
	if string(res.JSON) != `{"name":"Acme Robotics","employees":120}` {
		t.Errorf("JSON = %s", res.JSON)
	}
	if res.Usage != (llm.Usage{Prompt: 113, Completion: 12, Total: 125}) {
		t.Errorf("usage = %+v", res.Usage)
	}
	if res.Model != "gpt-4o-2024-08-06" || res.Attempts != 1 || res.Repaired {
		t.Errorf("result = %+v", res)
	}

	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v1/chat/completions" {
		t.Errorf("%s %s", r.Method, r.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("Authorization = %q", got)
	}
	if r.Header.Get("api-key") != "" {
		t.Error("api-key header sent to a non-Azure server")
	}
	if r.Body["model"] != "gpt-4o" || r.Body["temperature"] != 0.0 || r.Body["max_tokens"] != 400.0 {
		t.Errorf("model/temperature/max_tokens: %v %v %v", r.Body["model"], r.Body["temperature"], r.Body["max_tokens"])
	}
	msgs, _ := r.Body["messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("messages = %v", r.Body["messages"])
	}
	sys := msgs[0].(map[string]any)
	usr := msgs[1].(map[string]any)
	if sys["role"] != "system" || !strings.HasPrefix(sys["content"].(string), "Extract the company described.") {
		t.Errorf("system message = %v", sys)
	}
	if usr["role"] != "user" || usr["content"] != "Acme Robotics, 120 staff." {
		t.Errorf("user message = %v", usr)
	}
	rf, _ := r.Body["response_format"].(map[string]any)
	js, _ := rf["json_schema"].(map[string]any)
	if rf["type"] != "json_schema" || js["strict"] != true || js["name"] != "company_profile" {
		t.Fatalf("response_format = %v", rf)
	}
	schema, _ := js["schema"].(map[string]any)
	if schema["type"] != "object" || schema["additionalProperties"] != false {
		t.Errorf("schema = %v", schema)
	}
	if _, ok := schema["$schema"]; ok {
		t.Error("$schema should not be sent to the provider")
	}
}

func TestGenerateRepairsInvalidOutput(t *testing.T) {
	f := newFake(t, reply{fixture: "chat_completion_invalid.json"}, reply{fixture: "chat_completion_ok.json"})
	c, _ := newClient(t, f, nil)

	res, err := c.Generate(context.Background(), genRequest())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Repaired || res.Attempts != 2 {
		t.Errorf("repaired=%v attempts=%d", res.Repaired, res.Attempts)
	}
	if res.Usage != (llm.Usage{Prompt: 213, Completion: 27, Total: 240}) {
		t.Errorf("usage not summed: %+v", res.Usage)
	}
	if string(res.JSON) != `{"name":"Acme Robotics","employees":120}` {
		t.Errorf("JSON = %s", res.JSON)
	}

	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	msgs := reqs[1].Body["messages"].([]any)
	if len(msgs) != 4 {
		t.Fatalf("repair turn has %d messages", len(msgs))
	}
	prev := msgs[2].(map[string]any)
	if prev["role"] != "assistant" || prev["content"] != `{"name":"Acme Robotics","employees":"about 120"}` {
		t.Errorf("previous output not replayed: %v", prev)
	}
	fix := msgs[3].(map[string]any)
	text, _ := fix["content"].(string)
	if fix["role"] != "user" || !strings.Contains(text, "at /employees") || !strings.Contains(text, "JSON only") {
		t.Errorf("repair prompt = %q", text)
	}
	if reqs[1].Body["response_format"] == nil {
		t.Error("repair turn must keep response_format")
	}
}

func TestGenerateInvalidTwice(t *testing.T) {
	f := newFake(t, reply{fixture: "chat_completion_invalid.json"}, reply{fixture: "chat_completion_invalid.json"})
	c, _ := newClient(t, f, nil)

	res, err := c.Generate(context.Background(), genRequest())
	if !errors.Is(err, llm.ErrInvalidOutput) {
		t.Fatalf("err = %v", err)
	}
	var ioe *llm.InvalidOutputError
	if !errors.As(err, &ioe) || len(ioe.Problems) == 0 || !strings.Contains(ioe.Problems[0], "/employees") {
		t.Fatalf("problems = %+v", ioe)
	}
	if res.Attempts != 2 || res.Usage.Total != 230 || res.JSON != nil {
		t.Errorf("result on failure = %+v", res)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestGenerateToleratesMarkdownFence(t *testing.T) {
	f := newFake(t, reply{fixture: "chat_completion_fenced.json"})
	c, _ := newClient(t, f, func(cfg *llm.Config) { cfg.APIKey = ""; cfg.Model = "qwen2.5:7b" })

	res, err := c.Generate(context.Background(), genRequest())
	if err != nil {
		t.Fatal(err)
	}
	if string(res.JSON) != `{"name":"Acme Robotics","employees":120}` || res.Attempts != 1 {
		t.Errorf("result = %+v %s", res, res.JSON)
	}
	if h := f.requests()[0].Header.Get("Authorization"); h != "" {
		t.Errorf("Authorization sent without a key: %q", h)
	}
}

func TestGenerateRefusal(t *testing.T) {
	f := newFake(t, reply{fixture: "chat_completion_refusal.json"})
	c, _ := newClient(t, f, nil)

	res, err := c.Generate(context.Background(), genRequest())
	var re *llm.RefusalError
	if !errors.Is(err, llm.ErrRefused) || !errors.As(err, &re) || !strings.Contains(re.Refusal, "cannot assist") {
		t.Fatalf("err = %v", err)
	}
	if res.Usage.Total != 92 || res.Attempts != 1 {
		t.Errorf("usage must still be reported: %+v", res)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("a refusal must not be repaired: %d requests", n)
	}
}

func TestGenerateTruncated(t *testing.T) {
	f := newFake(t, reply{fixture: "chat_completion_length.json"})
	c, _ := newClient(t, f, nil)

	res, err := c.Generate(context.Background(), genRequest())
	if !errors.Is(err, llm.ErrTruncated) || !strings.Contains(err.Error(), "400-token") {
		t.Fatalf("err = %v", err)
	}
	if res.Usage.Total != 97 {
		t.Errorf("usage = %+v", res.Usage)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests", n)
	}
}

func TestUnauthorizedIsNotRetriedAndHidesKey(t *testing.T) {
	f := newFake(t, reply{status: 401, fixture: "error_401.json"})
	c, waits := newClient(t, f, nil)

	_, err := c.Generate(context.Background(), genRequest())
	if !errors.Is(err, llm.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	var ae *llm.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Code != "invalid_api_key" || ae.Kind != llm.KindUnauthorized {
		t.Fatalf("api error = %+v", ae)
	}
	if strings.Contains(err.Error(), "sk-test") {
		t.Errorf("masked key echoed: %v", err)
	}
	assertNoKey(t, err)
	if len(f.requests()) != 1 || len(*waits) != 0 {
		t.Errorf("401 retried: %d requests, waits %v", len(f.requests()), *waits)
	}
}

func TestRateLimitHonoursRetryAfter(t *testing.T) {
	f := newFake(t,
		reply{status: 429, header: map[string]string{"Retry-After": "2"}, fixture: "error_429_rate_limit.json"},
		reply{fixture: "chat_completion_ok.json"})
	c, waits := newClient(t, f, nil)

	res, err := c.Generate(context.Background(), genRequest())
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 1 || res.Usage.Total != 125 {
		t.Errorf("an HTTP retry is not a repair attempt: %+v", res)
	}
	if len(*waits) != 1 || (*waits)[0] != 2*time.Second {
		t.Errorf("waits = %v, want [2s]", *waits)
	}
}

func TestRetryAfterBeyondCapIsReturned(t *testing.T) {
	f := newFake(t, reply{status: 429, header: map[string]string{"Retry-After": "120"}, fixture: "error_429_rate_limit.json"})
	c, waits := newClient(t, f, nil)

	_, err := c.Generate(context.Background(), genRequest())
	var ae *llm.APIError
	if !errors.Is(err, llm.ErrRateLimited) || !errors.As(err, &ae) || ae.RetryAfter != 2*time.Minute {
		t.Fatalf("err = %v", err)
	}
	if len(*waits) != 0 || len(f.requests()) != 1 {
		t.Errorf("slept %v over %d requests", *waits, len(f.requests()))
	}
}

func TestQuotaExceededIsNotRetried(t *testing.T) {
	f := newFake(t, reply{status: 429, fixture: "error_429_quota.json"})
	c, _ := newClient(t, f, nil)

	_, err := c.Generate(context.Background(), genRequest())
	if !errors.Is(err, llm.ErrQuotaExceeded) || errors.Is(err, llm.ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	if len(f.requests()) != 1 {
		t.Errorf("%d requests", len(f.requests()))
	}
}

func TestServerErrorThenSuccess(t *testing.T) {
	f := newFake(t, reply{status: 500, fixture: "error_500.json"}, reply{fixture: "chat_completion_ok.json"})
	c, waits := newClient(t, f, nil)

	if _, err := c.Generate(context.Background(), genRequest()); err != nil {
		t.Fatal(err)
	}
	if len(*waits) != 1 || (*waits)[0] <= 0 || (*waits)[0] > 500*time.Millisecond {
		t.Errorf("backoff waits = %v", *waits)
	}
}

func TestServerErrorGivesUpAfterTwoRetries(t *testing.T) {
	f := newFake(t,
		reply{status: 503, fixture: "error_500.json"},
		reply{status: 502, body: "<html>bad gateway</html>"},
		reply{status: 500, fixture: "llamacpp_error_500.json"})
	c, waits := newClient(t, f, nil)

	_, err := c.Generate(context.Background(), genRequest())
	var ae *llm.APIError
	if !errors.Is(err, llm.ErrUpstream) || !errors.As(err, &ae) || ae.StatusCode != 500 || ae.Code != "server_error" ||
		!strings.Contains(ae.Message, "context size") {
		t.Fatalf("err = %#v", err)
	}
	if len(f.requests()) != 3 || len(*waits) != 2 {
		t.Errorf("%d requests, waits %v", len(f.requests()), *waits)
	}
}

func TestAzureRequestShape(t *testing.T) {
	f := newFake(t, reply{fixture: "azure_chat_completion.json"})
	c, _ := newClient(t, f, func(cfg *llm.Config) {
		cfg.BaseURL = f.URL + "/openai/deployments/gpt4o-prod/"
		cfg.AzureAPIVersion = "2024-10-21"
		cfg.Model = ""
	})

	res, err := c.Generate(context.Background(), genRequest())
	if err != nil {
		t.Fatal(err)
	}
	if string(res.JSON) != `{"name":"Acme Robotics","employees":120}` {
		t.Errorf("JSON = %s", res.JSON)
	}
	r := f.requests()[0]
	if r.Path != "/openai/deployments/gpt4o-prod/chat/completions" {
		t.Errorf("path = %s", r.Path)
	}
	if r.Query.Get("api-version") != "2024-10-21" {
		t.Errorf("query = %v", r.Query)
	}
	if r.Header.Get("api-key") != testKey || r.Header.Get("Authorization") != "" {
		t.Errorf("headers: api-key=%q Authorization=%q", r.Header.Get("api-key"), r.Header.Get("Authorization"))
	}
	if _, ok := r.Body["model"]; ok {
		t.Error("model sent although the deployment chooses it")
	}
	if rf, _ := r.Body["response_format"].(map[string]any); rf["type"] != "json_schema" {
		t.Errorf("response_format = %v", r.Body["response_format"])
	}
}

func TestOllamaModelNotFound(t *testing.T) {
	f := newFake(t, reply{status: 404, fixture: "ollama_error_404.json"})
	c, _ := newClient(t, f, func(cfg *llm.Config) { cfg.APIKey = ""; cfg.Model = "llama9" })

	_, err := c.Chat(context.Background(), []llm.Message{{Role: llm.RoleUser, Content: "hi"}})
	var ae *llm.APIError
	if !errors.Is(err, llm.ErrNotFound) || !errors.As(err, &ae) || !strings.Contains(ae.Message, "try pulling it first") {
		t.Fatalf("err = %v", err)
	}
}

func TestAdaptsToMaxCompletionTokens(t *testing.T) {
	f := newFake(t,
		reply{status: 400, fixture: "error_400_max_tokens.json"},
		reply{fixture: "chat_completion_ok.json"},
		reply{fixture: "chat_completion_ok.json"})
	c, _ := newClient(t, f, func(cfg *llm.Config) { cfg.Model = "o3-mini" })

	for i := 0; i < 2; i++ {
		if _, err := c.Generate(context.Background(), genRequest()); err != nil {
			t.Fatal(err)
		}
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	if reqs[0].Body["max_tokens"] != 400.0 {
		t.Errorf("first request: %v", reqs[0].Body)
	}
	for _, r := range reqs[1:] {
		if _, ok := r.Body["max_tokens"]; ok || r.Body["max_completion_tokens"] != 400.0 {
			t.Errorf("adapted request: max_tokens=%v max_completion_tokens=%v", r.Body["max_tokens"], r.Body["max_completion_tokens"])
		}
	}
}

func TestChat(t *testing.T) {
	f := newFake(t, reply{fixture: "chat_completion_text.json"}, reply{fixture: "chat_completion_length.json"})
	c, _ := newClient(t, f, nil)
	msgs := []llm.Message{{Role: llm.RoleSystem, Content: "Write briefly."}, {Role: llm.RoleUser, Content: "Describe Acme."}}

	res, err := c.Chat(context.Background(), msgs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Content, "Acme Robotics builds") || res.Usage.Total != 33 || res.FinishReason != "stop" {
		t.Errorf("result = %+v", res)
	}
	if r := f.requests()[0]; r.Body["response_format"] != nil || len(r.Body["messages"].([]any)) != 2 {
		t.Errorf("chat request = %v", r.Body)
	}

	res, err = c.Chat(context.Background(), msgs)
	if !errors.Is(err, llm.ErrTruncated) || res.Content != `{"name":"Acme Rob` || res.Usage.Total != 97 {
		t.Errorf("truncated chat: %+v, %v", res, err)
	}
}

func TestContextCancelStopsTheCall(t *testing.T) {
	f := newFake(t, reply{block: true})
	c, _ := newClient(t, f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	_, err := c.Generate(ctx, genRequest())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if len(f.requests()) != 1 {
		t.Errorf("cancelled call retried: %d requests", len(f.requests()))
	}
}

func TestTransportFailureIsUpstreamAndHidesKey(t *testing.T) {
	f := newFake(t)
	c, waits := newClient(t, f, nil)
	f.Close() // connection refused from now on

	_, err := c.Generate(context.Background(), genRequest())
	if !errors.Is(err, llm.ErrUpstream) {
		t.Fatalf("err = %v", err)
	}
	assertNoKey(t, err)
	if len(*waits) != 2 {
		t.Errorf("transport failures are retried twice: waits %v", *waits)
	}
}

func TestBadSchemaFailsBeforeSending(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, nil)
	req := genRequest()
	req.Schema = json.RawMessage(`{"type": "strng"}`)

	_, err := c.Generate(context.Background(), req)
	if !errors.Is(err, llm.ErrInvalidSchema) {
		t.Fatalf("err = %v", err)
	}
	if len(f.requests()) != 0 {
		t.Error("request sent with an invalid schema")
	}
}

func TestNewReportsMissingSettings(t *testing.T) {
	cases := []struct {
		cfg     llm.Config
		field   string
		missing bool
	}{
		{llm.Config{Model: "gpt-4o"}, "BaseURL", true},
		{llm.Config{BaseURL: "https://api.openai.com/v1"}, "Model", true},
		{llm.Config{BaseURL: "https://x.openai.azure.com/openai/deployments/d", AzureAPIVersion: "2024-10-21"}, "APIKey", true},
		{llm.Config{BaseURL: "localhost:11434", Model: "llama3.1"}, "BaseURL", false},
	}
	for _, tc := range cases {
		_, err := llm.New(tc.cfg)
		var ce *llm.ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || errors.Is(err, llm.ErrNotConfigured) != tc.missing ||
			errors.Is(err, llm.ErrInvalidConfig) == tc.missing {
			t.Errorf("%+v: err = %v", tc.cfg, err)
		}
	}
	if _, err := llm.New(llm.Config{BaseURL: "http://localhost:11434/v1", Model: "llama3.1"}); err != nil {
		t.Errorf("a local server needs no key: %v", err)
	}
}
