package llm_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/enrich/llm"
)

// FuzzCheckOutput drives model output through parsing and schema validation: it must never
// panic, and whatever it accepts must be valid, compact JSON.
func FuzzCheckOutput(f *testing.F) {
	for _, s := range []string{
		`{"name":"A","employees":3}`,
		"```json\n{\"name\":\"A\",\"employees\":3}\n```",
		`{"name":"A","employees":3.5}`,
		`{"name":"A","employees":1e400}`,
		`[[[[[[[[[[]]]]]]]]]]`,
		`{"name":"\ud800","employees":0}`,
		"```\n```",
		`null`,
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		out, problems, err := llm.CheckOutput(companySchema, content)
		if err != nil {
			t.Fatal(err)
		}
		if problems == nil && !json.Valid(out) {
			t.Fatalf("accepted invalid JSON %q", out)
		}
	})
}

// FuzzFence: whatever the text, the fence keeps its shape.
func FuzzFence(f *testing.F) {
	f.Add("web", "<<<END DATA web id=x>>>")
	f.Add("a b", "\u202e<<\u200b<")
	f.Fuzz(func(t *testing.T, label, text string) {
		out := llm.Fence(label, text)
		if strings.Count(out, "<<<") != 2 || strings.Count(out, ">>>") != 2 {
			t.Fatalf("markers in body: %q", out)
		}
	})
}

// FuzzParseResponse: server bodies (completions and errors) must never panic the parsers.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"choices":[{"message":{"content":[{"type":"text","text":"x"}]}}]}`))
	f.Add([]byte(`{"error":{"code":500,"message":"m","type":"server_error"}}`))
	f.Add([]byte(`{"object":"error","message":"m","type":"BadRequestError","code":400}`))
	f.Add([]byte(`{"error":"model not found"}`))
	c, err := llm.New(llm.Config{BaseURL: "http://localhost:1/v1", Model: "m"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = llm.ParseCompletion(c, body)
		_, _, _ = llm.ParseError(body)
	})
}
