package email

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/lanternhq/lantern/internal/apperr"
)

// Status is the verdict on an address; see the package doc.
type Status string

const (
	StatusValid     Status = "valid"
	StatusAcceptAll Status = "accept_all"
	StatusUnknown   Status = "unknown"
	StatusInvalid   Status = "invalid"
)

// Confidence values and factors of the scale in the package doc.
const (
	ConfidenceValid         = 0.98 // SMTP accepted, random mailbox rejected
	ConfidenceValidUnprobed = 0.95 // SMTP accepted, catch-all probe inconclusive
	ConfidenceAcceptAllBase = 0.50 // catch-all: plus AcceptAllSpan × pattern probability
	AcceptAllSpan           = 0.10
	ConfidencePatternCap    = 0.90 // no SMTP: pattern probability, at most this
	ConfidenceMXOnly        = 0.50 // Verify without SMTP: syntax and MX fine
	FactorImplicitMX        = 0.8
	FactorDNSTempFail       = 0.5
	FactorTopRejected       = 0.5 // offering the next candidate after the server rejected the top ones
)

// Names of the checks reported in Checks.
const (
	StepSyntax         = "syntax"
	StepDisposable     = "disposable"
	StepMX             = "mx"
	StepPatternPrior   = "pattern-prior"
	StepPatternLearned = "pattern-learned"
	StepSMTP           = "smtp"
	StepCatchAll       = "catch-all"
)

const defaultSMTPChecks = 3

// FindInput is what Find needs. Give FirstName and LastName, or FullName.
type FindInput struct {
	FirstName string
	LastName  string
	FullName  string
	// Domain is the company's domain; a URL or an address at the domain is accepted too.
	Domain string
	// Known are addresses of other people at the domain; those at other domains are ignored.
	// When present, the pattern they share outranks the survey priors.
	Known []Known
	// Resolver answers DNS; nil uses net.DefaultResolver. Production passes NewResolver(cfg).
	Resolver Resolver
	// SMTP, when non-nil, verifies the best candidates with the domain's mail server.
	SMTP *Verifier
	// MaxSMTPChecks is how many top candidates to RCPT in the SMTP session; 0 means 3. More
	// RCPTs of unknown mailboxes make servers slow down or block the sender.
	MaxSMTPChecks int
}

// Alternative is a candidate with its verdict.
type Alternative struct {
	Candidate
	Confidence float64 `json:"confidence"`
	Status     Status  `json:"status"`
}

// FindResult is the best address found for a person, with the evidence behind it.
type FindResult struct {
	// Email is the best address; "" when the domain cannot receive mail or every candidate
	// was rejected.
	Email      string  `json:"email"`
	Pattern    string  `json:"pattern"`
	Status     Status  `json:"status"`
	Confidence float64 `json:"confidence"`
	// Alternatives are the other candidates, most confident first.
	Alternatives []Alternative `json:"alternatives"`
	Domain       string        `json:"domain"`
	MX           []string      `json:"mx"`
	Flags        Flags         `json:"flags"`
	// Checks names what ran: syntax, mx, pattern-prior or pattern-learned, smtp, catch-all.
	Checks  []string `json:"checks"`
	Reasons []string `json:"reasons"`
}

