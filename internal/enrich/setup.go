package enrich

import (
	"maps"
	"net"
	"time"

	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/enrich/email"
)

// DefaultPrices are credits per provider step that finds something.
var DefaultPrices = map[string]int64{
	"libphonenumber": 1,
	"website":        2,
	"email-pattern":  1,
	"hunter":         5,
	"pdl":            10,
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
func New(db bun.IDB, c config.EnrichConfig) (*Engine, error) {
	e := &Engine{
		DB:           db,
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

	var resolver email.Resolver = net.DefaultResolver
	if c.DNSServer != "" {
		resolver = email.NewResolver(c.DNSServer)
	}
	var smtp *email.Verifier
	if c.SMTPVerify {
		smtp = &email.Verifier{Port: c.SMTPPort, HeloName: c.SMTPHelo, MailFrom: c.SMTPFrom, Timeout: 10 * time.Second}
	}
	e.add(EmailPattern{DB: db, Resolver: resolver, SMTP: smtp})
	return e, nil
}

func (e *Engine) add(p Provider) { e.Providers[p.Name()] = p }
