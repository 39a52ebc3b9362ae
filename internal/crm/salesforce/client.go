// Package salesforce is the CRM port (crm.Store and crm.Converter) over a Salesforce org: REST
// for reads and writes (SOQL queries, sObject rows, upserts by external id, sObject
// Collections for batches of 200) and the SOAP partner API for convertLead, merge and
// undelete, which REST does not offer.
//
// One Salesforce org serves the whole Lantern server: the org argument of the port's methods
// is not sent to Salesforce, so every Lantern org of a server configured with
// LANTERN_CRM=salesforce sees the same CRM.
//
// Records: Record.Version is the record's SystemModstamp (else LastModifiedDate) in Unix
// milliseconds, so it rises on every change, though not by one. Update with ifVersion compares
// it with the record's current value and sends If-Unmodified-Since, so Salesforce refuses
// (412) a change made after the version the caller read.
//
// Queries select FIELDS(STANDARD) plus the external id field (Get returns every field) in Id
// order, LIMIT one more than the page to tell whether another follows, following
// nextRecordsUrl. Filters become SOQL conditions on the object's own fields (city is
// BillingCity on Account, MailingCity on Contact, City on Lead; domain is a LIKE on Website or
// on Email's "@domain"; phone matches the last ten digits however they were typed), every
// value a literal escaped by EscapeSOQL/EscapeSOQLLike. SOQL compares strings without regard
// to case, as the local store's normalised columns do.
//
// Limits: every response's Sforce-Limit-Info (api-usage=N/M; in SOAP, the LimitInfoHeader)
// is noted. When usage reaches MaxAPIUsage of the org's daily allowance, calls are refused for
// LimitHold (one minute) with upstream_unavailable and a *LimitError carrying RetryAfter, so
// Lantern leaves the rest of the allowance to the org's other integrations; the first call
// after the hold reads usage afresh.
// REQUEST_LIMIT_EXCEEDED (and 429) are retried with exponential backoff (Backoff, doubled per
// attempt, at most Retries times, honouring Retry-After and ctx), then answered as
// upstream_unavailable. A 401 or INVALID_SESSION_ID fetches a new token once and retries.
package salesforce

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/crm"
)

var (
	_ crm.Store     = (*Client)(nil)
	_ crm.Converter = (*Client)(nil)
)

// maxBody is the most bytes of one response read.
const maxBody = 64 << 20

// Client is the Salesforce adapter. Build it with New; the exported fields may be changed
// before first use (tests shorten Backoff and LimitHold).
type Client struct {
	HTTP      *http.Client
	Now       func() time.Time
	Backoff   time.Duration // first wait after REQUEST_LIMIT_EXCEEDED; doubled per retry
	Retries   int           // retries after REQUEST_LIMIT_EXCEEDED, 429 or (for reads) 5xx
	LimitHold time.Duration // pause after usage reached MaxAPIUsage

	cfg config.SalesforceConfig
	key *rsa.PrivateKey // JWT bearer flow; nil: client credentials

	authMu      sync.Mutex // one token request at a time
	mu          sync.Mutex
	token       string
	instanceURL string
	used, max   int       // last Sforce-Limit-Info api-usage
	holdUntil   time.Time // calls are refused until then
}

