package vendors

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/lanternhq/lantern/internal/enrich/httpx"
)

// Hunter calls Hunter's API v2 (https://hunter.io/api-documentation/v2). The key travels as
// the api_key query parameter, as the documentation's examples do; errors never show it.
type Hunter struct {
	base *url.URL
	key  string
	t    *httpx.Transport
}

// NewHunter checks cfg; an empty BaseURL or APIKey is a *ConfigError (ErrNotConfigured).
func NewHunter(cfg Config) (*Hunter, error) {
	base, t, err := newTransport("hunter", cfg)
	if err != nil {
		return nil, err
	}
	t.ParseError = parseHunterError
	t.Classify = classifyHunter
	return &Hunter{base: base, key: cfg.APIKey, t: t}, nil
}

// HunterFindInput names a person at a company. Hunter needs Domain or Company, and
// FirstName+LastName or FullName; Domain gives better results than Company.
type HunterFindInput struct {
	Domain    string
	Company   string
	FirstName string
	LastName  string
	FullName  string
}

// HunterSource is a public page where Hunter saw the address.
type HunterSource struct {
	Domain      string `json:"domain"`
	URI         string `json:"uri"`
	ExtractedOn string `json:"extracted_on"` // YYYY-MM-DD
	LastSeenOn  string `json:"last_seen_on"` // YYYY-MM-DD
	StillOnPage bool   `json:"still_on_page"`
}

// HunterVerificationStatus is the Email Finder's summary of a past verification.
type HunterVerificationStatus struct {
	Date   string `json:"date"`   // YYYY-MM-DD
	Status string `json:"status"` // valid, accept_all, unknown, invalid; empty when never verified
}

// HunterEmail is the Email Finder's data object.
type HunterEmail struct {
	Email        string
	Score        int // 0-100, Hunter's confidence in the address
	Domain       string
	FirstName    string
	LastName     string
	Position     string
	Twitter      string
	LinkedInURL  string
	PhoneNumber  string
	Company      string
	AcceptAll    bool
	Sources      []HunterSource
	Verification HunterVerificationStatus
	Raw          json.RawMessage // the whole response body
}

// Confidence maps the result onto the engine's 0-1 scale (see the package documentation).
func (e HunterEmail) Confidence() float64 { return HunterConfidence(e.Score, e.Verification.Status) }

// FindEmail asks the Email Finder for the person's address. No address is a *APIError of
// KindNotFound (ErrNotFound), which Hunter does not bill.
func (h *Hunter) FindEmail(ctx context.Context, in HunterFindInput) (HunterEmail, error) {
	in = HunterFindInput{Domain: strings.TrimSpace(in.Domain), Company: strings.TrimSpace(in.Company),
		FirstName: strings.TrimSpace(in.FirstName), LastName: strings.TrimSpace(in.LastName), FullName: strings.TrimSpace(in.FullName)}
	if in.Domain == "" && in.Company == "" {
		return HunterEmail{}, fmt.Errorf("%w: Hunter needs a domain or a company name", ErrBadInput)
	}
	if in.FullName == "" && (in.FirstName == "" || in.LastName == "") {
		return HunterEmail{}, fmt.Errorf("%w: Hunter needs a first and last name, or a full name", ErrBadInput)
	}
	q := url.Values{}
	set(q, "domain", in.Domain)
	if in.Domain == "" {
		set(q, "company", in.Company) // Hunter ignores company when domain is given
	}
	if in.FirstName != "" && in.LastName != "" {
		set(q, "first_name", in.FirstName)
		set(q, "last_name", in.LastName)
	} else {
		set(q, "full_name", in.FullName)
	}
	resp, err := h.get(ctx, "/email-finder", q)
	if err != nil {
		return HunterEmail{}, err
	}
	return parseHunterFinder(resp.Status, resp.Body)
}

