package search_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/enrich/search"
)

type reply struct {
	status      int
	header      map[string]string
	fixture     string
	contentType string
}

type fake struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	reqs    []*http.Request
	replies []reply
}

func newFake(t *testing.T, replies ...reply) *fake {
	f := &fake{t: t, replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, r.Clone(context.Background()))
		f.mu.Unlock()
		if n >= len(f.replies) {
			t.Errorf("unexpected request #%d", n+1)
			w.WriteHeader(http.StatusTeapot)
			return
		}
		rp := f.replies[n]
		for k, v := range rp.header {
			w.Header().Set(k, v)
		}
		ct := rp.contentType
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		if rp.status != 0 {
			w.WriteHeader(rp.status)
		}
		if rp.fixture != "" {
			b, err := os.ReadFile(filepath.Join("testdata", rp.fixture))
			if err != nil {
				t.Error(err)
			}
			_, _ = w.Write(b)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

func newClient(t *testing.T, cfg search.Config) (*search.Client, *[]time.Duration) {
	t.Helper()
	c, err := search.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	search.SetSleep(c, func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	})
	return c, &waits
}

func TestSearchSendsDocumentedParamsAndParsesResponse(t *testing.T) {
	f := newFake(t, reply{fixture: "searxng_search.json"})
	c, _ := newClient(t, search.Config{BaseURL: f.URL})

	safe := 1
	res, err := c.Search(context.Background(), search.Query{
		Q: "acme robotics headquarters", Language: "en-US", Categories: []string{"general", " news", ""},
		Engines: []string{"duckduckgo", "brave"}, Page: 2, TimeRange: "month", SafeSearch: &safe,
	})
	if err != nil {
		t.Fatal(err)
	}

	r := f.requests()[0]
	if r.Method != http.MethodGet || r.URL.Path != "/search" {
		t.Errorf("%s %s", r.Method, r.URL.Path)
	}
	want := url.Values{
		"q": {"acme robotics headquarters"}, "format": {"json"}, "language": {"en-US"},
		"categories": {"general,news"}, "engines": {"duckduckgo,brave"}, "pageno": {"2"},
		"time_range": {"month"}, "safesearch": {"1"},
	}
	if got := r.URL.Query(); got.Encode() != want.Encode() {
		t.Errorf("query = %v\nwant    %v", got, want)
	}
	if r.Header.Get("Authorization") != "" || !strings.Contains(r.Header.Get("Accept"), "application/json") || !strings.Contains(r.Header.Get("Accept"), "text/html") ||
		r.Header.Get("Accept-Language") != "en-US" || r.Header.Get("User-Agent") == "" {
		t.Errorf("headers = %v", r.Header)
	}

	if res.Query != "acme robotics headquarters" || res.NumberOfResults != 0 || len(res.Results) != 3 {
		t.Fatalf("response = %+v", res)
	}
	first := res.Results[0]
	if first.URL != "https://www.acme-robotics.example/about" || first.Title != "About Acme Robotics" ||
		!strings.Contains(first.Content, "455 Market Street") || first.Engine != "duckduckgo" ||
		strings.Join(first.Engines, ",") != "duckduckgo,brave" || first.Score != 3 ||
		first.Category != "general" || first.PublishedDate != nil {
		t.Errorf("first result = %+v", first)
	}
	if d := res.Results[1].PublishedDate; d == nil || !d.Equal(time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("zone-less date = %v", d)
	}
	if d := res.Results[2].PublishedDate; d == nil || !d.Equal(time.Date(2023, 11, 2, 7, 30, 0, 0, time.UTC)) {
		t.Errorf("zoned date = %v", d)
	}
	if strings.Join(res.Suggestions, "|") != "acme robotics careers|acme robotics funding" {
		t.Errorf("suggestions = %v", res.Suggestions)
	}
	if len(res.UnresponsiveEngines) != 2 || res.UnresponsiveEngines[0] != (search.UnresponsiveEngine{Engine: "google", Error: "CAPTCHA"}) {
		t.Errorf("unresponsive = %+v", res.UnresponsiveEngines)
	}
	if len(res.Infoboxes) != 1 || !strings.Contains(string(res.Infoboxes[0]), "wikidata") {
		t.Errorf("infoboxes = %s", res.Infoboxes)
	}
}

func TestSearchBasePathAndProxyKey(t *testing.T) {
	f := newFake(t, reply{fixture: "searxng_search_answers.json"})
	c, _ := newClient(t, search.Config{BaseURL: f.URL + "/searxng/", APIKey: "proxy-SECRET"})

	res, err := c.Search(context.Background(), search.Query{Q: "1 usd in eur"})
	if err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.URL.Path != "/searxng/search" || r.Header.Get("Authorization") != "Bearer proxy-SECRET" {
		t.Errorf("path %s, Authorization %q", r.URL.Path, r.Header.Get("Authorization"))
	}
	if q := r.URL.Query(); q.Has("pageno") || q.Has("language") || q.Has("time_range") || q.Has("categories") {
		t.Errorf("defaults should be left to the instance: %v", q)
	}
	if len(res.Answers) != 1 || res.Answers[0] != "1.0 US dollar = 0.92 Euro" || res.NumberOfResults != 1240000 {
		t.Errorf("object answers: %+v", res)
	}
}

func TestSearchLegacyStringAnswers(t *testing.T) {
	f := newFake(t, reply{fixture: "searx_legacy_answers.json"})
	c, _ := newClient(t, search.Config{BaseURL: f.URL})

	res, err := c.Search(context.Background(), search.Query{Q: "1 usd in eur"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Answers) != 1 || res.Answers[0] != "1.0 US dollar = 0.92 Euro" || len(res.Corrections) != 1 {
		t.Errorf("string answers: %+v", res)
	}
}

func TestSearchJSONFormatDisabled(t *testing.T) {
	f := newFake(t, reply{status: 403, fixture: "forbidden.html", contentType: "text/html; charset=utf-8"})
	c, waits := newClient(t, search.Config{BaseURL: f.URL, APIKey: "proxy-SECRET"})

	_, err := c.Search(context.Background(), search.Query{Q: "acme"})
	if !errors.Is(err, search.ErrJSONDisabled) || !strings.Contains(err.Error(), "search.formats") {
		t.Fatalf("err = %v", err)
	}
	if errors.Is(err, search.ErrUpstream) || errors.Is(err, search.ErrRateLimited) {
		t.Errorf("a settings problem is not an outage: %v", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("key in error: %v", err)
	}
	if len(f.requests()) != 1 || len(*waits) != 0 {
		t.Error("403 must not be retried")
	}
}

func TestSearchRateLimitedThenOK(t *testing.T) {
	f := newFake(t, reply{status: 429, header: map[string]string{"Retry-After": "1"}}, reply{fixture: "searxng_search.json"})
	c, waits := newClient(t, search.Config{BaseURL: f.URL})

	if _, err := c.Search(context.Background(), search.Query{Q: "acme"}); err != nil {
		t.Fatal(err)
	}
	if len(*waits) != 1 || (*waits)[0] != time.Second {
		t.Errorf("waits = %v", *waits)
	}
}

func TestSearchLimiterRefusalExplainsTheFix(t *testing.T) {
	f := newFake(t, reply{status: 429}, reply{status: 429}, reply{status: 429})
	c, _ := newClient(t, search.Config{BaseURL: f.URL})

	_, err := c.Search(context.Background(), search.Query{Q: "acme"})
	if !errors.Is(err, search.ErrRateLimited) || !strings.Contains(err.Error(), "limiter.toml") {
		t.Fatalf("err = %v", err)
	}
}

func TestSearchServerErrorsGiveUp(t *testing.T) {
	f := newFake(t, reply{status: 502}, reply{status: 500}, reply{status: 503})
	c, waits := newClient(t, search.Config{BaseURL: f.URL})

	_, err := c.Search(context.Background(), search.Query{Q: "acme"})
	var ae *search.APIError
	if !errors.Is(err, search.ErrUpstream) || !errors.As(err, &ae) || ae.StatusCode != 503 {
		t.Fatalf("err = %v", err)
	}
	if len(f.requests()) != 3 || len(*waits) != 2 {
		t.Errorf("%d requests, waits %v", len(f.requests()), *waits)
	}
}

func TestSearchHTMLInsteadOfJSON(t *testing.T) {
	f := newFake(t, reply{fixture: "forbidden.html", contentType: "text/html"})
	c, _ := newClient(t, search.Config{BaseURL: f.URL})

	_, err := c.Search(context.Background(), search.Query{Q: "acme"})
	if !errors.Is(err, search.ErrUpstream) || !strings.Contains(err.Error(), "text/html") {
		t.Fatalf("err = %v", err)
	}
}

func TestSearchRejectsBadQueriesLocally(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, search.Config{BaseURL: f.URL})
	bad := 3
	for _, q := range []search.Query{{Q: "  "}, {Q: "x", TimeRange: "decade"}, {Q: "x", SafeSearch: &bad}} {
		if _, err := c.Search(context.Background(), q); !errors.Is(err, search.ErrBadRequest) {
			t.Errorf("%+v: err = %v", q, err)
		}
	}
	if len(f.requests()) != 0 {
		t.Error("invalid queries were sent")
	}
}

func TestSearchContextCancelled(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, search.Config{BaseURL: f.URL})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Search(ctx, search.Query{Q: "acme"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestNewRequiresBaseURL(t *testing.T) {
	_, err := search.New(search.Config{})
	var ce *search.ConfigError
	if !errors.Is(err, search.ErrNotConfigured) || !errors.As(err, &ce) || ce.Field != "BaseURL" {
		t.Fatalf("err = %v", err)
	}
	if _, err := search.New(search.Config{BaseURL: "searxng:8080"}); !errors.Is(err, search.ErrInvalidConfig) {
		t.Fatalf("err = %v", err)
	}
}
