package enrich

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/enrich/email"
)

// EmailPattern is the "email-pattern" provider, which needs no account: it verifies a given
// address (syntax, MX, and SMTP when allowed; webmail, disposable and role flags), or finds one
// from a name and a company domain with the patterns the org's known addresses at that domain
// share, or the common patterns' priors when it knows none.
type EmailPattern struct {
	DB       bun.IDB
	Resolver email.Resolver
	SMTP     *email.Verifier // nil: the server does not allow SMTP checks
}

func (EmailPattern) Name() string       { return "email-pattern" }
func (EmailPattern) Supplies() []string { return []string{"email"} }

// knownLimit bounds how many known addresses a search learns from.
const knownLimit = 200

func (p EmailPattern) Enrich(ctx context.Context, in Input) (map[string]Result, error) {
	rec := in.Record
	var smtp *email.Verifier
	if in.Options.SMTPVerify {
		smtp = p.SMTP
	}
	if addr := rec["email"]; addr != "" {
		return p.verify(ctx, in, addr, smtp)
	}
	domain := companyDomain(rec)
	if domain == "" || (rec["first_name"] == "" && rec["last_name"] == "" && rec["full_name"] == "") {
		return nil, nil // nothing to search with; the API asks for it before running
	}
	known, err := KnownEmails(ctx, p.DB, in.OrgID, domain, knownLimit)
	if err != nil {
		return nil, err
	}
	ks := make([]email.Known, len(known))
	for i, k := range known {
		ks[i] = email.Known{Email: k.Email, FirstName: k.FirstName, LastName: k.LastName}
	}
	res, err := email.Find(ctx, email.FindInput{FirstName: rec["first_name"], LastName: rec["last_name"],
		FullName: rec["full_name"], Domain: domain, Known: ks, Resolver: p.Resolver, SMTP: smtp})
	if err != nil {
		return nil, err
	}
	if res.Status == email.StatusValid {
		first, last := rec["first_name"], rec["last_name"]
		if err := RememberEmail(ctx, p.DB, in.OrgID, res.Email, first, last, "verified"); err != nil {
			return nil, err
		}
	}
	return map[string]Result{"email": {Value: res, Confidence: res.Confidence,
		Source: Source{Provider: "email-pattern", Method: strings.Join(res.Checks, "+")}, ObservedAt: time.Now().UTC()}}, nil
}

func (p EmailPattern) verify(ctx context.Context, in Input, addr string, smtp *email.Verifier) (map[string]Result, error) {
	res, err := email.Verify(ctx, addr, p.Resolver, smtp)
	if err != nil {
		return nil, err
	}
	// An address the caller gave with its owner's name teaches the domain's pattern, as long
	// as the domain takes mail and is a company's.
	if res.Status != email.StatusInvalid && !res.Flags.Webmail && !res.Flags.Disposable && !res.Flags.Role {
		if err := RememberEmail(ctx, p.DB, in.OrgID, res.Email, in.Record["first_name"], in.Record["last_name"], "input"); err != nil {
			return nil, err
		}
	}
	return map[string]Result{"email": {Value: res, Confidence: res.Confidence,
		Source: Source{Provider: "email-pattern", Method: strings.Join(res.Checks, "+")}, ObservedAt: time.Now().UTC()}}, nil
}

// companyDomain is the record's company domain: domain, else the website's host, else the
// domain of a non-webmail email.
func companyDomain(rec Record) string {
	for _, v := range []string{rec["domain"], rec["website"]} {
		if d, err := email.NormalizeDomain(v); err == nil && v != "" {
			return d
		}
	}
	if a, err := email.Parse(rec["email"]); err == nil && !email.IsWebmail(a.Domain) {
		return a.Domain
	}
	return ""
}
