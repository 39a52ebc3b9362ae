package salesforce

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/config"
)

// fixture reads a file of testdata/salesforce.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "salesforce", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seen is one request the fake Salesforce received.
type seen struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// fakeSF is an httptest Salesforce: a token endpoint handing out tokens in turn (the first is
// the captured auth_success_response.json token), and handlers by "METHOD /path" that answer
// only requests bearing the current token (else 401 INVALID_SESSION_ID, captured).
type fakeSF struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	tokens     []string // tokens handed out, in order
	valid      string   // the token REST and SOAP accept
	expireNext bool     // the next token handed out is already invalid
	tokenForms []map[string][]string
	reqs       []seen
	routes     map[string]http.HandlerFunc
}

const firstToken = "00Dx0000000BV7z!AR8AQAxo9UfVkh8AlV0Gomt9Czx9LjHnSSpwBMmbRcgKFmxOtvxjTrKW19ye6PE3Ds1eQz3z8jr3W7_VbWmEu4Q8TVGSTHxs"

func newFake(t *testing.T) *fakeSF {
	f := &fakeSF{t: t, routes: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSF) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/services/oauth2/token" {
		f.token(w, r, body)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	valid := f.valid
	h := f.routes[r.Method+" "+r.URL.Path]
	f.mu.Unlock()
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if strings.HasPrefix(r.URL.Path, "/services/Soap/") {
		token = between(string(body), "<urn:sessionId>", "</urn:sessionId>")
	}
	if token != valid {
		if strings.HasPrefix(r.URL.Path, "/services/Soap/") {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write(fixture(f.t, "soap_invalid_session_fault.xml"))
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		w.Write(fixture(f.t, "expired_session_response.json"))
		return
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	if h == nil {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`))
		return
	}
	h(w, r)
}

func (f *fakeSF) token(w http.ResponseWriter, r *http.Request, body []byte) {
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	if err := r.ParseForm(); err != nil {
		f.t.Error(err)
	}
	var tr map[string]any
	if err := json.Unmarshal(fixture(f.t, "auth_success_response.json"), &tr); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenForms = append(f.tokenForms, r.PostForm)
	tok := firstToken
	if n := len(f.tokens); n > 0 {
		tok = "second-token-" + string(rune('A'+n))
	}
	f.tokens = append(f.tokens, tok)
	if f.expireNext {
		f.expireNext = false
	} else {
		f.valid = tok
	}
	tr["access_token"] = tok
	tr["instance_url"] = f.srv.URL
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(tr)
}

// on answers METHOD /path.
func (f *fakeSF) on(route string, h http.HandlerFunc) {
	f.mu.Lock()
	f.routes[route] = h
	f.mu.Unlock()
}

// reply answers with a fixed status and body.
func reply200(status int, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(body) > 0 && body[0] == '<' {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		w.Write(body)
	}
}

func (f *fakeSF) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fakeSF) tokenCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tokens)
}

// client is a client-credentials Client against the fake.
func (f *fakeSF) client() *Client {
	c, err := New(config.SalesforceConfig{LoginURL: f.srv.URL, ClientID: "cid", ClientSecret: "csecret", APIVersion: "v61.0",
		ExternalIDField: "Lantern_External_Id__c", MaxAPIUsage: 0.9})
	if err != nil {
		f.t.Fatal(err)
	}
	c.HTTP = f.srv.Client()
	c.HTTP.Timeout = 5 * time.Second
	c.Backoff = time.Millisecond
	return c
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

const v = "/services/data/v61.0/"
