package salesforce

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/crm"
)

var org = uuid.New()

func TestClientCredentialsFlow(t *testing.T) {
	f := newFake(t)
	id := crm.NewID(crm.Account)
	f.on("GET "+v+"sobjects/Account/"+id, reply200(200, fixture(t, "sobject_find_success_response.json")))
	c := f.client()
	rec, err := c.Get(context.Background(), org, crm.Account, id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != "23foo" || rec.Str("Name") != "My First Whizbang" {
		t.Fatalf("record %+v", rec)
	}
	if len(f.tokenForms) != 1 {
		t.Fatalf("%d token requests", len(f.tokenForms))
	}
	form := f.tokenForms[0]
	if form["grant_type"][0] != "client_credentials" || form["client_id"][0] != "cid" || form["client_secret"][0] != "csecret" {
		t.Fatalf("token form %v", form)
	}
	reqs := f.requests()
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer "+firstToken {
		t.Fatalf("Authorization %q", got)
	}
	// The token is kept: a second call does not log in again.
	if _, err := c.Get(context.Background(), org, crm.Account, id); err != nil || f.tokenCount() != 1 {
		t.Fatalf("second call: %v, %d token requests", err, f.tokenCount())
	}
}

func TestJWTBearerFlow(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "server.key")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFake(t)
	id := crm.NewID(crm.Contact)
	f.on("GET "+v+"sobjects/Contact/"+id, reply200(200, fixture(t, "sobject_find_success_response.json")))
	c, err := New(config.SalesforceConfig{LoginURL: f.srv.URL, ClientID: "consumer-key", Username: "integration@example.com", PrivateKeyFile: path})
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP = f.srv.Client()
	now := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	c.Now = func() time.Time { return now }
	if _, err := c.Get(context.Background(), org, crm.Contact, id); err != nil {
		t.Fatal(err)
	}
	form := f.tokenForms[0]
	if form["grant_type"][0] != "urn:ietf:params:oauth:grant-type:jwt-bearer" || form["client_secret"] != nil {
		t.Fatalf("token form %v", form)
	}
	parts := strings.Split(form["assertion"][0], ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q", form["assertion"][0])
	}
	head, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]string
	if err := json.Unmarshal(head, &h); err != nil || h["alg"] != "RS256" {
		t.Fatalf("header %s", head)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("signature: %v", err)
	}
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Iss, Sub, Aud string
		Exp           int64
	}
	if err := json.Unmarshal(body, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Iss != "consumer-key" || claims.Sub != "integration@example.com" || claims.Aud != f.srv.URL ||
		claims.Exp != now.Add(3*time.Minute).Unix() {
		t.Fatalf("claims %+v", claims)
	}
}

func TestAudience(t *testing.T) {
	for in, want := range map[string]string{
		"https://login.salesforce.com":                "https://login.salesforce.com",
		"https://test.salesforce.com/":                "https://test.salesforce.com",
		"https://acme.my.salesforce.com":              "https://login.salesforce.com",
		"https://acme--uat.sandbox.my.salesforce.com": "https://test.salesforce.com",
		"http://127.0.0.1:9999":                       "http://127.0.0.1:9999",
	} {
		if got := audience(in); got != want {
			t.Errorf("audience(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestPrivateKeyFileErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(path, []byte("not a key"), 0o600)
	if _, err := New(config.SalesforceConfig{ClientID: "x", Username: "u", PrivateKeyFile: path}); err == nil ||
		!strings.Contains(err.Error(), "LANTERN_SALESFORCE_PRIVATE_KEY_FILE") {
		t.Fatalf("err %v", err)
	}
}

func TestAuthRefused(t *testing.T) {
	f := newFake(t)
	srv := f.srv
	// Replace the token endpoint with the captured invalid_grant answer.
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write(fixture(t, "auth_error_response.json"))
	})
	c := f.client()
	_, err := c.Get(context.Background(), org, crm.Account, crm.NewID(crm.Account))
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Unavailable {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(e.Message, "invalid_grant") || strings.Contains(e.Message, "Invalid Password") || strings.Contains(e.Message, "csecret") {
		t.Fatalf("message %q", e.Message)
	}
}

func TestRefreshOnInvalidSessionREST(t *testing.T) {
	f := newFake(t)
	id := crm.NewID(crm.Account)
	f.on("GET "+v+"sobjects/Account/"+id, reply200(200, fixture(t, "sobject_find_success_response.json")))
	f.expireNext = true // the first token is refused with INVALID_SESSION_ID
	c := f.client()
	rec, err := c.Get(context.Background(), org, crm.Account, id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != "23foo" {
		t.Fatalf("record %+v", rec)
	}
	reqs := f.requests()
	if f.tokenCount() != 2 || len(reqs) != 2 {
		t.Fatalf("%d tokens, %d requests", f.tokenCount(), len(reqs))
	}
	if reqs[0].Header.Get("Authorization") != "Bearer "+firstToken || reqs[1].Header.Get("Authorization") != "Bearer "+f.tokens[1] {
		t.Fatalf("authorization headers %q, %q", reqs[0].Header.Get("Authorization"), reqs[1].Header.Get("Authorization"))
	}
}

func TestRefreshOnlyOnce(t *testing.T) {
	f := newFake(t)
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/services/oauth2/token" {
			f.serve(w, r)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		w.Write(fixture(t, "expired_session_response.json"))
	})
	c := f.client()
	_, err := c.Get(context.Background(), org, crm.Account, crm.NewID(crm.Account))
	if !apperr.Is(err, apperr.Unavailable) || f.tokenCount() != 2 {
		t.Fatalf("err %v after %d tokens", err, f.tokenCount())
	}
}

func TestRefreshOnInvalidSessionSOAP(t *testing.T) {
	f := newFake(t)
	f.on("POST /services/Soap/u/61.0", reply200(200, fixture(t, "soap_undelete_response.xml")))
	f.expireNext = true
	c := f.client()
	ids := []string{crm.NewID(crm.Account), crm.NewID(crm.Account)}
	err := c.Undelete(context.Background(), org, crm.Account, ids)
	// The fixture's second result failed: the call got through after the new token.
	if !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("err %v", err)
	}
	reqs := f.requests()
	if f.tokenCount() != 2 || len(reqs) != 2 {
		t.Fatalf("%d tokens, %d requests", f.tokenCount(), len(reqs))
	}
	if !strings.Contains(string(reqs[0].Body), firstToken) || !strings.Contains(string(reqs[1].Body), "<urn:sessionId>"+f.tokens[1]+"</urn:sessionId>") {
		t.Fatalf("session ids:\n%s\n%s", reqs[0].Body, reqs[1].Body)
	}
}

func TestConcurrentCallsLogInOnce(t *testing.T) {
	f := newFake(t)
	id := crm.NewID(crm.Account)
	f.on("GET "+v+"sobjects/Account/"+id, reply200(200, fixture(t, "sobject_find_success_response.json")))
	c := f.client()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			_, err := c.Get(context.Background(), org, crm.Account, id)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if f.tokenCount() != 1 {
		t.Fatalf("%d token requests", f.tokenCount())
	}
}
