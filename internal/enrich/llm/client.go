package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lanternhq/lantern/internal/enrich/httpx"
)

// Config selects an OpenAI-compatible server.
type Config struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1, http://localhost:11434/v1
	// (Ollama), http://localhost:8000/v1 (vLLM) or http://localhost:8080/v1 (llama.cpp). With
	// AzureAPIVersion set it is the deployment URL,
	// https://RESOURCE.openai.azure.com/openai/deployments/DEPLOYMENT.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer"; optional because local servers need none.
	// Required for Azure, where it is sent as the api-key header.
	APIKey string
	// Model is required except for Azure, where the deployment in BaseURL picks the model.
	Model string
	// AzureAPIVersion, e.g. "2024-10-21", switches to Azure OpenAI's deployment API.
	AzureAPIVersion string
	// Temperature, when set, is sent as is; nil leaves the server's default.
	Temperature *float64
	// MaxTokens caps each completion; 0 leaves the server's default.
	MaxTokens int
	// HTTPClient defaults to a client with a 2-minute timeout.
	HTTPClient *http.Client
	Retry      RetryPolicy
}

// Client calls one model. It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint string
	t        *httpx.Transport

	// Reasoning models reject max_tokens and non-default temperatures with a 400 naming the
	// parameter; after the first such answer the client adapts for all later calls.
	useMaxCompletionTokens atomic.Bool
	omitTemperature        atomic.Bool
}

const maxResponseBytes = 16 << 20