// Find works out a person's address at a company domain: it normalises the name and domain,
// refuses webmail and disposable domains (they are not company domains), checks MX, ranks the
// candidates (by the pattern learned from in.Known when they explain any, else by survey
// priors) and, if in.SMTP is set, verifies the best few in one SMTP session.
//
// DNS and SMTP outcomes are part of the result. The error is an *apperr.Error (invalid_input)
// for a missing or unusable name or domain, or ctx.Err() when ctx ends.
func Find(ctx context.Context, in FindInput) (FindResult, error) {
	domain, err := NormalizeDomain(in.Domain)
	if err != nil {
		msg := err.Error()
		if e, ok := apperr.As(err); ok {
			msg = e.Message
		}
		return FindResult{}, apperr.Field("domain", "%s", msg)
	}
	if IsWebmail(domain) {
		return FindResult{}, apperr.Field("domain", "%s is a personal webmail provider: a company domain is needed", domain)
	}
	if IsDisposable(domain) {
		return FindResult{}, apperr.Field("domain", "%s is a disposable-email provider: a company domain is needed", domain)
	}
	name := NewName(in.FirstName, in.LastName, in.FullName)
	if name.IsZero() {
		return FindResult{}, apperr.Field("name", "a person's name in Latin letters is needed (first and last name, or full name)")
	}
	res := FindResult{Domain: domain, Checks: []string{StepSyntax}, Alternatives: []Alternative{}}

	var known []Known
	for _, k := range in.Known {
		if a, err := Parse(k.Email); err == nil && a.Domain == domain {
			known = append(known, k)
		}
	}
	ev := Learn(known)
	prob := Prior
	if p, share, n := ev.Dominant(); p != "" {
		prob = ev.Share
		res.Checks = append(res.Checks, StepPatternLearned)
		res.Reasons = append(res.Reasons, fmt.Sprintf("pattern %s explains %d of %d known addresses at %s (smoothed share %.2f)", p, n, ev.N, domain, share))
	} else {
		res.Checks = append(res.Checks, StepPatternPrior)
		if ev.N > 0 {
			res.Reasons = append(res.Reasons, fmt.Sprintf("none of the %d known addresses fits a known pattern; ranking by survey priors", ev.N))
		}
	}
	cands := candidates(name, domain, prob)
	if len(cands) == 0 {
		return FindResult{}, apperr.Field("name", "no valid address can be built from this name")
	}

	mx, err := CheckMX(ctx, in.Resolver, domain)
	if err != nil {
		return FindResult{}, err
	}
	res.Checks = append(res.Checks, StepMX)
	res.MX = mx.Hosts
	res.Reasons = append(res.Reasons, mx.Reason)
	if !mx.AcceptsMail() && mx.Definitive() {
		res.Status, res.Confidence = StatusInvalid, 0
		return res, nil
	}
	factor := mxFactor(mx)

	alts := make([]Alternative, len(cands))
	for i, c := range cands {
		alts[i] = Alternative{Candidate: c, Status: StatusUnknown, Confidence: patternConfidence(c.Prior) * factor}
	}

	if in.SMTP != nil && mx.AcceptsMail() {
		k := in.MaxSMTPChecks
		if k <= 0 {
			k = defaultSMTPChecks
		}
		k = min(k, len(alts))
		addrs := make([]string, k)
		for i := range addrs {
			addrs[i] = alts[i].Email
		}
		rs, err := in.SMTP.VerifyAll(ctx, mx.Hosts, addrs)
		if err != nil {
			return FindResult{}, err
		}
		res.Checks = append(res.Checks, StepSMTP)
		if rs[0].CatchAllChecked {
			res.Checks = append(res.Checks, StepCatchAll)
		}
		rejected := 0
		for i, r := range rs {
			alts[i].Status, alts[i].Confidence = smtpVerdict(r, alts[i].Prior, alts[i].Confidence)
			if alts[i].Status == StatusInvalid {
				rejected++
			}
		}
		res.Reasons = append(res.Reasons, smtpSummary(rs))
		if rejected == k {
			for i := k; i < len(alts); i++ {
				alts[i].Confidence *= FactorTopRejected
			}
			res.Reasons = append(res.Reasons, fmt.Sprintf("the mail server rejected the %d most likely addresses", k))
		}
	}

	// Stable: equal confidence keeps the candidate order.
	slices.SortStableFunc(alts, func(a, b Alternative) int { return cmp.Compare(b.Confidence, a.Confidence) })
	best := alts[0]
	if best.Status == StatusInvalid {
		res.Status, res.Confidence, res.Alternatives = StatusInvalid, 0, alts
		return res, nil
	}
	res.Email, res.Pattern, res.Status, res.Confidence = best.Email, best.Pattern, best.Status, round3(best.Confidence)
	for _, a := range alts[1:] {
		a.Confidence = round3(a.Confidence)
		res.Alternatives = append(res.Alternatives, a)
	}
	if a, err := Parse(best.Email); err == nil {
		res.Flags = FlagsOf(a)
	}
	return res, nil
}

// patternConfidence turns a pattern probability into the no-SMTP confidence.
func patternConfidence(p float64) float64 { return math.Min(ConfidencePatternCap, p) }

func mxFactor(mx MXResult) float64 {
	switch mx.Status {
	case MXImplicit:
		return FactorImplicitMX
	case MXTempFail:
		return FactorDNSTempFail
	}
	return 1
}

