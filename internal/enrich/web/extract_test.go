package web

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func page(url, body string) *Page {
	return &Page{URL: url, Status: 200, Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: []byte(body)}
}

func TestExtractAcmeHome(t *testing.T) {
	body, err := os.ReadFile("testdata/acme/index.html")
	if err != nil {
		t.Fatal(err)
	}
	d := Extract(&Page{URL: "https://acme.test/", Header: http.Header{"Content-Type": {"text/html"}}, Body: body})
	if d.Title != "Acme | Widgets for everyone" { // not the <svg> icon title
		t.Errorf("title = %q", d.Title)
	}
	if d.Lang != "en-us" || d.Description != "Meta description of Acme." {
		t.Errorf("lang, description = %q, %q", d.Lang, d.Description)
	}
	wantOG := OpenGraph{Title: "Acme – Home", Description: "OpenGraph description of Acme.", Image: "https://acme.test/img/og.png",
		SiteName: "Acme OG", URL: "https://acme.test/", Type: "website", Locale: "en_GB"}
	if d.OpenGraph != wantOG {
		t.Errorf("opengraph = %+v\nwant %+v", d.OpenGraph, wantOG)
	}
	if len(d.Organizations) != 1 {
		t.Fatalf("organizations = %+v", d.Organizations)
	}
	o := d.Organizations[0]
	want := Organization{
		Type: "Corporation", ID: "https://acme.test/#organization", Name: "Acme, Inc.", LegalName: "Acme Incorporated",
		Description: "Acme makes widgets & gadgets.", URL: "https://acme.test/", Logo: "https://acme.test/logo.png",
		Address:      &Address{Street: "1 Main St", Locality: "Springfield", Region: "IL", PostalCode: "62701", Country: "US"},
		Telephones:   []string{"+1 555 010 0100", "+1-555-010-0199"},
		Emails:       []string{"info@acme.test", "support@acme.test"},
		SameAs:       []string{"https://www.linkedin.com/company/acme/", "https://twitter.com/acme", "https://example.org/not-social"},
		FoundingDate: "1949-05-01",
		Employees:    &Employees{Min: 50, Max: 200},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("organization =\n%+v\nwant\n%+v", o, want)
	}
	if !reflect.DeepEqual(d.Phones, []string{"+1-555-010-0100", "+1 555 010 0142"}) {
		t.Errorf("phones = %q", d.Phones)
	}
	if !reflect.DeepEqual(d.Emails, []string{"sales@acme.test"}) {
		t.Errorf("emails = %q", d.Emails)
	}
	var social []string
	for _, s := range d.Social {
		social = append(social, s.Network+" "+s.URL+" "+s.Handle)
	}
	wantSocial := []string{
		"linkedin https://www.linkedin.com/company/acme acme",
		"twitter https://x.com/acme acme",
		"facebook https://www.facebook.com/acmewidgets acmewidgets",
		"github https://github.com/acme acme",
		"youtube https://www.youtube.com/@acme @acme",
		"instagram https://www.instagram.com/acme.widgets acme.widgets",
		"crunchbase https://www.crunchbase.com/organization/acme acme",
	}
	if !reflect.DeepEqual(social, wantSocial) {
		t.Errorf("social =\n%s\nwant\n%s", strings.Join(social, "\n"), strings.Join(wantSocial, "\n"))
	}
}

