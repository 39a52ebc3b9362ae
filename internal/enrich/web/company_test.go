package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func factStr(f *Fact[string]) string {
	if f == nil {
		return "<nil>"
	}
	return f.Value + " [" + f.Method + " " + f.URL + "]"
}

// The JSON-LD fixture over verified https: every field, its provenance, and a verified site.
func TestCompanyJSONLD(t *testing.T) {
	w := newWorld(t)
	w.handle("acme.test", fixture(t, "acme"))
	at := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	f := w.fetcher(func(c *Config) { c.Now = func() time.Time { return at } })

	c, err := f.Company(context.Background(), "HTTPS://Acme.Test:"+port(w.tls)+"/ignored/path?x=1", "ACME Inc")
	if err != nil {
		t.Fatal(err)
	}
	home, about, contact := w.httpsURL("acme.test", "/"), w.httpsURL("acme.test", "/about"), w.httpsURL("acme.test", "/contact")
	if c.Site != w.tlsHost("acme.test") || c.Domain != "acme.test" || c.URL != home {
		t.Errorf("site, domain, url = %q, %q, %q", c.Site, c.Domain, c.URL)
	}
	for _, tc := range []struct {
		name string
		got  *Fact[string]
		want string
	}{
		{"name", c.Name, "Acme, Inc. [json-ld " + home + "]"},
		{"legal name", c.LegalName, "Acme Incorporated [json-ld " + home + "]"},
		{"description", c.Description, "Acme makes widgets & gadgets. [json-ld " + home + "]"},
		{"type", c.Type, "Corporation [json-ld " + home + "]"},
		{"canonical url", c.CanonicalURL, "https://acme.test/ [json-ld " + home + "]"},
		{"logo", c.Logo, "https://acme.test/logo.png [json-ld " + home + "]"},
		{"image", c.Image, w.httpsURL("acme.test", "/img/og.png") + " [opengraph " + home + "]"},
		{"founding date", c.FoundingDate, "1949-05-01 [json-ld " + home + "]"},
		{"language", c.Language, "en-US [html-lang " + home + "]"},
	} {
		if s := factStr(tc.got); s != tc.want {
			t.Errorf("%s = %s, want %s", tc.name, s, tc.want)
		}
	}
	if c.Address == nil || c.Address.Value != (Address{Street: "1 Main St", Locality: "Springfield", Region: "IL", PostalCode: "62701", Country: "US"}) || c.Address.Method != MethodJSONLD {
		t.Errorf("address = %+v", c.Address)
	}
	if c.Employees == nil || c.Employees.Value != (Employees{Min: 50, Max: 200}) {
		t.Errorf("employees = %+v", c.Employees)
	}

	wantPhones := []Fact[string]{
		{"+1 555 010 0100", home, MethodJSONLD},
		{"+1-555-010-0199", home, MethodJSONLD},
		{"+1 555 010 0142", home, MethodTelLink},
		{"+1-555-010-0177", about, MethodTelLink},
	}
	if !reflect.DeepEqual(c.Phones, wantPhones) {
		t.Errorf("phones =\n%v\nwant\n%v", c.Phones, wantPhones)
	}
	wantEmails := []Fact[string]{
		{"info@acme.test", home, MethodJSONLD},
		{"support@acme.test", home, MethodJSONLD},
		{"sales@acme.test", home, MethodMailtoLink},
		{"press@acme.test", contact, MethodMailtoLink},
		{"jobs@acme.test", contact, MethodMailtoLink},
	}
	if !reflect.DeepEqual(c.Emails, wantEmails) {
		t.Errorf("emails =\n%v\nwant\n%v", c.Emails, wantEmails)
	}
	var social []string
	for _, s := range c.Social {
		social = append(social, s.Value.URL+" "+s.Method)
	}
	wantSocial := []string{
		"https://www.linkedin.com/company/acme json-ld",
		"https://x.com/acme json-ld",
		"https://www.facebook.com/acmewidgets anchor",
		"https://github.com/acme anchor",
		"https://www.youtube.com/@acme anchor",
		"https://www.instagram.com/acme.widgets anchor",
		"https://www.crunchbase.com/organization/acme anchor",
		"https://www.linkedin.com/in/wile-e-coyote anchor",
	}
	if !reflect.DeepEqual(social, wantSocial) {
		t.Errorf("social =\n%s\nwant\n%s", strings.Join(social, "\n"), strings.Join(wantSocial, "\n"))
	}
	if len(c.SameAs) != 3 || c.SameAs[2].Value != "https://example.org/not-social" {
		t.Errorf("sameAs = %v", c.SameAs)
	}

	var kinds []string
	for _, p := range c.Pages {
		kinds = append(kinds, p.Kind+" "+p.URL+" "+boolStr(p.Used))
	}
	wantKinds := []string{"home " + home + " used", "about " + about + " used", "contact " + contact + " used"}
	if !reflect.DeepEqual(kinds, wantKinds) {
		t.Errorf("pages =\n%s\nwant\n%s", strings.Join(kinds, "\n"), strings.Join(wantKinds, "\n"))
	}

	v := c.Verification
	if !v.Verified || !v.Resolves || !v.TLSValid || !v.StaysOnDomain || v.NameMatches == nil || !*v.NameMatches ||
		!v.CheckedAt.Equal(at) || len(v.Reasons) != 0 {
		t.Errorf("verification = %+v", v)
	}

	b, err := json.Marshal(c)
	if err != nil || !strings.Contains(string(b), `"website_verified":{"verified":true`) ||
		!strings.Contains(string(b), `"name":{"value":"Acme, Inc.","url":"`+home+`","method":"json-ld"}`) {
		t.Errorf("JSON: %s, %v", b, err)
	}

	// Without a name there is nothing to match: NameMatches stays nil and does not count.
	c, err = f.Company(context.Background(), w.tlsHost("acme.test"), "")
	if err != nil || c.Verification.NameMatches != nil || !c.Verification.Verified {
		t.Errorf("no name: %+v, %v", c.Verification, err)
	}
	// The wrong name is reported.
	c, err = f.Company(context.Background(), w.tlsHost("acme.test"), "Globex Corporation")
	if err != nil || c.Verification.Verified || *c.Verification.NameMatches || !strings.Contains(strings.Join(c.Verification.Reasons, ";"), "Globex") {
		t.Errorf("wrong name: %+v, %v", c.Verification, err)
	}
}