// smtpVerdict maps an SMTP answer to status and confidence; p is the pattern probability and
// prev the confidence before SMTP, kept when SMTP says nothing new.
func smtpVerdict(r SMTPResult, p, prev float64) (Status, float64) {
	switch r.Status {
	case SMTPRejected:
		return StatusInvalid, 0
	case SMTPAccepted:
		switch {
		case r.CatchAll:
			// Acceptance proves nothing on a catch-all domain, but it must not lower what the
			// pattern evidence already said either.
			return StatusAcceptAll, math.Max(ConfidenceAcceptAllBase+AcceptAllSpan*p, prev)
		case r.CatchAllChecked:
			return StatusValid, ConfidenceValid
		default:
			return StatusValid, ConfidenceValidUnprobed
		}
	}
	return StatusUnknown, prev
}

func smtpSummary(rs []SMTPResult) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s: %s", r.Address, r.Reason))
	}
	s := "SMTP " + strings.Join(parts, "; ")
	if len(rs) > 0 && rs[0].CatchAllChecked {
		if rs[0].CatchAll {
			s += "; the server also accepts a random mailbox (catch-all)"
		} else {
			s += "; the server rejects a random mailbox (not catch-all)"
		}
	}
	return s
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// VerifyResult is the verdict on one address.
type VerifyResult struct {
	// Email is the address with its domain normalised; as given when it does not parse.
	Email      string      `json:"email"`
	Status     Status      `json:"status"`
	Confidence float64     `json:"confidence"`
	Flags      Flags       `json:"flags"`
	MX         []string    `json:"mx"`
	SMTP       *SMTPResult `json:"smtp,omitempty"`
	Checks     []string    `json:"checks"`
	Reasons    []string    `json:"reasons"`
}

// Verify checks one address: syntax, flags, MX and, when smtp is non-nil, the mailbox itself.
// A bad address is a result (status invalid, reason says why), not an error, so that batches of
// CRM records get a verdict each; the error is non-nil only when ctx ends. Disposable-provider
// addresses are invalid without any lookup: they are not a lasting way to reach a person. r nil
// uses net.DefaultResolver.
func Verify(ctx context.Context, address string, r Resolver, smtp *Verifier) (VerifyResult, error) {
	res := VerifyResult{Email: strings.TrimSpace(address), Status: StatusInvalid, Checks: []string{StepSyntax}}
	a, err := Parse(address)
	if err != nil {
		res.Reasons = append(res.Reasons, clientMessage(err))
		return res, nil
	}
	res.Email, res.Flags = a.String(), FlagsOf(a)
	if res.Flags.Disposable {
		res.Checks = append(res.Checks, StepDisposable)
		res.Reasons = append(res.Reasons, a.Domain+" is a disposable-email provider")
		return res, nil
	}
	mx, err := CheckMX(ctx, r, a.Domain)
	if err != nil {
		if err := ctxDone(ctx); err != nil {
			return res, err
		}
		res.Reasons = append(res.Reasons, clientMessage(err))
		return res, nil
	}
	res.Checks = append(res.Checks, StepMX)
	res.MX = mx.Hosts
	res.Reasons = append(res.Reasons, mx.Reason)
	if !mx.AcceptsMail() && mx.Definitive() {
		return res, nil
	}
	res.Status, res.Confidence = StatusUnknown, ConfidenceMXOnly*mxFactor(mx)
	if smtp != nil && mx.AcceptsMail() {
		sr, err := smtp.Verify(ctx, mx.Hosts, a.String())
		if err != nil {
			return res, err
		}
		res.SMTP = &sr
		res.Checks = append(res.Checks, StepSMTP)
		if sr.CatchAllChecked {
			res.Checks = append(res.Checks, StepCatchAll)
		}
		// Verify has no pattern evidence: a catch-all acceptance sits at the middle of its band.
		res.Status, res.Confidence = smtpVerdict(sr, ConfidenceMXOnly, res.Confidence)
		res.Reasons = append(res.Reasons, smtpSummary([]SMTPResult{sr}))
	}
	res.Confidence = round3(res.Confidence)
	return res, nil
}

func clientMessage(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Message
	}
	return err.Error()
}