func TestExtractJSONLDForms(t *testing.T) {
	for _, tc := range []struct {
		name, jsonld string
		check        func(t *testing.T, orgs []Organization)
	}{
		{"graph with references", mustRead(t, "testdata/graph/index.html"), func(t *testing.T, orgs []Organization) {
			if len(orgs) != 2 {
				t.Fatalf("orgs = %+v", orgs)
			}
			o := orgs[0]
			if o.Name != "Graph Works GmbH" || o.Logo != "https://graph.test/logo.svg" || o.Type != "Organization" ||
				o.Address == nil || o.Address.Text != "Hauptstraße 1, 10115 Berlin, Deutschland" ||
				o.Employees == nil || *o.Employees != (Employees{Min: 1000, Text: "1,000+"}) {
				t.Errorf("org = %+v (address %+v, employees %+v)", o, o.Address, o.Employees)
			}
			if orgs[1].Name != "Daily Planet" || orgs[1].Type != "NewsMediaOrganization" {
				t.Errorf("nested publisher = %+v", orgs[1])
			}
		}},
		{"top-level array, LocalBusiness subtype, broken sibling", mustRead(t, "testdata/localbusiness/index.html"), func(t *testing.T, orgs []Organization) {
			if len(orgs) != 1 {
				t.Fatalf("orgs = %+v", orgs)
			}
			o := orgs[0]
			if o.Type != "Dentist" || o.Name != "Smile Dental Care" || o.Address.Country != "GB" ||
				!reflect.DeepEqual(o.Telephones, []string{"+44 20 7946 0000", "+44 (0)20 7946 0001"}) ||
				!reflect.DeepEqual(o.Emails, []string{"hello@smile.test"}) ||
				*o.Employees != (Employees{Min: 11, Max: 50, Text: "11-50"}) {
				t.Errorf("org = %+v", o)
			}
		}},
		{"schema.org URL types, @value, logo string, employee number", `<script type="application/ld+json">
			{"@type": "http://schema.org/ProfessionalService", "name": {"@value": "Consult &amp; Co"}, "logo": "/l.png",
			 "numberOfEmployees": 12, "address": [{"@type": "PostalAddress", "addressCountry": "DE"}]}</script>`,
			func(t *testing.T, orgs []Organization) {
				if len(orgs) != 1 || orgs[0].Name != "Consult & Co" || orgs[0].Logo != "https://x.test/l.png" ||
					*orgs[0].Employees != (Employees{Min: 12, Max: 12}) || orgs[0].Address.Country != "DE" {
					t.Errorf("orgs = %+v", orgs)
				}
			}},
		{"QuantitativeValue value, contentUrl logo, country object without type", `<script type="application/ld+json">
			{"@type": ["Thing", "OnlineStore"], "name": "Shop", "logo": {"@type": "ImageObject", "contentUrl": "https://x.test/c.png"},
			 "numberOfEmployees": {"@type": "QuantitativeValue", "value": "7"}, "address": {"addressCountry": {"name": "France"}}}</script>`,
			func(t *testing.T, orgs []Organization) {
				if len(orgs) != 1 || orgs[0].Type != "OnlineStore" || orgs[0].Logo != "https://x.test/c.png" ||
					*orgs[0].Employees != (Employees{Min: 7, Max: 7, Text: "7"}) || orgs[0].Address.Country != "France" {
					t.Errorf("orgs = %+v", orgs)
				}
			}},
		{"comment wrapper and two values in one script", `<script type="application/ld+json"><!--
			{"@type": "NGO", "name": "Helpers"} {"@type": "Airline", "name": "Fly"}
			--></script>`,
			func(t *testing.T, orgs []Organization) {
				if len(orgs) != 2 || orgs[0].Name != "Helpers" || orgs[1].Name != "Fly" {
					t.Errorf("orgs = %+v", orgs)
				}
			}},
		{"not organisations", `<script type="application/ld+json">{"@type": "Person", "name": "Ann",
			"worksFor": {"@type": "Organization", "name": "Ann's Employer"}}</script>
			<script type="application/ld+json">{"@type": "Product", "name": "Widget"}</script>
			<script type="text/javascript">{"@type": "Organization", "name": "Not JSON-LD"}</script>`,
			func(t *testing.T, orgs []Organization) {
				if len(orgs) != 1 || orgs[0].Name != "Ann's Employer" {
					t.Errorf("orgs = %+v", orgs)
				}
			}},
		{"reference cycles, organisation last", cyclicGraph(40), func(t *testing.T, orgs []Organization) {
			if len(orgs) != 1 || orgs[0].Name != "Last Org" || orgs[0].Logo != "https://x.test/n0.png" {
				t.Errorf("orgs = %+v", orgs)
			}
		}},
		{"same @id twice", `<script type="application/ld+json">[{"@type": "Organization", "@id": "#o", "name": "Once"},
			{"@type": "WebSite", "publisher": {"@type": "Organization", "@id": "#o", "name": "Once"}}]</script>`,
			func(t *testing.T, orgs []Organization) {
				if len(orgs) != 1 {
					t.Errorf("orgs = %+v", orgs)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, Extract(page("https://x.test/", tc.jsonld)).Organizations)
		})
	}
}

