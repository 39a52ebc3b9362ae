package api

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/testenv"
)

const acmeHome = `<!doctype html><html lang="en-US"><head><title>Acme Robotics | Industrial robots</title>
<meta name="description" content="Robots for car makers.">
<meta property="og:site_name" content="Acme Robotics">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Organization","name":"Acme Robotics",
 "legalName":"Acme Robotics, Inc.","logo":"https://acme.test/logo.png","telephone":"+1 650-253-0000",
 "email":"hello@acme.test","foundingDate":"2009","numberOfEmployees":{"@type":"QuantitativeValue","value":250},
 "address":{"@type":"PostalAddress","streetAddress":"1 Main St","addressLocality":"Palo Alto","addressRegion":"CA","postalCode":"94301","addressCountry":"US"},
 "sameAs":["https://www.linkedin.com/company/acme-robotics","https://twitter.com/acmerobotics"]}</script>
</head><body><a href="tel:+16502530001">Sales</a><a href="/about">About</a></body></html>`

// acmeSite serves acme.test's pages; the test DNS server maps acme.test to 127.0.0.1.
func acmeSite(t *testing.T) (site string, mod func(*config.Config)) {
	srv := testenv.Site(t, map[string]string{
		"/":        acmeHome,
		"/about":   `<html><head><title>About Acme</title></head><body><p>Founded in 2009.</p></body></html>`,
		"/contact": `<html><body><a href="mailto:sales@acme.test">Sales</a></body></html>`,
	})
	dnsAddr := dnsServer(t)
	u, _ := url.Parse(srv.URL)
	return "http://acme.test:" + u.Port(), func(c *config.Config) {
		generous(c)
		c.Enrich.DNSServer = dnsAddr
		c.Enrich.FetchAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}
}

func TestEnrichCompanyFromItsWebsite(t *testing.T) {
	db := testenv.DB(t)
	site, mod := acmeSite(t)
	ts := start(t, db, mod)
	tn := testenv.NewTenant(t, db, 100)
	r := ts.call(t, http.MethodPost, "/v1/enrich/company", tn.Secret, `{"record_id":"acct-1","website":"`+site+`","name":"Acme Robotics Inc"}`)
	m := r.json(t)
	if r.StatusCode != http.StatusOK || m["credits_used"] != float64(2) {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	data := m["data"].(map[string]any)
	if data["name"] != "Acme Robotics" || data["legal_name"] != "Acme Robotics, Inc." || data["founded"] != "2009" || data["language"] != "en-US" {
		t.Fatalf("data %v", data)
	}
	if p := data["phone"].(map[string]any); p["e164"] != "+16502530000" {
		t.Fatalf("phone %v", p)
	}
	if e := data["emails"].([]any); len(e) != 2 {
		t.Fatalf("emails %v", e)
	}
	if s := data["social_profiles"].([]any); len(s) != 2 {
		t.Fatalf("social %v", s)
	}
	v := data["website_verified"].(map[string]any)
	if v["verified"] != false || v["resolves"] != true || v["tls_valid"] != false || v["stays_on_domain"] != true || v["name_matches"] != true || v["checked_at"] == "" {
		t.Fatalf("website_verified %v", v)
	}
	name := m["fields"].(map[string]any)["name"].(map[string]any)
	if name["confidence"] != 0.9 || name["source"].(map[string]any)["method"] != "json-ld" || !strings.Contains(name["source"].(map[string]any)["url"].(string), "acme.test") {
		t.Fatalf("name field %v", name)
	}
	var pdl map[string]any
	for _, a := range m["providers"].([]any) {
		if a.(map[string]any)["provider"] == "pdl" {
			pdl = a.(map[string]any)
		}
	}
	if pdl["status"] != "not_configured" || pdl["error"] != "set LANTERN_PDL_API_KEY" {
		t.Fatalf("pdl attempt %v", pdl)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"name":"Acme"}`, "body.domain"},
		{`{"domain":"not a domain"}`, "body.domain"},
		{`{"website":"ftp://acme.test"}`, "body.website"},
	} {
		m := problem(t, ts.call(t, http.MethodPost, "/v1/enrich/company", tn.Secret, tc.body), http.StatusUnprocessableEntity, "invalid_input")
		if !strings.Contains(m["detail"].(string), tc.field) {
			t.Errorf("%s: detail %q does not name %s", tc.body, m["detail"], tc.field)
		}
	}
}

func TestEnrichPhoneFindsTheCompanyNumber(t *testing.T) {
	db := testenv.DB(t)
	site, mod := acmeSite(t)
	ts := start(t, db, mod)
	tn := testenv.NewTenant(t, db, 100)
	r := ts.call(t, http.MethodPost, "/v1/enrich/phone", tn.Secret, `{"website":"`+site+`"}`)
	m := r.json(t)
	f := m["fields"].(map[string]any)["phone"].(map[string]any)
	if r.StatusCode != http.StatusOK || f["value"].(map[string]any)["e164"] != "+16502530000" || f["source"].(map[string]any)["method"] != "json-ld" {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
}

func TestEnrichPerson(t *testing.T) {
	db := testenv.DB(t)
	site, mod := acmeSite(t)
	ts := start(t, db, mod)
	tn := testenv.NewTenant(t, db, 100)
	r := ts.call(t, http.MethodPost, "/v1/enrich/person", tn.Secret,
		`{"record_id":"lead-7","first_name":"Jane","last_name":"Doe","domain":"acme.test","website":"`+site+`","phone":"650 253 0000","country":"US"}`)
	m := r.json(t)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	data := m["data"].(map[string]any)
	if data["email"].(map[string]any)["email"] != "jane.doe@acme.test" || data["phone"].(map[string]any)["e164"] != "+16502530000" {
		t.Fatalf("data %v", data)
	}
	if c := data["company"].(map[string]any); c["name"] != "Acme Robotics" {
		t.Fatalf("company %v", c)
	}
	// website 2 + email-pattern 1 + libphonenumber 1
	if m["credits_used"] != float64(4) || m["confidence"] != data["email"].(map[string]any)["confidence"] {
		t.Fatalf("credits %v confidence %v", m["credits_used"], m["confidence"])
	}
	if r := ts.call(t, http.MethodPost, "/v1/enrich/person", tn.Secret,
		`{"record_id":"lead-7","first_name":"Jane","last_name":"Doe","domain":"acme.test","website":"`+site+`","phone":"650 253 0000","country":"US"}`); r.json(t)["cached"] != true {
		t.Fatalf("not cached: %s", r.body)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"domain":"acme.test"}`, "body.first_name"},
		{`{"first_name":"Jane","last_name":"Doe"}`, "body.domain"},
		{`{"first_name":"Jane","last_name":"Doe","domain":"acme.test","email":"nope"}`, "body.email"},
		{`{"first_name":"Jane","last_name":"Doe","domain":"acme.test","phone":"call me"}`, "body.phone"},
	} {
		m := problem(t, ts.call(t, http.MethodPost, "/v1/enrich/person", tn.Secret, tc.body), http.StatusUnprocessableEntity, "invalid_input")
		if !strings.Contains(m["detail"].(string), tc.field) {
			t.Errorf("%s: detail %q does not name %s", tc.body, m["detail"], tc.field)
		}
	}
}