func boolStr(b bool) string {
	if b {
		return "used"
	}
	return "unused"
}

func TestCompanyFixtures(t *testing.T) {
	w := newWorld(t)
	for _, host := range []string{"graph", "localbusiness", "opengraph", "bare"} {
		w.handle(host+".test", fixture(t, host))
	}
	f := w.fetcher()
	for _, tc := range []struct {
		host, name string
		check      func(t *testing.T, c *Company)
	}{
		{"graph", "Graph Works", func(t *testing.T, c *Company) {
			home := w.httpURL("graph.test", "/")
			if factStr(c.Name) != "Graph Works GmbH [json-ld "+home+"]" || factStr(c.Logo) != "https://graph.test/logo.svg [json-ld "+home+"]" ||
				c.Address == nil || c.Address.Value.Text != "Hauptstraße 1, 10115 Berlin, Deutschland" || factStr(c.Language) != "de [html-lang "+home+"]" {
				t.Errorf("name %s, logo %s, address %+v, language %s", factStr(c.Name), factStr(c.Logo), c.Address, factStr(c.Language))
			}
			// The newspaper that published an article is not the company.
			for _, p := range c.Phones {
				if strings.Contains(p.Value, "999") {
					t.Errorf("phone of another organisation: %v", p)
				}
			}
			if len(c.Social) != 1 || c.Social[0].Value.Network != "linkedin" {
				t.Errorf("social = %+v", c.Social)
			}
		}},
		{"localbusiness", "Smile Dental Care Ltd", func(t *testing.T, c *Company) {
			if factStr(c.Type) != "Dentist [json-ld "+w.httpURL("localbusiness.test", "/")+"]" || c.Employees.Value != (Employees{Min: 11, Max: 50, Text: "11-50"}) ||
				len(c.Phones) != 2 || c.Emails[0].Value != "hello@smile.test" || c.Address.Value.Country != "GB" {
				t.Errorf("company = %+v", c)
			}
			if len(c.Social) != 1 || c.Social[0].Value.URL != "https://www.facebook.com/smiledentalcare" || c.Social[0].Method != MethodJSONLD {
				t.Errorf("social = %+v", c.Social)
			}
		}},
		{"opengraph", "Open Graph Company", func(t *testing.T, c *Company) {
			home := w.httpURL("opengraph.test", "/")
			for _, tc := range []struct {
				name string
				got  *Fact[string]
				want string
			}{
				{"name", c.Name, "Open Graph Co [opengraph " + home + "]"},
				{"description", c.Description, "We make social cards. [opengraph " + home + "]"},
				{"image", c.Image, w.httpURL("opengraph.test", "/static/card.png") + " [opengraph " + home + "]"},
				{"canonical", c.CanonicalURL, "https://opengraph.test/ [opengraph " + home + "]"},
				{"type", c.Type, "website [opengraph " + home + "]"},
				{"language", c.Language, "fr-FR [opengraph " + home + "]"},
				{"legal name", c.LegalName, "<nil>"},
			} {
				if s := factStr(tc.got); s != tc.want {
					t.Errorf("%s = %s, want %s", tc.name, s, tc.want)
				}
			}
		}},
		{"bare", "Bare Inc", func(t *testing.T, c *Company) {
			if c.Name != nil || c.Description != nil || len(c.Phones) != 0 || len(c.Social) != 0 || c.Language != nil {
				t.Errorf("company = %+v", c)
			}
			if c.Verification.NameMatches == nil || *c.Verification.NameMatches {
				t.Errorf("name matches = %v", c.Verification.NameMatches)
			}
		}},
	} {
		t.Run(tc.host, func(t *testing.T) {
			c, err := f.Company(context.Background(), w.plainHost(tc.host+".test"), tc.name)
			if err != nil {
				t.Fatal(err)
			}
			// Served over plain http after https failed to connect: never verified.
			v := c.Verification
			if v.TLSValid || v.Verified || !v.Resolves || !v.StaysOnDomain {
				t.Errorf("verification = %+v", v)
			}
			if len(c.Pages) < 2 || c.Pages[0].Kind != PageHome || !errors.Is(c.Pages[0].Err, ErrConnect) ||
				!strings.HasPrefix(c.Pages[0].URL, "https://") || !c.Pages[1].Used {
				t.Errorf("pages = %+v", c.Pages)
			}
			if tc.name != "Bare Inc" && (v.NameMatches == nil || !*v.NameMatches) {
				t.Errorf("name %q does not match: %v", tc.name, v.Reasons)
			}
			tc.check(t, c)
		})
	}
}

