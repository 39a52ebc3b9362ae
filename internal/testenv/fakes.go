package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// LLM is an OpenAI-compatible chat completions server for tests of code that calls a model:
// it answers POST /v1/chat/completions (Bearer sk-test) in OpenAI's response shape, with
// content from Answer and the given token usage.
type LLM struct {
	*httptest.Server
	Tokens int
	Answer func(req LLMRequest) any // a string is sent as the content as is; anything else as JSON text

	mu       sync.Mutex
	requests []LLMRequest
}

// LLMRequest is a chat completions request as the server received it.
type LLMRequest map[string]any

// SchemaName is the response_format json_schema name, or "" for free-text requests.
func (r LLMRequest) SchemaName() string {
	rf, _ := r["response_format"].(map[string]any)
	js, _ := rf["json_schema"].(map[string]any)
	name, _ := js["name"].(string)
	return name
}

// User is the user message.
func (r LLMRequest) User() string {
	msgs, _ := r["messages"].([]any)
	for _, m := range msgs {
		if mm, _ := m.(map[string]any); mm["role"] == "user" {
			s, _ := mm["content"].(string)
			return s
		}
	}
	return ""
}

// NewLLM starts the server.
func NewLLM(t testing.TB, tokens int, answer func(req LLMRequest) any) *LLM {
	f := &LLM{Tokens: tokens, Answer: answer}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var req LLMRequest
		json.Unmarshal(b, &req)
		f.mu.Lock()
		f.requests = append(f.requests, req)
		f.mu.Unlock()
		var content string
		switch a := f.Answer(req).(type) {
		case string:
			content = a
		default:
			j, _ := json.Marshal(a)
			content = string(j)
		}
		c, _ := json.Marshal(content)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1733200000,"model":"gpt-4o-mini-2024-07-18",
 "choices":[{"index":0,"message":{"role":"assistant","content":%s,"refusal":null},"finish_reason":"stop"}],
 "usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`, c, f.Tokens/2, f.Tokens-f.Tokens/2, f.Tokens)
	}))
	t.Cleanup(f.Close)
	return f
}

// Requests are the requests received so far.
func (f *LLM) Requests() []LLMRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]LLMRequest(nil), f.requests...)
}

// BaseURL is what LANTERN_LLM_BASE_URL would be.
func (f *LLM) BaseURL() string { return f.URL + "/v1" }

// SearchHit is one SearXNG result.
type SearchHit struct{ URL, Title, Content string }

// NewSearXNG is a SearXNG server answering GET /search?format=json in SearXNG's JSON shape,
// with the hits results returns for each query.
func NewSearXNG(t testing.TB, results func(q string) []SearchHit) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/search" || r.URL.Query().Get("format") != "json" {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		q := r.URL.Query().Get("q")
		type res struct {
			URL      string   `json:"url"`
			Title    string   `json:"title"`
			Content  string   `json:"content"`
			Engine   string   `json:"engine"`
			Engines  []string `json:"engines"`
			Score    float64  `json:"score"`
			Category string   `json:"category"`
		}
		var out []res
		for i, h := range results(q) {
			out = append(out, res{URL: h.URL, Title: h.Title, Content: h.Content, Engine: "duckduckgo",
				Engines: []string{"duckduckgo"}, Score: 1 / float64(i+1), Category: "general"})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"query": q, "number_of_results": len(out), "results": out,
			"answers": []any{}, "corrections": []any{}, "infoboxes": []any{}, "suggestions": []any{}, "unresponsive_engines": []any{}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Site serves HTML pages by path (and robots.txt when given as a path).
func Site(t testing.TB, pages map[string]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".txt") {
			w.Header().Set("Content-Type", "text/plain")
		} else {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}