func TestExtractLinks(t *testing.T) {
	d := Extract(page("https://acme.test/contact", `
		<base href="https://cdn.test/base/">
		<a href="tel:+1 (555) 010-0100">a</a>
		<a href="TEL:+1.555.010.0100">dup by digits</a>
		<a href="tel://0800%20123%20456">slashes</a>
		<a href="callto:+44 20 7946 0000">callto</a>
		<a href="tel:call-us">no digits</a>
		<a href="mailto:Info@Acme.TEST">a</a>
		<a href="MAILTO:info@acme.test?subject=x">dup</a>
		<a href="mailto:a@acme.test,%20b@acme.test">two</a>
		<a href="mailto:not-an-address">bad</a>
		<a href="https://www.linkedin.com/in/jane-doe/?trk=x">person</a>
		<a href="//uk.linkedin.com/company/acme-ltd">protocol-relative, country host</a>
		<a href="https://mobile.twitter.com/AcmeHQ/status/1">tweet</a>
		<a href="https://twitter.com/share?url=x">share</a>
		<a href="https://twitter.com/home">home</a>
		<a href="https://www.facebook.com/profile.php?id=1234">fb id</a>
		<a href="https://www.facebook.com/dialog/feed?app_id=1">dialog</a>
		<a href="https://www.youtube.com/channel/UC123">channel</a>
		<a href="https://www.youtube.com/embed/xyz">embed</a>
		<a href="https://github.com/orgs/acme-inc/people">org</a>
		<a href="https://github.com/features/actions">feature</a>
		<a href="https://www.instagram.com/p/abc123/">post</a>
		<a href="https://www.crunchbase.com/person/jane-doe">cb</a>
		<a href="https://example.com/linkedin.com/company/x">not linkedin</a>
		<a href="https://linkedin.com.evil.test/company/x">not linkedin</a>
		<a href="javascript:void(0)">js</a>
	`))
	if want := []string{"+1 (555) 010-0100", "0800 123 456", "+44 20 7946 0000"}; !reflect.DeepEqual(d.Phones, want) {
		t.Errorf("phones = %q, want %q", d.Phones, want)
	}
	if want := []string{"info@acme.test", "a@acme.test", "b@acme.test"}; !reflect.DeepEqual(d.Emails, want) {
		t.Errorf("emails = %q, want %q", d.Emails, want)
	}
	var urls []string
	for _, s := range d.Social {
		urls = append(urls, s.URL)
	}
	want := []string{
		"https://www.linkedin.com/in/jane-doe",
		"https://www.linkedin.com/company/acme-ltd",
		"https://x.com/AcmeHQ",
		"https://www.facebook.com/profile.php?id=1234",
		"https://www.youtube.com/channel/UC123",
		"https://github.com/acme-inc",
		"https://www.crunchbase.com/person/jane-doe",
	}
	if !reflect.DeepEqual(urls, want) {
		t.Errorf("social =\n%s\nwant\n%s", strings.Join(urls, "\n"), strings.Join(want, "\n"))
	}
}