// New builds a client from the settings, reading the private key of the JWT bearer flow.
// It does not call Salesforce: the first call fetches a token.
func New(cfg config.SalesforceConfig) (*Client, error) {
	c := &Client{cfg: cfg, Backoff: time.Second, Retries: 4, LimitHold: time.Minute}
	if c.cfg.APIVersion == "" {
		c.cfg.APIVersion = "v61.0"
	}
	if c.cfg.ExternalIDField == "" {
		c.cfg.ExternalIDField = "Lantern_External_Id__c"
	}
	if c.cfg.LoginURL == "" {
		c.cfg.LoginURL = "https://login.salesforce.com"
	}
	c.cfg.LoginURL = strings.TrimRight(c.cfg.LoginURL, "/")
	if c.cfg.MaxAPIUsage <= 0 {
		c.cfg.MaxAPIUsage = 0.9
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	c.HTTP = &http.Client{Timeout: timeout}
	if cfg.PrivateKeyFile != "" {
		key, err := readKey(cfg.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("LANTERN_SALESFORCE_PRIVATE_KEY_FILE: %w", err)
		}
		c.key = key
	}
	return c, nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// LimitError is the cause of an upstream_unavailable error due to Salesforce API limits.
type LimitError struct {
	Used, Max  int           // the org's daily API requests, when known
	RetryAfter time.Duration // when a retry may succeed
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("salesforce api usage %d/%d, retry after %s", e.Used, e.Max, e.RetryAfter)
}

// RetryAfter is how long err (from this package) says to wait before retrying, or 0.
func RetryAfter(err error) time.Duration {
	var le *LimitError
	if errors.As(err, &le) {
		return le.RetryAfter
	}
	return 0
}

// session is the token and instance one attempt used.
type session struct{ token, instance string }

func (c *Client) session(ctx context.Context) (session, error) {
	c.mu.Lock()
	s := session{c.token, c.instanceURL}
	c.mu.Unlock()
	if s.token != "" {
		return s, nil
	}
	c.authMu.Lock()
	defer c.authMu.Unlock()
	c.mu.Lock()
	s = session{c.token, c.instanceURL}
	c.mu.Unlock()
	if s.token != "" { // another call logged in meanwhile
		return s, nil
	}
	return c.authenticate(ctx)
}

// invalidate drops the token if it is still stale, so the next session fetches a new one.
func (c *Client) invalidate(stale string) {
	c.mu.Lock()
	if c.token == stale {
		c.token = ""
	}
	c.mu.Unlock()
}

// noteLimit records Sforce-Limit-Info: api-usage=N/M.
func (c *Client) noteLimit(h http.Header) {
	if used, max, ok := parseLimitInfo(h.Get("Sforce-Limit-Info")); ok {
		c.noteUsage(used, max)
	}
}

// noteUsage records the org's API usage and starts a hold when it is above MaxAPIUsage.
func (c *Client) noteUsage(used, max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.used, c.max = used, max
	if c.cfg.MaxAPIUsage < 1 && float64(used) >= c.cfg.MaxAPIUsage*float64(max) {
		c.holdUntil = c.now().Add(c.LimitHold)
	} else {
		c.holdUntil = time.Time{}
	}
}

// parseLimitInfo reads "api-usage=18/5000" out of a Sforce-Limit-Info header (which may list
// other entries, comma-separated, such as per-app-api-usage).
func parseLimitInfo(v string) (used, max int, ok bool) {
	for _, part := range strings.Split(v, ",") {
		name, val, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found || strings.TrimSpace(name) != "api-usage" {
			continue
		}
		u, m, found := strings.Cut(strings.TrimSpace(val), "/")
		if !found {
			return 0, 0, false
		}
		used, err1 := strconv.Atoi(u)
		max, err2 := strconv.Atoi(m)
		if err1 != nil || err2 != nil || used < 0 || max <= 0 {
			return 0, 0, false
		}
		return used, max, true
	}
	return 0, 0, false
}

// checkHold refuses a call while usage is above the configured fraction.
func (c *Client) checkHold() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wait := c.holdUntil.Sub(c.now()); wait > 0 {
		return &apperr.Error{Code: apperr.Unavailable,
			Message: fmt.Sprintf("Salesforce API usage is at %d of the org's %d daily requests, above the %.0f%% Lantern may use; retry in %ds",
				c.used, c.max, c.cfg.MaxAPIUsage*100, int(wait.Seconds()+0.999)),
			Err: &LimitError{Used: c.used, Max: c.max, RetryAfter: wait}}
	}
	return nil
}

// Usage is the last api-usage Salesforce reported (0, 0 before the first call).
func (c *Client) Usage() (used, max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, c.max
}

// reply is one HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// exchange sends the request build makes, with the current session, handling what every call
// shares: the usage hold, re-authentication on an invalid session, backoff on request limits,
// retries of reads on 5xx and transport errors. code extracts Salesforce's error code from an
// answer (REST JSON or SOAP fault). The answer is returned whatever its status.
func (c *Client) exchange(ctx context.Context, idempotent bool, build func(s session) (*http.Request, error),
	code func(status int, body []byte) string) (*reply, error) {
	refreshed := false
	for try := 0; ; try++ {
		if err := c.checkHold(); err != nil {
			return nil, err
		}
		s, err := c.session(ctx)
		if err != nil {
			return nil, err
		}
		req, err := build(s)
		if err != nil {
			return nil, err
		}
		resp, err := c.HTTP.Do(req.WithContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if idempotent && try < c.Retries {
				if err := c.sleep(ctx, c.backoff(try, 0)); err != nil {
					return nil, err
				}
				continue
			}
			return nil, apperr.Wrap(apperr.Unavailable, err, "Salesforce did not answer in time")
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, apperr.Wrap(apperr.Unavailable, err, "Salesforce's answer was cut off")
		}
		c.noteLimit(resp.Header)
		r := &reply{status: resp.StatusCode, header: resp.Header, body: body}
		ec := code(r.status, body)
		switch {
		case r.status == http.StatusUnauthorized || ec == "INVALID_SESSION_ID":
			if !refreshed {
				refreshed = true
				c.invalidate(s.token)
				try--
				continue
			}
			return nil, apperr.Wrap(apperr.Unavailable, fmt.Errorf("salesforce: %d %s after a new token", r.status, ec),
				"Salesforce refused Lantern's session; check the connected app's settings")
		case ec == "REQUEST_LIMIT_EXCEEDED" || r.status == http.StatusTooManyRequests:
			wait := c.backoff(try, retryAfterHeader(resp.Header))
			if try < c.Retries {
				if err := c.sleep(ctx, wait); err != nil {
					return nil, err
				}
				continue
			}
			used, max := c.Usage()
			return nil, &apperr.Error{Code: apperr.Unavailable,
				Message: "Salesforce's API request limit for the org is exhausted; retry later",
				Err:     &LimitError{Used: used, Max: max, RetryAfter: wait}}
		case r.status >= 500 && ec == "" && idempotent && try < c.Retries:
			if err := c.sleep(ctx, c.backoff(try, retryAfterHeader(resp.Header))); err != nil {
				return nil, err
			}
			continue
		}
		return r, nil
	}
}

func (c *Client) backoff(try int, hint time.Duration) time.Duration {
	d := c.Backoff << min(try, 10)
	if d > time.Minute {
		d = time.Minute
	}
	return max(d, hint)
}

func retryAfterHeader(h http.Header) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
		return min(time.Duration(s)*time.Second, 5*time.Minute)
	}
	return 0
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// rest calls the REST API. path starts with "/services/" (nextRecordsUrl is such a path) or is
// relative to /services/data/vXX.X/. body, when not nil, is sent as JSON. Reads (GET) are
// retried on 5xx.
func (c *Client) rest(ctx context.Context, method, path string, body any, header http.Header) (*reply, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	if !strings.HasPrefix(path, "/services/") {
		path = "/services/data/" + c.cfg.APIVersion + "/" + path
	}
	return c.exchange(ctx, method == http.MethodGet, func(s session) (*http.Request, error) {
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequest(method, s.instance+path, rd)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		return req, nil
	}, restCode)
}

// restCode is the errorCode of the first error of a REST error array.
func restCode(status int, body []byte) string {
	if status < 300 {
		return ""
	}
	errs := parseRESTErrors(body)
	if len(errs) == 0 {
		return ""
	}
	return errs[0].code()
}