func TestCompanyRedirectOffDomain(t *testing.T) {
	w := newWorld(t)
	w.handle("old.test", redirectTo(w.httpsURL("new.test", "/"), http.StatusMovedPermanently))
	w.handle("new.test", fixture(t, "acme"))
	f := w.fetcher()
	c, err := f.Company(context.Background(), w.tlsHost("old.test"), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	v := c.Verification
	if c.URL != w.httpsURL("new.test", "/") || v.StaysOnDomain || v.Verified || !v.TLSValid || !*v.NameMatches {
		t.Errorf("url %s, verification %+v", c.URL, v)
	}
	if !strings.Contains(strings.Join(v.Reasons, ";"), "new.test") {
		t.Errorf("reasons = %v", v.Reasons)
	}
	// Still extracted, from the page it ended on; about/contact come from that host.
	if c.Name == nil || c.Name.Value != "Acme, Inc." || c.Name.URL != w.httpsURL("new.test", "/") {
		t.Errorf("name = %s", factStr(c.Name))
	}
	if len(c.Pages) != 3 || !c.Pages[1].Used || c.Pages[1].URL != w.httpsURL("new.test", "/about") {
		t.Errorf("pages = %+v", c.Pages)
	}
}

func TestCompanyAboutAndContactFallbacks(t *testing.T) {
	w := newWorld(t)
	w.handle("acme.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			rw.Header().Set("Content-Type", "text/html")
			rw.Write([]byte(`<title>Acme</title><a href="tel:+1 555 0100">call</a>`))
		case "/about":
			http.Redirect(rw, r, "/", http.StatusFound) // a missing page sent home: not used twice
		case "/about-us":
			rw.Header().Set("Content-Type", "text/html")
			rw.Write([]byte(`<a href="tel:+1 555 0111">about-us</a>`))
		case "/contact":
			rw.Header().Set("Content-Type", "application/json")
			rw.Write([]byte(`{"not": "html"}`))
		case "/contact-us":
			http.Error(rw, "boom", http.StatusInternalServerError)
		default:
			http.NotFound(rw, r)
		}
	}))
	c, err := w.fetcher().Company(context.Background(), w.tlsHost("acme.test"), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.Pages {
		got = append(got, p.Kind+" "+strings.TrimPrefix(p.URL, "https://"+w.tlsHost("acme.test"))+" "+itoa(p.Status)+" "+boolStr(p.Used))
	}
	want := []string{"home / 200 used", "about /about 200 unused", "about /about-us 200 used",
		"contact /contact 200 unused", "contact /contact-us 500 unused"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pages =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(c.Phones) != 2 || c.Phones[1].Value != "+1 555 0111" {
		t.Errorf("phones = %v", c.Phones)
	}
}

func TestCompanyErrors(t *testing.T) {
	w := newWorld(t)
	w.handle("robots.test", pages(map[string]string{"/robots.txt": "User-agent: *\nDisallow: /\n", "/": "<title>x</title>"}))
	w.handle("private.test", pages(map[string]string{"/": "<title>x</title>"}))
	w.resolve("private.test", "10.0.0.7")
	w.handle("partial.test", pages(map[string]string{"/robots.txt": "User-agent: *\nDisallow: /about$\n",
		"/": "<title>Partial</title>", "/about-us": "<title>About</title>"}))
	f := w.fetcher()

	if _, err := f.Company(context.Background(), w.tlsHost("robots.test"), ""); !errors.Is(err, ErrDisallowedByRobots) {
		t.Errorf("robots: %v", err)
	}
	if _, err := f.Company(context.Background(), w.tlsHost("private.test"), ""); !errors.Is(err, ErrBlockedAddress) {
		t.Errorf("private: %v", err)
	}
	if _, err := f.Company(context.Background(), "nowhere.test", ""); !errors.Is(err, ErrConnect) {
		t.Errorf("unresolvable: %v", err)
	}
	if _, err := f.Company(context.Background(), "ftp://acme.test", ""); !errors.Is(err, ErrUnsupportedScheme) {
		t.Errorf("ftp: %v", err)
	}
	if _, err := f.Company(context.Background(), "", ""); !errors.Is(err, ErrInvalidURL) {
		t.Errorf("empty: %v", err)
	}

	// A disallowed /about is recorded, and /about-us (allowed) is used instead.
	c, err := f.Company(context.Background(), w.tlsHost("partial.test"), "Partial")
	if err != nil {
		t.Fatal(err)
	}
	if c.Pages[1].Kind != PageAbout || !errors.Is(c.Pages[1].Err, ErrDisallowedByRobots) || c.Pages[1].Error == "" ||
		c.Pages[2].URL != w.httpsURL("partial.test", "/about-us") || !c.Pages[2].Used || !c.Verification.Verified {
		t.Errorf("pages = %+v, verification = %+v", c.Pages, c.Verification)
	}

	// A time-out on the home page is an error that says so.
	stop := make(chan struct{})
	defer close(stop)
	w.handle("slow.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	slow := w.fetcher(func(c *Config) { c.Timeout = 200 * time.Millisecond })
	if _, err := slow.Company(context.Background(), w.tlsHost("slow.test"), ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow: %v", err)
	}
}

// https that does not verify: Company falls back to http, records why, and does not verify.
func TestCompanyInvalidCertificate(t *testing.T) {
	w := newWorld(t)
	w.handle("acme.test", fixture(t, "acme"))
	f := w.fetcher(func(c *Config) { c.RootCAs = nil })
	c, err := f.Company(context.Background(), w.tlsHost("acme.test"), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(c.Pages[0].Err, ErrCertificate) || !strings.HasPrefix(c.Pages[1].URL, "http://") {
		t.Errorf("pages = %+v", c.Pages)
	}
	v := c.Verification
	// The plain-http attempt reached the TLS port, which answers 400: nothing to extract.
	if v.TLSValid || v.Verified || c.Name != nil || !strings.Contains(strings.Join(v.Reasons, ";"), "certificate") {
		t.Errorf("verification = %+v", v)
	}
}

// A bare domain that does not answer falls back to www.
func TestCompanyWWWFallback(t *testing.T) {
	w := newWorld(t)
	w.handle("www.acme.test", fixture(t, "acme"))
	w.resolve("acme.test") // resolves to nothing
	f := w.fetcher()
	c, err := f.Company(context.Background(), w.tlsHost("acme.test"), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != w.httpsURL("www.acme.test", "/") || !c.Verification.Verified || c.Site != w.tlsHost("acme.test") {
		t.Errorf("url %s, verification %+v", c.URL, c.Verification)
	}
}

func TestNameMatches(t *testing.T) {
	for _, tc := range []struct {
		given, site string
		want        bool
	}{
		{"Acme", "Acme", true},
		{"ACME Inc", "Acme, Inc.", true},
		{"Acme", "Acme Incorporated", true},
		{"Acme LLC", "ACME Ltd.", true},
		{"Acme", "Acme | Widgets for everyone", true},
		{"Acme Widgets", "Acme", true},
		{"Société Générale", "Societe Generale SA", true},
		{"Societe Generale", "SOCIÉTÉ GÉNÉRALE S.A.", true},
		{"Procter & Gamble", "Procter and Gamble Co.", true},
		{"P&G", "P and G", true},
		{"I.B.M.", "IBM Corp", true},
		{"Mail Chimp", "Mailchimp", true},
		{"Mailchimp", "Mail Chimp: Email Marketing", true},
		{"McDonald's", "McDonalds Corporation", true},
		{"The Coca-Cola Company", "Coca-Cola", true},
		{"Straße GmbH", "Strasse", true},
		{"Grön AB", "Gron", true},
		{"Siemens AG", "Siemens Aktiengesellschaft", true},
		{"Heineken N.V.", "Heineken", true},
		{"Barclays PLC", "Barclays", true},
		{"Acme GmbH & Co. KG", "Acme", true},
		{"Acme", "Home | Acme", true},
		{"Acme", "Globex Corporation", false},
		{"Apple", "Pineapple Ltd", false},
		{"Home Depot", "Home", false},
		{"Home Depot", "Welcome", false},
		{"Acme", "", false},
		{"", "Acme", false},
		{"Inc", "Inc", true},
		{"A", "A | Letters", false},
		{"Acme Widgets", "Widgets", true},
		{"Acme Widgets", "Acme Gadgets", false},
		{"Welcome Inc", "Welcome, Inc.", true},
		{"Home Depot", "The Home Depot", true},
	} {
		if got := NameMatches(tc.given, tc.site); got != tc.want {
			t.Errorf("NameMatches(%q, %q) = %v, want %v (tokens %q / %q)", tc.given, tc.site, got, tc.want,
				nameTokens(tc.given), nameTokens(tc.site))
		}
	}
}

func TestNameFromTitle(t *testing.T) {
	for _, tc := range []struct{ title, label, want string }{
		{"Acme | Widgets for everyone", "acme", "Acme"},
		{"Home | Acme", "acme", "Acme"},
		{"Home - Globex", "acme", "Globex"},
		{"Widgets – Acme Corp", "acme", "Acme Corp"},
		{"Welcome", "acme", ""},
		{"", "acme", ""},
	} {
		if got := nameFromTitle(tc.title, tc.label); got != tc.want {
			t.Errorf("nameFromTitle(%q, %q) = %q, want %q", tc.title, tc.label, got, tc.want)
		}
	}
}

func TestNormalizeSite(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"acme.com", "acme.com", nil},
		{"  ACME.com.  ", "acme.com", nil},
		{"www.acme.com", "www.acme.com", nil},
		{"https://www.Acme.com/about?x=1#top", "www.acme.com", nil},
		{"http://acme.com:80/", "acme.com", nil},
		{"https://acme.com:443", "acme.com", nil},
		{"https://acme.com:8443", "acme.com:8443", nil},
		{"acme.com:08080", "acme.com:8080", nil},
		{"//acme.com/x", "acme.com", nil},
		{"http://user:pass@acme.com/", "acme.com", nil},
		{"bücher.de", "xn--bcher-kva.de", nil},
		{"93.184.216.34", "93.184.216.34", nil},
		{"http://[2001:db8::1]:8080/", "[2001:db8::1]:8080", nil},
		{"[::1]", "[::1]", nil},
		{"ftp://acme.com", "", ErrUnsupportedScheme},
		{"mailto:info@acme.com", "", ErrUnsupportedScheme},
		{"javascript:alert(1)", "", ErrUnsupportedScheme},
		{"info@acme.com", "acme.com", nil},
		{"localhost:", "localhost", nil},
		{"", "", ErrInvalidURL},
		{"http://", "", ErrInvalidURL},
		{"acme.com:99999", "", ErrInvalidURL},
		{"exa mple.com", "", ErrInvalidURL},
		{"-acme.com", "", ErrInvalidURL},
		{"acme..com", "", ErrInvalidURL},
	} {
		got, err := NormalizeSite(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("NormalizeSite(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// FuzzNormalizeSite: no panics, and the output is a fixed point.
func FuzzNormalizeSite(f *testing.F) {
	for _, s := range []string{"acme.com", "https://WWW.Acme.com:443/x", "bücher.de", "[::1]:80", "http://[fe80::1%25eth0]/",
		"//a.b", "acme.com:0", "http://%41.com", "xn--bcher-kva.de", "1.2.3.4:5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeSite(s)
		if err != nil {
			return
		}
		again, err := NormalizeSite(out)
		if err != nil || again != out {
			t.Fatalf("NormalizeSite(%q) = %q, but NormalizeSite(%q) = %q, %v", s, out, out, again, err)
		}
		if strings.ContainsAny(out, "/?#@ ") {
			t.Fatalf("NormalizeSite(%q) = %q", s, out)
		}
	})
}
