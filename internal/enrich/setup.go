package enrich

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"time"

	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/enrich/email"
	"github.com/lanternhq/lantern/internal/enrich/llm"
	"github.com/lanternhq/lantern/internal/enrich/search"
	"github.com/lanternhq/lantern/internal/enrich/vendors"
	"github.com/lanternhq/lantern/internal/enrich/web"
)

// DefaultPrices are credits per provider step that finds something.
var DefaultPrices = map[string]int64{
	"libphonenumber": 1,
	"website":        2,
	"email-pattern":  1,
	"hunter":         5,
	"pdl":            10,
	"search":         1, // one web search of a research run
	"research-fetch": 1, // one page read by a research run, before its tokens
}

// DefaultPlans are each service's fields and provider order: local providers first, vendors
// after them, so a vendor is paid only for what the free sources could not settle.
func DefaultPlans() map[string]Plan {
	return map[string]Plan{
		Phone: {Fields: []string{"phone"}, Providers: []string{"libphonenumber", "website", "pdl"}},
		Email: {Fields: []string{"email"}, Providers: []string{"email-pattern", "hunter", "pdl"}},
		Company: {Fields: []string{"name", "domain", "description", "phone", "email", "address", "logo",
			"social_profiles", "founded", "employees", "industry", "language", "website_verified"},
			Providers: []string{"website", "pdl"}},
		Person: {Fields: []string{"email", "phone", "title", "linkedin_url", "location"},
			Providers: []string{"email-pattern", "libphonenumber", "hunter", "pdl"}},
	}
}

// New builds the engine from the configuration: every provider that can run is registered;
// the others are listed with the setting that would enable them.
func New(db *bun.DB, c config.EnrichConfig) (*Engine, error) {
	e := &Engine{
		DB:           db,
		Ledger:       credits.NewLedger(db),
		Providers:    map[string]Provider{},
		Unconfigured: map[string]string{},
		Plans:        DefaultPlans(),
		Prices:       maps.Clone(DefaultPrices),
		Threshold:    c.Threshold,
		CacheTTL:     c.CacheTTL,
		StepTimeout:  c.StepTimeout,
	}
	maps.Copy(e.Prices, c.Prices)
	for svc, order := range c.Order {
		if p, ok := e.Plans[svc]; ok {
			p.Providers = order
			e.Plans[svc] = p
		}
	}
	e.add(PhoneParser{DefaultRegion: c.DefaultRegion})

	dns := net.DefaultResolver
	if c.DNSServer != "" {
		dns = email.NewResolver(c.DNSServer)
	}
	var smtp *email.Verifier
	if c.SMTPVerify {
		smtp = &email.Verifier{Port: c.SMTPPort, HeloName: c.SMTPHelo, MailFrom: c.SMTPFrom, Timeout: 10 * time.Second}
	}
	e.add(EmailPattern{DB: db, Resolver: dns, SMTP: smtp})

	e.Web = web.New(web.Config{UserAgent: c.UserAgent, Timeout: c.FetchTimeout, MaxBytes: c.FetchMaxBytes,
		AllowPrivate: c.FetchAllow, LookupIP: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return dns.LookupNetIP(ctx, "ip", host)
		}})
	e.add(Website{Fetcher: e.Web, DefaultRegion: c.DefaultRegion})
	if c.HunterAPIKey != "" {
		h, err := vendors.NewHunter(vendors.Config{BaseURL: c.HunterBaseURL, APIKey: c.HunterAPIKey})
		if err != nil {
			return nil, fmt.Errorf("LANTERN_HUNTER_BASE_URL: %w", err)
		}
		e.add(Hunter{Client: h})
	} else {
		e.Unconfigured["hunter"] = "LANTERN_HUNTER_API_KEY"
	}
	if c.PDLAPIKey != "" {
		p, err := vendors.NewPDL(vendors.Config{BaseURL: c.PDLBaseURL, APIKey: c.PDLAPIKey})
		if err != nil {
			return nil, fmt.Errorf("LANTERN_PDL_BASE_URL: %w", err)
		}
		e.add(PDL{Client: p, DefaultRegion: c.DefaultRegion})
	} else {
		e.Unconfigured["pdl"] = "LANTERN_PDL_API_KEY"
	}
	if c.SearXNGURL != "" {
		sc, err := search.New(search.Config{BaseURL: c.SearXNGURL})
		if err != nil {
			return nil, fmt.Errorf("LANTERN_SEARXNG_URL: %w", err)
		}
		e.Search = sc
	}

	e.LLMConfig = LLMConfig{CreditsPer1K: c.LLMCreditsPer1K, Config: llm.Config{
		BaseURL: c.LLMBaseURL, APIKey: c.LLMAPIKey, Model: c.LLMModel, AzureAPIVersion: c.LLMAzureAPIVersion}}
	return e, nil
}

func (e *Engine) add(p Provider) { e.Providers[p.Name()] = p }
