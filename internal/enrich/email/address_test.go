package email

import (
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/apperr"
)

func TestParse(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	// domainOf builds a valid domain of exactly n octets (n >= 197).
	domainOf := func(n int) string { return strings.Repeat(long(63)+".", 3) + long(n-196) + ".com" }

	valid := []struct{ in, local, domain string }{
		{"jane@example.com", "jane", "example.com"},
		{"Jane.Doe@Example.COM", "Jane.Doe", "example.com"},
		{"  jane@example.com\t", "jane", "example.com"},
		{"jane+crm@example.com", "jane+crm", "example.com"},
		{"o'brien@example.ie", "o'brien", "example.ie"},
		{"a!#$%&'*+-/=?^_`{|}~z@example.com", "a!#$%&'*+-/=?^_`{|}~z", "example.com"},
		{"jane@mail.example.co.uk", "jane", "mail.example.co.uk"},
		{"jane@bücher.de", "jane", "xn--bcher-kva.de"},
		{"jane@xn--bcher-kva.de", "jane", "xn--bcher-kva.de"},
		{"jane@例え.jp", "jane", "xn--r8jz45g.jp"},
		{"jane@ＥＸＡＭＰＬＥ.com", "jane", "example.com"}, // full-width letters map to ASCII
		{long(64) + "@example.com", long(64), "example.com"},
		{"j@" + domainOf(252), "j", domainOf(252)}, // exactly 254 octets
		{"jane@123.example.com", "jane", "123.example.com"},
	}
	for _, tt := range valid {
		a, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if a.Local != tt.local || a.Domain != tt.domain {
			t.Errorf("Parse(%q) = %+v; want %s @ %s", tt.in, a, tt.local, tt.domain)
		}
	}

	invalid := []struct{ in, why string }{
		{"", "empty"},
		{"   ", "empty"},
		{"jane", "missing @"},
		{"jane@", "domain is empty"},
		{"@example.com", "local part (before @) is empty"},
		{"jane@@example.com", "more than one @"},
		{"a@b@example.com", "more than one @"},
		{`"jane doe"@example.com`, "whitespace"},
		{`"jane"@example.com`, "quoted local parts"},
		{`"a@b"@example.com`, "quoted local parts"},
		{"Jane Doe <jane@example.com>", "display names"},
		{"<jane@example.com>", "display names"},
		{"mailto:jane@example.com", "mailto"},
		{"jane doe@example.com", "whitespace"},
		{"jane@exam\nple.com", "whitespace or control"},
		{".jane@example.com", "starts or ends with a dot"},
		{"jane.@example.com", "starts or ends with a dot"},
		{"ja..ne@example.com", "two dots"},
		{"ja(ne)@example.com", `contains '('`},
		{"jané@example.com", "non-ASCII local parts"},
		{long(65) + "@example.com", "local part is 65 octets"},
		{"jane@example", "has no dot"},
		{"jane@localhost", "has no dot"},
		{"jane@example.com.", "ends with a dot"},
		{"jane@.example.com", "starts with a dot"},
		{"jane@example..com", "empty label"},
		{"jane@-example.com", "hyphen"},
		{"jane@example-.com", "hyphen"},
		{"jane@exa_mple.com", `contains '_'`},
		{"jane@xn--zz.com", "not a valid host name"}, // bad punycode
		{"jane@a\u200d.com", "not a valid host name"},
		{"jane@[192.0.2.1]", "address literals"},
		{"jane@192.0.2.1", "ends in a number"},
		{"jane@" + long(64) + ".com", "64 octets long, more than 63"},
		{"jj@" + domainOf(252), "255 octets long, more than 254"},
		{"j@" + domainOf(254), "254 octets long, more than 253"},
	}
	for _, tt := range invalid {
		_, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded; want error about %q", tt.in, tt.why)
			continue
		}
		if !strings.Contains(err.Error(), tt.why) {
			t.Errorf("Parse(%q) error %q; want it to mention %q", tt.in, err, tt.why)
		}
		if apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("Parse(%q) error code %q; want invalid_input", tt.in, apperr.CodeOf(err))
		}
	}
}

func TestNormalizeDomain(t *testing.T) {
	ok := map[string]string{
		"acme.com":                     "acme.com",
		" Acme.COM ":                   "acme.com",
		"www.acme.com":                 "acme.com",
		"acme.com.":                    "acme.com",
		"https://www.acme.com/about":   "acme.com",
		"http://acme.com:8080/x?y=1":   "acme.com",
		"acme.com/contact":             "acme.com",
		"jane@acme.com":                "acme.com",
		"münchen.de":                   "xn--mnchen-3ya.de",
		"https://user:pw@shop.acme.io": "shop.acme.io",
	}
	for in, want := range ok {
		got, err := NormalizeDomain(in)
		if err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "acme", "not a domain", "https://", "http://[::1]/", "192.0.2.1", "acme..com", "ac_me.com", "co.uk", "www.co.uk", "com.au"} {
		if got, err := NormalizeDomain(in); err == nil {
			t.Errorf("NormalizeDomain(%q) = %q; want error", in, got)
		} else if !strings.HasPrefix(err.Error(), "invalid domain") {
			t.Errorf("NormalizeDomain(%q) error %q should start with 'invalid domain'", in, err)
		}
	}
}

func TestLists(t *testing.T) {
	webmail := []string{"gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr",
		"outlook.com", "hotmail.com", "hotmail.de", "live.com", "msn.com", "aol.com", "icloud.com",
		"me.com", "mac.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net", "gmx.at", "web.de",
		"mail.ru", "yandex.ru", "yandex.com", "qq.com", "163.com", "126.com", "zoho.com",
		"fastmail.com", "hey.com", "tutanota.com", "GMAIL.COM", "gmail.com."}
	for _, d := range webmail {
		if !IsWebmail(d) {
			t.Errorf("IsWebmail(%q) = false", d)
		}
	}
	disposable := []string{"mailinator.com", "guerrillamail.com", "guerrillamail.de", "10minutemail.com",
		"yopmail.com", "temp-mail.org", "tempmail.com", "trashmail.com", "trashmail.ws",
		"sharklasers.com", "getnada.com", "dispostable.com", "maildrop.cc", "sub.mailinator.com"}
	for _, d := range disposable {
		if !IsDisposable(d) {
			t.Errorf("IsDisposable(%q) = false", d)
		}
	}
	for _, d := range []string{"acme.com", "gmail-partners.com", "yahoo-inc.example", "mail.acme.com", "co.uk", ""} {
		if IsWebmail(d) || IsDisposable(d) {
			t.Errorf("%q flagged as webmail or disposable", d)
		}
	}
	if len(disposableDomains) < 36 {
		t.Errorf("disposable list has %d entries; want several dozen", len(disposableDomains))
	}
	roles := []string{"info", "Sales", "support", "admin", "contact", "hello", "billing", "office",
		"team", "marketing", "hr", "jobs", "careers", "noreply", "no-reply", "no_reply", "NoReply+x",
		"postmaster", "abuse", "webmaster", "help", "enquiries", "accounts", "press", "do-not-reply"}
	for _, l := range roles {
		if !IsRole(l) {
			t.Errorf("IsRole(%q) = false", l)
		}
	}
	for _, l := range []string{"jane", "jane.doe", "jdoe", "information.officer.smith", "salesman"} {
		if IsRole(l) {
			t.Errorf("IsRole(%q) = true", l)
		}
	}
}