// New checks cfg. A missing BaseURL, Model (non-Azure) or APIKey (Azure) is a *ConfigError
// matching ErrNotConfigured, whose Field names the setting.
func New(cfg Config) (*Client, error) {
	u, err := httpx.ParseBaseURL("llm", cfg.BaseURL, "https://api.openai.com/v1")
	if err != nil {
		return nil, err
	}
	azure := cfg.AzureAPIVersion != ""
	if azure && cfg.APIKey == "" {
		return nil, httpx.Missing("llm", "APIKey")
	}
	if !azure && strings.TrimSpace(cfg.Model) == "" {
		return nil, httpx.Missing("llm", "Model")
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/chat/completions"
	u.RawPath = ""
	if azure {
		q := u.Query()
		q.Set("api-version", cfg.AzureAPIVersion)
		u.RawQuery = q.Encode()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	c := &Client{cfg: cfg, endpoint: u.String()}
	c.t = &httpx.Transport{
		Service:    "llm",
		Client:     hc,
		Secret:     cfg.APIKey,
		Redact:     openAIKeyHint,
		Retry:      cfg.Retry,
		MaxBody:    maxResponseBytes,
		ParseError: parseOpenAIError,
		Classify:   classifyOpenAI,
	}
	return c, nil
}

// openAIKeyHint matches OpenAI's partly masked echo of a key ("sk-proj-****abcd").
var openAIKeyHint = regexp.MustCompile(`\bsk-[A-Za-z0-9_*-]{4,}`)

// Roles for Message.Role.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Usage counts tokens as the server reported them.
type Usage struct {
	Prompt     int
	Completion int
	Total      int
}

func (u Usage) add(v Usage) Usage {
	return Usage{Prompt: u.Prompt + v.Prompt, Completion: u.Completion + v.Completion, Total: u.Total + v.Total}
}

// ChatResult is a free-text answer.
type ChatResult struct {
	Content      string
	Usage        Usage
	Model        string // the model the server says answered
	FinishReason string
}

// Chat sends messages and returns the reply text, for free-text steps such as writing a
// report. When the reply hit the token limit, Chat returns the partial text together with an
// error matching ErrTruncated; a refusal is a *RefusalError. Usage is filled whenever the
// server answered, errors included, so the caller can bill it.
func (c *Client) Chat(ctx context.Context, messages []Message) (ChatResult, error) {
	if len(messages) == 0 {
		return ChatResult{}, fmt.Errorf("llm: no messages")
	}
	comp, err := c.complete(ctx, messages, nil)
	if err != nil {
		return ChatResult{Usage: comp.usage, Model: comp.model}, err
	}
	res := ChatResult{Content: comp.content, Usage: comp.usage, Model: comp.model, FinishReason: comp.finishReason}
	return res, comp.finishError()
}

// Request asks for JSON that matches Schema.
type Request struct {
	System     string          // task instructions; see DataInstructions for untrusted data
	User       string          // the input, with untrusted parts wrapped by Fence
	Schema     json.RawMessage // JSON Schema the answer must match
	SchemaName string          // a short name for the schema; sanitised to OpenAI's rules
}

// Result is a validated structured answer.
type Result struct {
	JSON     json.RawMessage // compact, valid against the schema
	Usage    Usage           // summed over attempts
	Model    string
	Attempts int  // completions received: 1, or 2 after a repair turn
	Repaired bool // the first answer was invalid and the repair turn fixed it
}

// Generate asks for a JSON answer with response_format json_schema (strict) and validates it
// locally as well, because many OpenAI-compatible servers accept response_format without
// enforcing it. An invalid first answer gets one repair turn (the answer plus the validation
// problems); if that is still invalid the error is an *InvalidOutputError (ErrInvalidOutput).
// A bad schema is a *SchemaError (ErrInvalidSchema) before anything is sent. Whatever the
// outcome, Result.Usage and Attempts cover every completion the server produced.
func (c *Client) Generate(ctx context.Context, req Request) (Result, error) {
	sch, err := compileSchema(req.Schema)
	if err != nil {
		return Result{}, err
	}
	if strings.TrimSpace(req.User) == "" {
		return Result{}, errEmptyUserInput
	}
	name := schemaName(req.SchemaName)
	format := &responseFormat{Type: "json_schema", JSONSchema: &jsonSchemaSpec{
		Name: name, Schema: providerSchema(req.Schema), Strict: true,
	}}
	system := strings.TrimSpace(req.System)
	if system != "" {
		system += "\n\n"
	}
	system += "Answer with one JSON value that matches the JSON schema \"" + name + "\". No prose, no markdown."
	msgs := []Message{{Role: RoleSystem, Content: system}, {Role: RoleUser, Content: req.User}}

	var res Result
	for attempt := 1; attempt <= 2; attempt++ {
		comp, err := c.complete(ctx, msgs, format)
		res.Usage = res.Usage.add(comp.usage) // a malformed answer may still report usage
		if err != nil {
			return res, err
		}
		res.Attempts = attempt
		res.Model = comp.model
		if err := comp.finishError(); err != nil {
			return res, err
		}
		out, problems := checkOutput(sch, comp.content)
		if problems == nil {
			res.JSON = out
			res.Repaired = attempt > 1
			return res, nil
		}
		if attempt == 2 {
			return res, &InvalidOutputError{Problems: problems, Output: httpx.Shorten(comp.content, 2000)}
		}
		msgs = append(msgs,
			Message{Role: RoleAssistant, Content: comp.content},
			Message{Role: RoleUser, Content: repairPrompt(problems, req.Schema)})
	}
	return res, nil // unreachable: the loop returns on its second pass
}

// repairPrompt shows the model what was wrong. The schema is repeated (when small) because
// servers that ignore response_format never saw it.
func repairPrompt(problems []string, schema json.RawMessage) string {
	var b strings.Builder
	b.WriteString("Your previous reply does not match the required JSON schema:\n")
	for _, p := range problems {
		b.WriteString("- " + p + "\n")
	}
	if len(schema) <= 8<<10 {
		b.WriteString("\nThe schema:\n")
		b.Write(schema)
		b.WriteString("\n")
	}
	b.WriteString("\nReply with the corrected JSON only: no explanation, no markdown.")
	return b.String()
}

// Wire types: https://platform.openai.com/docs/api-reference/chat/create

type chatRequest struct {
	Model               string          `json:"model,omitempty"`
	Messages            []Message       `json:"messages"`
	Temperature         *float64        `json:"temperature,omitempty"`
	MaxTokens           int             `json:"max_tokens,omitempty"`
	MaxCompletionTokens int             `json:"max_completion_tokens,omitempty"`
	ResponseFormat      *responseFormat `json:"response_format,omitempty"`
}

type responseFormat struct {
	Type       string          `json:"type"`
	JSONSchema *jsonSchemaSpec `json:"json_schema,omitempty"`
}

type jsonSchemaSpec struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Strict bool            `json:"strict"`
}

type chatResponse struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content json.RawMessage `json:"content"`
			Refusal *string         `json:"refusal"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

type completion struct {
	content      string
	refusal      string
	finishReason string
	usage        Usage
	model        string
	maxTokens    int
}

func (c completion) finishError() error {
	switch {
	case c.refusal != "":
		return &RefusalError{Refusal: c.refusal}
	case c.finishReason == "length":
		if c.maxTokens > 0 {
			return fmt.Errorf("%w: the reply reached the %d-token limit (MaxTokens)", ErrTruncated, c.maxTokens)
		}
		return fmt.Errorf("%w: the reply reached the model's token limit", ErrTruncated)
	case c.finishReason == "content_filter":
		return ErrContentFilter
	}
	return nil
}

func (c *Client) complete(ctx context.Context, msgs []Message, format *responseFormat) (completion, error) {
	// At most two adaptations (max_tokens, temperature), each followed by a resend.
	for adapt := 0; ; adapt++ {
		body := chatRequest{Model: c.cfg.Model, Messages: msgs, ResponseFormat: format}
		if c.cfg.Temperature != nil && !c.omitTemperature.Load() {
			body.Temperature = c.cfg.Temperature
		}
		if c.cfg.MaxTokens > 0 {
			if c.useMaxCompletionTokens.Load() {
				body.MaxCompletionTokens = c.cfg.MaxTokens
			} else {
				body.MaxTokens = c.cfg.MaxTokens
			}
		}
		payload, err := json.Marshal(body)
		if err != nil {
			return completion{}, fmt.Errorf("llm: encoding request: %w", err)
		}
		resp, err := c.t.Do(ctx, func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(payload))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.Header.Set("User-Agent", "lantern-enrich")
			if c.cfg.AzureAPIVersion != "" {
				req.Header.Set("api-key", c.cfg.APIKey)
			} else if c.cfg.APIKey != "" {
				req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
			}
			return req, nil
		})
		if err != nil {
			if adapt < 2 && c.adaptTo(err, body) {
				continue
			}
			return completion{}, err
		}
		return c.parse(resp.Body)
	}
}

// adaptTo reports whether err is a 400 about a parameter the client can change and changes it.
func (c *Client) adaptTo(err error, sent chatRequest) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest {
		return false
	}
	blames := func(param string) bool {
		return ae.Param == param || strings.Contains(ae.Message, "'"+param+"'")
	}
	switch {
	case sent.MaxTokens > 0 && blames("max_tokens"):
		c.useMaxCompletionTokens.Store(true)
		return true
	case sent.Temperature != nil && blames("temperature"):
		c.omitTemperature.Store(true)
		return true
	}
	return false
}

func (c *Client) parse(body []byte) (completion, error) {
	var r chatResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return completion{}, &APIError{Service: "llm", Kind: KindUpstream, StatusCode: http.StatusOK,
			Message: "response is not a chat completion: " + httpx.Shorten(err.Error(), 200)}
	}
	out := completion{model: r.Model, maxTokens: c.cfg.MaxTokens}
	if out.model == "" {
		out.model = c.cfg.Model
	}
	if r.Usage != nil {
		out.usage = Usage{Prompt: r.Usage.PromptTokens, Completion: r.Usage.CompletionTokens, Total: r.Usage.TotalTokens}
		if out.usage.Total == 0 {
			out.usage.Total = out.usage.Prompt + out.usage.Completion
		}
	}
	if len(r.Choices) == 0 {
		return out, &APIError{Service: "llm", Kind: KindUpstream, StatusCode: http.StatusOK, Message: "response has no choices"}
	}
	ch := r.Choices[0]
	out.finishReason = ch.FinishReason
	if ch.Message.Refusal != nil {
		out.refusal = *ch.Message.Refusal
	}
	out.content = contentText(ch.Message.Content)
	return out, nil
}

// contentText accepts content as a string, null, or an array of {type:"text", text} parts.
func contentText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			if p.Type == "text" || p.Type == "" {
				b.WriteString(p.Text)
			}
		}
		return b.String()
	}
	return ""
}

// parseOpenAIError reads {"error":{"message","type","param","code"}} (OpenAI, Azure, Ollama,
// llama.cpp, whose code is a number) and vLLM's older top-level {"message","type","code"}.
func parseOpenAIError(_ int, body []byte) (code, param, message string) {
	type errObj struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    json.RawMessage `json:"code"`
	}
	var wrapped struct {
		Error json.RawMessage `json:"error"`
	}
	var e errObj
	if json.Unmarshal(body, &wrapped) == nil && len(wrapped.Error) > 0 {
		var s string
		if json.Unmarshal(wrapped.Error, &s) == nil {
			return "", "", s
		}
		_ = json.Unmarshal(wrapped.Error, &e)
	} else {
		_ = json.Unmarshal(body, &e)
	}
	code = scalarString(e.Code)
	if code == "" || isDigits(code) {
		code = e.Type
	}
	return code, scalarString(e.Param), e.Message
}

func classifyOpenAI(status int, code string) Kind {
	if code == "insufficient_quota" || code == "billing_hard_limit_reached" {
		return KindQuotaExceeded
	}
	return httpx.ClassifyStatus(status)
}

func scalarString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
