// Package search queries a SearXNG instance through its JSON search API
// (https://docs.searxng.org/dev/search_api.html). It is a client only: the research step of
// the enrichment engine decides what to search for and what to fetch afterwards.
//
// SearXNG answers format=json only when `json` is listed under search.formats in its
// settings.yml; otherwise it answers 403, which Search reports as ErrJSONDisabled with that
// instruction. SearXNG has no API keys of its own; Config.APIKey is for a reverse proxy in
// front of it and is sent as "Authorization: Bearer" only when set. An instance with
// server.limiter on throttles API clients hard (429); Lantern's instance should pass-list the
// worker's address in limiter.toml or run without the limiter.
//
// Response fields follow searx/webutils.py get_json_response: query, number_of_results,
// results, answers, corrections, infoboxes, suggestions, unresponsive_engines.
package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lanternhq/lantern/internal/enrich/httpx"
)

// ErrJSONDisabled matches the *APIError for a 403 (as its Err): the instance refuses format=json.
var ErrJSONDisabled = errors.New("searxng: the JSON format is disabled; add `json` to search.formats in settings.yml")

const codeJSONDisabled = "json_format_disabled"

// Config selects a SearXNG instance.
type Config struct {
	// BaseURL is the instance root, e.g. http://searxng:8080 or https://search.example.com/searxng.
	BaseURL string
	// APIKey is optional: a bearer token for a proxy in front of SearXNG.
	APIKey string
	// HTTPClient defaults to a client with a 20-second timeout.
	HTTPClient *http.Client
	Retry      RetryPolicy
}

// Client queries one instance. It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint *url.URL
	t        *httpx.Transport
}

const maxResponseBytes = 8 << 20

// New checks cfg; an empty BaseURL is a *ConfigError matching ErrNotConfigured.
func New(cfg Config) (*Client, error) {
	u, err := httpx.ParseBaseURL("searxng", cfg.BaseURL, "http://searxng:8080")
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/search"
	u.RawPath = ""
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	// No ParseError or Classify: SearXNG's errors are HTML pages, and its statuses mean
	// what HTTP says.
	return &Client{cfg: cfg, endpoint: u, t: &httpx.Transport{
		Service: "searxng",
		Client:  hc,
		Secret:  cfg.APIKey,
		Retry:   cfg.Retry,
		MaxBody: maxResponseBytes,
	}}, nil
}

// Query is one search. Only Q is required.
type Query struct {
	Q          string
	Language   string   // e.g. "en" or "de-CH"; empty uses the instance's default
	Categories []string // e.g. "general", "news"
	Engines    []string // restrict to these engines, e.g. "duckduckgo"
	Page       int      // 1-based; 0 means the first page
	TimeRange  string   // "", "day", "week", "month" or "year"
	SafeSearch *int     // 0, 1 or 2; nil uses the instance's default
}

// Response is SearXNG's JSON answer.
type Response struct {
	Query               string
	NumberOfResults     int // SearXNG's estimate from its engines; often 0
	Results             []Result
	Answers             []string
	Corrections         []string
	Suggestions         []string
	Infoboxes           []json.RawMessage // kept raw: their shape varies per engine
	UnresponsiveEngines []UnresponsiveEngine
}

// Result is one hit.
type Result struct {
	URL           string
	Title         string
	Content       string
	Engine        string
	Engines       []string
	Score         float64
	PublishedDate *time.Time // nil when the engine gave none or gave one we cannot read
	Category      string
}

// UnresponsiveEngine is an engine that failed during this search, with SearXNG's reason
// ("timeout", "too many requests", "CAPTCHA", ...).
type UnresponsiveEngine struct {
	Engine string
	Error  string
}

var timeRanges = map[string]bool{"": true, "day": true, "week": true, "month": true, "year": true}