func TestExtractCharsetAndLanguage(t *testing.T) {
	// windows-1252 "Société Générale" declared only in <meta charset>.
	body := append([]byte(`<html><head><meta charset="windows-1252"><meta http-equiv="Content-Language" content="fr-FR"><title>Soci`),
		0xe9, 't', 0xe9, ' ', 'G', 0xe9, 'n', 0xe9, 'r', 'a', 'l', 'e')
	body = append(body, []byte(`</title></head></html>`)...)
	d := Extract(&Page{URL: "https://sg.test/", Header: http.Header{"Content-Type": {"text/html"}}, Body: body})
	if d.Title != "Société Générale" || d.ContentLanguage != "fr-FR" {
		t.Errorf("title, content language = %q, %q", d.Title, d.ContentLanguage)
	}
	// The header's charset wins over nothing, and its Content-Language over http-equiv.
	d = Extract(&Page{URL: "https://sg.test/", Header: http.Header{"Content-Type": {"text/html; charset=iso-8859-1"},
		"Content-Language": {"de-DE, en"}}, Body: []byte("<title>M\xfcller</title><meta http-equiv=content-language content=fr>")})
	if d.Title != "Müller" || d.ContentLanguage != "de-DE" {
		t.Errorf("title, content language = %q, %q", d.Title, d.ContentLanguage)
	}
}

func TestExtractOddHTML(t *testing.T) {
	for _, body := range []string{
		"",
		"<title>Unterminated",
		"<script type=application/ld+json>{\"@type\":\"Organization\",\"name\":\"Open\"",
		"<html lang><meta property=og:title><a href>",
		"<svg><title>icon</title></svg><title>Real</title>",
		strings.Repeat("<div>", 10000),
		"<script type='application/ld+json'>" + strings.Repeat("[", 5000) + "</script>",
	} {
		d := Extract(page("https://x.test/", body))
		if strings.Contains(body, "<title>Real") && d.Title != "Real" {
			t.Errorf("title = %q", d.Title)
		}
	}
}

// cyclicGraph is a JSON-LD @graph of n WebPages that all reference each other and the
// organisation, which comes last and takes its logo from the first page's image by reference.
func cyclicGraph(n int) string {
	var b strings.Builder
	b.WriteString(`<script type="application/ld+json">{"@context":"https://schema.org","@graph":[`)
	for i := range n {
		b.WriteString(`{"@type":"WebPage","@id":"#n` + itoa(i) + `","url":"/n` + itoa(i) + `.png","publisher":{"@id":"#org"},"hasPart":[`)
		for j := range n {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"@id":"#n` + itoa(j) + `"}`)
		}
		b.WriteString(`]},`)
	}
	b.WriteString(`{"@type":"Organization","@id":"#org","name":"Last Org","logo":{"@id":"#n0"},"subOrganization":{"@id":"#org"}}]}</script>`)
	return b.String()
}

func mustRead(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzExtract: arbitrary bytes under any content type never make Extract panic, and what it
// returns is well-formed (emails lower-case, social profiles canonical).
func FuzzExtract(f *testing.F) {
	for _, dir := range []string{"acme", "graph", "localbusiness", "opengraph", "bare"} {
		matches, _ := filepath.Glob(filepath.Join("testdata", dir, "*.html"))
		for _, m := range matches {
			b, _ := os.ReadFile(m)
			f.Add(b, "text/html; charset=utf-8")
		}
	}
	f.Add([]byte(`<script type="application/ld+json">{"@graph":[{"@type":"Organization","@id":"#a","logo":{"@id":"#a"},"address":{"@id":"#a"}}]}</script>`), "text/html")
	f.Add([]byte("<meta charset=shift_jis><title>\x82\xa0</title>"), "")
	f.Add([]byte(`<a href="mailto:%ZZ@x"><a href="tel:%"><a href="https://x.com/%">`), "text/html; charset=bogus")
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		d := Extract(&Page{URL: "https://fuzz.test/a/", Header: http.Header{"Content-Type": {ctype}}, Body: body})
		for _, e := range d.Emails {
			if e != strings.ToLower(e) || !strings.Contains(e, "@") {
				t.Fatalf("email %q", e)
			}
		}
		for _, s := range d.Social {
			again, ok := socialProfile(s.URL)
			if !ok || again.URL != s.URL {
				t.Fatalf("social %q is not canonical: %+v %v", s.URL, again, ok)
			}
		}
		for _, o := range d.Organizations {
			for _, e := range o.Emails {
				if e != strings.ToLower(e) {
					t.Fatalf("org email %q", e)
				}
			}
		}
	})
}
