package enrich

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/enrich/vendors"
)

// vendorCap keeps vendors' answers on our scale: a vendor's match is likely, not verified
// (their own top scores mean "we have seen this before", not "we checked it").
const vendorCap = 0.85

func capped(c float64) float64 { return min(c, vendorCap) }

// vendorError says what went wrong with a vendor in words a client can act on; the vendor's
// own message can echo inputs and stays in the logs.
func vendorError(name string, err error) error {
	switch {
	case errors.Is(err, vendors.ErrNotFound), errors.Is(err, vendors.ErrBadInput):
		return nil
	case errors.Is(err, vendors.ErrPending):
		return apperr.Wrap(apperr.Unavailable, err, "%s has not finished checking; retry later", name)
	case errors.Is(err, vendors.ErrRateLimited):
		return apperr.Wrap(apperr.Unavailable, err, "%s is rate limiting this server", name)
	case errors.Is(err, vendors.ErrQuotaExceeded):
		return apperr.Wrap(apperr.Unavailable, err, "%s says this server's account is out of credits", name)
	case errors.Is(err, vendors.ErrUnauthorized):
		return apperr.Wrap(apperr.Unavailable, err, "%s rejected this server's API key", name)
	}
	return apperr.Wrap(apperr.Unavailable, err, "%s is unavailable", name)
}

// Hunter is the "hunter" provider: Hunter's email finder, or its verifier for a given address.
type Hunter struct{ Client *vendors.Hunter }

func (Hunter) Name() string       { return "hunter" }
func (Hunter) Supplies() []string { return []string{"email", "title", "linkedin_url"} }

func (h Hunter) Enrich(ctx context.Context, in Input) (map[string]Result, error) {
	rec, now := in.Record, time.Now().UTC()
	src := Source{Provider: "hunter", URL: "https://hunter.io"}
	if addr := rec["email"]; addr != "" {
		v, err := h.Client.VerifyEmail(ctx, addr)
		if err != nil {
			return nil, vendorError("Hunter", err)
		}
		src.Method = "email-verifier"
		return map[string]Result{"email": {Value: map[string]any{"email": v.Email, "status": v.Status, "score": v.Score,
			"accept_all": v.AcceptAll, "webmail": v.Webmail, "disposable": v.Disposable},
			Confidence: capped(v.Confidence()), Source: src, ObservedAt: now}}, nil
	}
	e, err := h.Client.FindEmail(ctx, vendors.HunterFindInput{Domain: companyDomain(rec), Company: rec["company"],
		FirstName: rec["first_name"], LastName: rec["last_name"], FullName: rec["full_name"]})
	if err != nil || e.Email == "" {
		return nil, vendorError("Hunter", err)
	}
	src.Method = "email-finder"
	conf := capped(e.Confidence())
	out := map[string]Result{"email": {Value: map[string]any{"email": e.Email, "status": e.Verification.Status,
		"score": e.Score, "accept_all": e.AcceptAll, "sources": len(e.Sources)}, Confidence: conf, Source: src, ObservedAt: now}}
	if e.Position != "" {
		out["title"] = Result{Value: e.Position, Confidence: conf * 0.9, Source: src, ObservedAt: now}
	}
	if e.LinkedInURL != "" {
		out["linkedin_url"] = Result{Value: e.LinkedInURL, Confidence: conf * 0.9, Source: src, ObservedAt: now}
	}
	return out, nil
}

// PDL is the "pdl" provider: People Data Labs' person enrichment for people, its company
// enrichment for the company service.
type PDL struct {
	Client        *vendors.PDL
	DefaultRegion string
}

func (PDL) Name() string { return "pdl" }
func (PDL) Supplies() []string {
	return []string{"email", "phone", "title", "linkedin_url", "location", "name", "description", "industry",
		"employees", "founded", "address", "social_profiles", "domain"}
}

func (p PDL) Enrich(ctx context.Context, in Input) (map[string]Result, error) {
	if in.Service == Company {
		return p.company(ctx, in)
	}
	rec, now := in.Record, time.Now().UTC()
	name := strings.TrimSpace(rec["first_name"] + " " + rec["last_name"])
	if name == "" {
		name = rec["full_name"]
	}
	company := rec["company"]
	if d := companyDomain(rec); d != "" {
		company = d
	}
	res, err := p.Client.EnrichPerson(ctx, vendors.PDLPersonInput{Email: rec["email"], Phone: rec["phone"],
		Profile: rec["linkedin_url"], Name: name, Company: company})
	if err != nil {
		return nil, vendorError("People Data Labs", err)
	}
	d, conf := res.Data, capped(res.Confidence())
	src := Source{Provider: "pdl", URL: "https://www.peopledatalabs.com", Method: "person-enrich, likelihood " + strconv.Itoa(res.Likelihood)}
	out := map[string]Result{}
	put := func(field string, v any) {
		out[field] = Result{Value: v, Confidence: conf, Source: src, ObservedAt: now}
	}
	if d.WorkEmail != "" {
		put("email", map[string]any{"email": d.WorkEmail, "status": "unknown"})
	}
	phone := d.MobilePhone
	if phone == "" && len(d.PhoneNumbers) > 0 {
		phone = d.PhoneNumbers[0]
	}
	if phone != "" {
		if info, err := ParsePhone(phone, regionOf(in, p.DefaultRegion)); err == nil {
			put("phone", info)
		}
	}
	if d.JobTitle != "" {
		put("title", d.JobTitle)
	}
	if d.LinkedInURL != "" {
		put("linkedin_url", d.LinkedInURL)
	}
	if d.LocationName != "" {
		put("location", d.LocationName)
	}
	return out, nil
}

func (p PDL) company(ctx context.Context, in Input) (map[string]Result, error) {
	rec, now := in.Record, time.Now().UTC()
	c, err := p.Client.EnrichCompany(ctx, vendors.PDLCompanyInput{Website: companyDomain(rec), Name: rec["company"]})
	if err != nil {
		return nil, vendorError("People Data Labs", err)
	}
	conf := capped(c.Confidence())
	src := Source{Provider: "pdl", URL: "https://www.peopledatalabs.com", Method: "company-enrich, likelihood " + strconv.Itoa(c.Likelihood)}
	out := map[string]Result{}
	put := func(field string, v any, ok bool) {
		if ok {
			out[field] = Result{Value: v, Confidence: conf, Source: src, ObservedAt: now}
		}
	}
	put("name", c.DisplayName, c.DisplayName != "")
	put("description", c.Summary, c.Summary != "")
	put("industry", c.Industry, c.Industry != "")
	put("employees", map[string]any{"count": c.EmployeeCount, "range": c.Size}, c.EmployeeCount > 0 || c.Size != "")
	put("founded", strconv.Itoa(c.Founded), c.Founded > 0)
	put("domain", c.Website, c.Website != "")
	put("address", c.Location, c.Location.Name != "")
	var social []map[string]string
	for network, u := range map[string]string{"linkedin": c.LinkedInURL, "twitter": c.TwitterURL, "facebook": c.FacebookURL} {
		if u != "" {
			social = append(social, map[string]string{"network": network, "url": u})
		}
	}
	put("social_profiles", social, len(social) > 0)
	return out, nil
}
