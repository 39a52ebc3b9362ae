package enrich

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/enrich/web"
)

// Website is the "website" provider, which needs no account: it reads the company's own site
// (home page, /about and /contact) and reports what the company says about itself, the phones
// and addresses it publishes, and whether the site checks out (website_verified).
type Website struct {
	Fetcher       *web.Fetcher
	DefaultRegion string
}

func (Website) Name() string { return "website" }

func (Website) Supplies() []string {
	return []string{"name", "legal_name", "domain", "description", "phone", "phones", "email", "emails", "address",
		"logo", "social_profiles", "founded", "employees", "language", "website_verified"}
}

// methodConfidence: what a company states in structured data about itself is close to
// authoritative; OpenGraph is written for previews; titles and stray links are weaker.
var methodConfidence = map[string]float64{
	web.MethodJSONLD:     0.9,
	web.MethodHTMLLang:   0.85,
	web.MethodHeader:     0.8,
	web.MethodOpenGraph:  0.75,
	web.MethodTelLink:    0.75,
	web.MethodMailtoLink: 0.75,
	web.MethodAnchor:     0.7,
	web.MethodMeta:       0.65,
	web.MethodTitle:      0.5,
}

func (p Website) Enrich(ctx context.Context, in Input) (map[string]Result, error) {
	site := in.Record["website"]
	if site == "" {
		site = in.Record["domain"]
	}
	if site == "" {
		site = companyDomain(in.Record)
	}
	if site == "" {
		return nil, nil
	}
	c, err := p.Fetcher.Company(ctx, site, in.Record["company"])
	if err != nil {
		return p.failure(err)
	}
	now := time.Now().UTC()
	out := map[string]Result{}
	put := func(field string, v any, url, method string) {
		out[field] = Result{Value: v, Confidence: methodConfidence[method], Source: Source{Provider: "website", URL: url, Method: method}, ObservedAt: now}
	}
	putFact := func(field string, f *web.Fact[string]) {
		if f != nil && f.Value != "" {
			put(field, f.Value, f.URL, f.Method)
		}
	}
	putFact("name", c.Name)
	putFact("legal_name", c.LegalName)
	putFact("description", c.Description)
	putFact("logo", c.Logo)
	putFact("founded", c.FoundingDate)
	putFact("language", c.Language)
	if c.Domain != "" {
		out["domain"] = Result{Value: c.Domain, Confidence: 0.95, Source: Source{Provider: "website", URL: c.URL, Method: "final-url"}, ObservedAt: now}
	}
	if c.Address != nil {
		put("address", c.Address.Value, c.Address.URL, c.Address.Method)
	}
	if c.Employees != nil {
		put("employees", c.Employees.Value, c.Employees.URL, c.Employees.Method)
	}
	if len(c.Social) > 0 {
		profiles := make([]web.SocialProfile, len(c.Social))
		for i, s := range c.Social {
			profiles[i] = s.Value
		}
		put("social_profiles", profiles, c.Social[0].URL, c.Social[0].Method)
	}
	if len(c.Emails) > 0 {
		all := make([]string, len(c.Emails))
		for i, e := range c.Emails {
			all[i] = e.Value
		}
		put("email", all[0], c.Emails[0].URL, c.Emails[0].Method)
		put("emails", all, c.Emails[0].URL, c.Emails[0].Method)
	}
	p.phones(out, c, in, now)
	v := c.Verification
	conf := 0.95 // checked by us just now
	out["website_verified"] = Result{Value: v, Confidence: conf, Source: Source{Provider: "website", URL: c.URL, Method: "dns+tls+redirects+name"}, ObservedAt: v.CheckedAt}
	return out, nil
}

// phones parses the numbers the site publishes, with the region of its address when it has
// one; structured data comes first, valid numbers before doubtful ones.
func (p Website) phones(out map[string]Result, c *web.Company, in Input, now time.Time) {
	region := regionOf(in, p.DefaultRegion)
	if c.Address != nil && len(c.Address.Value.Country) == 2 {
		region = strings.ToUpper(c.Address.Value.Country)
	}
	var best *Result
	var all []PhoneInfo
	for _, f := range c.Phones {
		info, err := ParsePhone(f.Value, region)
		if err != nil {
			continue
		}
		all = append(all, info)
		conf := methodConfidence[f.Method] * phoneConfidence(info) / 0.95
		if best == nil || conf > best.Confidence {
			best = &Result{Value: info, Confidence: conf, Source: Source{Provider: "website", URL: f.URL, Method: f.Method}, ObservedAt: now}
		}
	}
	if best != nil {
		out["phone"] = *best
		out["phones"] = Result{Value: all, Confidence: best.Confidence, Source: best.Source, ObservedAt: now}
	}
}

// failure explains why a site could not be read, in words a client can act on. A site that
// cannot be reached at all is still an answer for website_verified.
func (p Website) failure(err error) (map[string]Result, error) {
	switch {
	case errors.Is(err, web.ErrInvalidURL), errors.Is(err, web.ErrUnsupportedScheme):
		return nil, apperr.Field("body.domain", "is not a website or domain: %s", err.Error())
	case errors.Is(err, web.ErrConnect), errors.Is(err, context.DeadlineExceeded):
		now := time.Now().UTC()
		reason := "could not connect to the site"
		if errors.Is(err, web.ErrCertificate) {
			reason = "the site's TLS certificate is not valid"
		} else if errors.Is(err, context.DeadlineExceeded) {
			reason = "the site did not answer in time"
		}
		return map[string]Result{"website_verified": {Value: web.Verification{CheckedAt: now, Reasons: []string{reason}},
			Confidence: 0.9, Source: Source{Provider: "website", Method: "connect"}, ObservedAt: now}}, nil
	case errors.Is(err, web.ErrDisallowedByRobots):
		return nil, apperr.New(apperr.Unavailable, "the site's robots.txt does not allow reading it")
	case errors.Is(err, web.ErrBlockedAddress):
		return nil, apperr.New(apperr.Unavailable, "the site resolves to a private or reserved address, which is not fetched")
	case errors.Is(err, web.ErrTooManyRedirects):
		return nil, apperr.New(apperr.Unavailable, "the site redirects too many times")
	}
	return nil, err
}