// Search runs q. Errors: *ConfigError never (New checked), ErrBadRequest for an empty query
// or bad TimeRange (nothing sent), ErrJSONDisabled for a 403, and *APIError otherwise.
func (c *Client) Search(ctx context.Context, q Query) (Response, error) {
	if strings.TrimSpace(q.Q) == "" {
		return Response{}, &APIError{Service: "searxng", Kind: KindBadRequest, Message: "the query is empty"}
	}
	if !timeRanges[q.TimeRange] {
		return Response{}, &APIError{Service: "searxng", Kind: KindBadRequest,
			Message: fmt.Sprintf("time range %q is not one of day, week, month, year", q.TimeRange)}
	}
	if q.SafeSearch != nil && (*q.SafeSearch < 0 || *q.SafeSearch > 2) {
		return Response{}, &APIError{Service: "searxng", Kind: KindBadRequest, Message: "safe search must be 0, 1 or 2"}
	}
	v := url.Values{}
	v.Set("q", q.Q)
	v.Set("format", "json")
	if q.Language != "" {
		v.Set("language", q.Language)
	}
	if cats := joinNonEmpty(q.Categories); cats != "" {
		v.Set("categories", cats)
	}
	if engines := joinNonEmpty(q.Engines); engines != "" {
		v.Set("engines", engines)
	}
	if q.Page > 1 {
		v.Set("pageno", strconv.Itoa(q.Page))
	}
	if q.TimeRange != "" {
		v.Set("time_range", q.TimeRange)
	}
	if q.SafeSearch != nil {
		v.Set("safesearch", strconv.Itoa(*q.SafeSearch))
	}
	u := *c.endpoint
	u.RawQuery = v.Encode()
	target := u.String()

	resp, err := c.t.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		// With server.limiter on, SearXNG's bot detection answers 429 unless Accept names
		// text/html, Accept-Language is set and the User-Agent is not a known library's.
		req.Header.Set("Accept", "application/json, text/html;q=0.1")
		req.Header.Set("User-Agent", "lantern-enrich")
		lang := q.Language
		if lang == "" {
			lang = "en"
		}
		req.Header.Set("Accept-Language", lang)
		if c.cfg.APIKey != "" {
			req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
		}
		return req, nil
	})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.StatusCode == http.StatusForbidden {
			ae.Code = codeJSONDisabled
			ae.Err = ErrJSONDisabled
			ae.Message = "SearXNG refused format=json: add `json` to search.formats in settings.yml" +
				" (or, if a proxy in front of it checks APIKey, the key was refused)"
			return Response{}, ae
		}
		if errors.As(err, &ae) && ae.StatusCode == http.StatusTooManyRequests {
			ae.Message = "SearXNG's limiter refused the request; pass Lantern's address in limiter.toml " +
				"(botdetection.ip_lists.pass_ip) or turn server.limiter off for this private instance"
		}
		return Response{}, err
	}
	out, err := parseResponse(resp.Body)
	if err != nil {
		return Response{}, &APIError{Service: "searxng", Kind: KindUpstream, StatusCode: resp.Status,
			Message: "response is not SearXNG JSON (" + contentType(resp.Header) + "): " + httpx.Shorten(err.Error(), 200)}
	}
	return out, nil
}

func contentType(h http.Header) string {
	if ct := h.Get("Content-Type"); ct != "" {
		return ct
	}
	return "no content type"
}

func joinNonEmpty(items []string) string {
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ",")
}

// Wire types: searx/webutils.py get_json_response and searx/result_types.

type wireResponse struct {
	Query               string            `json:"query"`
	NumberOfResults     json.Number       `json:"number_of_results"`
	Results             []wireResult      `json:"results"`
	Answers             []json.RawMessage `json:"answers"`
	Corrections         []json.RawMessage `json:"corrections"`
	Suggestions         []json.RawMessage `json:"suggestions"`
	Infoboxes           []json.RawMessage `json:"infoboxes"`
	UnresponsiveEngines []json.RawMessage `json:"unresponsive_engines"`
}

type wireResult struct {
	URL           string          `json:"url"`
	Title         string          `json:"title"`
	Content       string          `json:"content"`
	Engine        string          `json:"engine"`
	Engines       []string        `json:"engines"`
	Score         json.Number     `json:"score"`
	PublishedDate json.RawMessage `json:"publishedDate"`
	Category      string          `json:"category"`
}

// parseResponse decodes a search answer. It is lenient where SearXNG versions differ (answers
// as strings or objects, dates with or without a zone) and strict only about the envelope.
func parseResponse(body []byte) (Response, error) {
	var w wireResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return Response{}, err
	}
	out := Response{Query: w.Query, Infoboxes: w.Infoboxes}
	if n, err := w.NumberOfResults.Float64(); err == nil && n > 0 && n < 1e15 {
		out.NumberOfResults = int(n)
	}
	for _, r := range w.Results {
		res := Result{URL: r.URL, Title: r.Title, Content: r.Content, Engine: r.Engine,
			Engines: r.Engines, Category: r.Category, PublishedDate: parseDate(r.PublishedDate)}
		if s, err := r.Score.Float64(); err == nil {
			res.Score = s
		}
		out.Results = append(out.Results, res)
	}
	out.Answers = texts(w.Answers, "answer")
	out.Corrections = texts(w.Corrections, "correction")
	out.Suggestions = texts(w.Suggestions, "suggestion")
	for _, raw := range w.UnresponsiveEngines {
		// Each entry is a pair [engine name, reason].
		var pair []string
		if json.Unmarshal(raw, &pair) == nil && len(pair) > 0 {
			ue := UnresponsiveEngine{Engine: pair[0]}
			if len(pair) > 1 {
				ue.Error = pair[1]
			}
			out.UnresponsiveEngines = append(out.UnresponsiveEngines, ue)
		}
	}
	return out, nil
}

// texts reads items that older SearXNG sends as strings and newer versions as objects (an
// answer is {"answer": "...", "url": ..., ...}).
func texts(raws []json.RawMessage, field string) []string {
	var out []string
	for _, raw := range raws {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if s != "" {
				out = append(out, s)
			}
			continue
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) == nil {
			if json.Unmarshal(obj[field], &s) == nil && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// parseDate reads Python's datetime.isoformat(), with or without a zone (no zone means UTC).
func parseDate(raw json.RawMessage) *time.Time {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil || s == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999-07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1000 {
				return nil
			}
			return &t
		}
	}
	return nil
}