func parseHunterFinder(status int, body []byte) (HunterEmail, error) {
	var w struct {
		Data *struct {
			Email        *string                   `json:"email"`
			Score        *float64                  `json:"score"`
			Domain       *string                   `json:"domain"`
			FirstName    *string                   `json:"first_name"`
			LastName     *string                   `json:"last_name"`
			Position     *string                   `json:"position"`
			Twitter      *string                   `json:"twitter"`
			LinkedInURL  *string                   `json:"linkedin_url"`
			PhoneNumber  *string                   `json:"phone_number"`
			Company      *string                   `json:"company"`
			AcceptAll    *bool                     `json:"accept_all"`
			Sources      []HunterSource            `json:"sources"`
			Verification *HunterVerificationStatus `json:"verification"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return HunterEmail{}, badBody("hunter", status, err)
	}
	if w.Data == nil || str(w.Data.Email) == "" {
		return HunterEmail{}, &APIError{Service: "hunter", Kind: KindNotFound, StatusCode: status,
			Message: "Hunter found no email address for this person"}
	}
	d := w.Data
	out := HunterEmail{
		Email: str(d.Email), Score: score(d.Score), Domain: str(d.Domain), FirstName: str(d.FirstName),
		LastName: str(d.LastName), Position: str(d.Position), Twitter: str(d.Twitter),
		LinkedInURL: str(d.LinkedInURL), PhoneNumber: str(d.PhoneNumber), Company: str(d.Company),
		Sources: d.Sources, Raw: json.RawMessage(body),
	}
	if d.AcceptAll != nil {
		out.AcceptAll = *d.AcceptAll
	}
	if d.Verification != nil {
		out.Verification = *d.Verification
	}
	return out, nil
}

// HunterVerification is the Email Verifier's data object.
type HunterVerification struct {
	Email      string
	Status     string // valid, invalid, accept_all, webmail, disposable, unknown
	Result     string // deprecated by Hunter in favour of Status: deliverable, undeliverable, risky
	Score      int    // 0-100 deliverability
	Regexp     bool
	Gibberish  bool
	Disposable bool
	Webmail    bool
	MXRecords  bool
	SMTPServer bool
	SMTPCheck  bool
	AcceptAll  bool
	Block      bool
	Sources    []HunterSource
	Raw        json.RawMessage // the whole response body
}

// Confidence maps the verdict onto the engine's 0-1 scale (see the package documentation).
func (v HunterVerification) Confidence() float64 { return HunterConfidence(v.Score, v.Status) }

// VerifyEmail asks the Email Verifier about one address. While Hunter is still checking (202)
// or the mail server timed out (222) the error matches ErrPending: call again later; Hunter
// counts the repeated calls as one request.
func (h *Hunter) VerifyEmail(ctx context.Context, email string) (HunterVerification, error) {
	email = strings.TrimSpace(email)
	if at := strings.LastIndexByte(email, '@'); at < 1 || at == len(email)-1 {
		return HunterVerification{}, fmt.Errorf("%w: %q is not an email address", ErrBadInput, email)
	}
	resp, err := h.get(ctx, "/email-verifier", url.Values{"email": {email}})
	if err != nil {
		return HunterVerification{}, err
	}
	switch resp.Status {
	case http.StatusAccepted:
		return HunterVerification{}, &APIError{Service: "hunter", Kind: KindPending, StatusCode: resp.Status,
			Message: "the verification is still in progress; ask again later"}
	case 222:
		return HunterVerification{}, &APIError{Service: "hunter", Kind: KindPending, StatusCode: resp.Status,
			Message: "the mail server gave an unexpected answer; Hunter advises retrying later"}
	}
	return parseHunterVerifier(resp.Status, resp.Body)
}

func parseHunterVerifier(status int, body []byte) (HunterVerification, error) {
	var w struct {
		Data *struct {
			Email      string         `json:"email"`
			Status     string         `json:"status"`
			Result     string         `json:"result"`
			Score      *float64       `json:"score"`
			Regexp     bool           `json:"regexp"`
			Gibberish  bool           `json:"gibberish"`
			Disposable bool           `json:"disposable"`
			Webmail    bool           `json:"webmail"`
			MXRecords  bool           `json:"mx_records"`
			SMTPServer bool           `json:"smtp_server"`
			SMTPCheck  bool           `json:"smtp_check"`
			AcceptAll  bool           `json:"accept_all"`
			Block      bool           `json:"block"`
			Sources    []HunterSource `json:"sources"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return HunterVerification{}, badBody("hunter", status, err)
	}
	if w.Data == nil || w.Data.Status == "" {
		return HunterVerification{}, &APIError{Service: "hunter", Kind: KindUpstream, StatusCode: status,
			Message: "the verifier's answer has no status"}
	}
	d := w.Data
	return HunterVerification{
		Email: d.Email, Status: d.Status, Result: d.Result, Score: score(d.Score), Regexp: d.Regexp,
		Gibberish: d.Gibberish, Disposable: d.Disposable, Webmail: d.Webmail, MXRecords: d.MXRecords,
		SMTPServer: d.SMTPServer, SMTPCheck: d.SMTPCheck, AcceptAll: d.AcceptAll, Block: d.Block,
		Sources: d.Sources, Raw: json.RawMessage(body),
	}, nil
}

func (h *Hunter) get(ctx context.Context, path string, q url.Values) (*httpx.Response, error) {
	q.Set("api_key", h.key)
	target := endpoint(h.base, path, q)
	return h.t.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "lantern-enrich")
		return req, nil
	})
}

// parseHunterError reads {"errors":[{"id","code","details"}]}; Hunter names no parameter.
func parseHunterError(_ int, body []byte) (code, param, message string) {
	var w struct {
		Errors []struct {
			ID      string `json:"id"`
			Details string `json:"details"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &w) != nil || len(w.Errors) == 0 {
		return "", "", ""
	}
	var details []string
	for _, e := range w.Errors {
		if e.Details != "" {
			details = append(details, e.Details)
		}
	}
	return w.Errors[0].ID, "", strings.Join(details, "; ")
}

// classifyHunter follows Hunter's table: 403 is its rate limit and 429 its usage (credit)
// limit, unlike most APIs; 451 means the person asked Hunter not to process their data.
func classifyHunter(status int, _ string) Kind {
	switch status {
	case http.StatusForbidden:
		return KindRateLimited
	case http.StatusTooManyRequests:
		return KindQuotaExceeded
	case http.StatusUnavailableForLegalReasons:
		return KindNotFound
	}
	return httpx.ClassifyStatus(status)
}

func set(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func score(p *float64) int {
	if p == nil || math.IsNaN(*p) {
		return 0
	}
	return int(math.Round(math.Max(0, math.Min(100, *p))))
}

func badBody(service string, status int, err error) error {
	return &APIError{Service: service, Kind: KindUpstream, StatusCode: status,
		Message: "unreadable response: " + httpx.Shorten(err.Error(), 200)}
}
