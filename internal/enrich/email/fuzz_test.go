package email

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"jane@example.com", "Jane.Doe@Example.COM", "jane@bücher.de", "jane@例え.jp",
		`"a b"@example.com`, "Jane <jane@example.com>", "a@b@c.com", "jane@[192.0.2.1]",
		".a@b.com", "a..b@c.com", "jane@xn--bcher-kva.de", "jane@ＥＸＡＭＰＬＥ.com",
		"jane@a\u200d.com", "jane@xn--zz.com", strings.Repeat("a", 70) + "@b.com", "@", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if a.Local == "" || len(a.Local) > maxLocalLen || len(a.String()) > maxAddressLen || len(a.Domain) > maxDomainLen {
			t.Fatalf("limits broken: %q", a)
		}
		if a.Domain != strings.ToLower(a.Domain) || !isASCII(a.Domain) || !isASCII(a.Local) {
			t.Fatalf("not lowercase ASCII: %q", a)
		}
		again, err := Parse(a.String())
		if err != nil || again != a {
			t.Fatalf("Parse(%q) = %q; re-parse gave %q, %v", s, a, again, err)
		}
	})
}

func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{"acme.com", "https://www.Acme.com/x", "jane@acme.com", "münchen.de", "http://[::1]:80/", "a..b", ":", "//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := NormalizeDomain(s)
		if err != nil {
			return
		}
		if again, err := NormalizeDomain(d); err != nil || again != strings.TrimPrefix(d, "www.") {
			t.Fatalf("NormalizeDomain(%q) = %q, not stable: %q, %v", s, d, again, err)
		}
		if _, err := Parse("x@" + d); err != nil {
			t.Fatalf("normalised domain %q does not parse: %v", d, err)
		}
	})
}

func FuzzCandidates(f *testing.F) {
	for _, s := range [][3]string{
		{"Jane", "Doe", "acme.com"}, {"José", "Núñez", "bücher.de"}, {"Mary-Jane", "van der Berg", "www.acme.io"},
		{"Dr. Jane Doe, PhD", "", "acme.com"}, {"", "O'Brien", "acme.com"}, {"李", "王", "acme.com"},
		{"-", "--", "acme.com"}, {"Li", "Li", "acme.com"}, {strings.Repeat("a", 80), "b", "acme.com"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, first, last, domain string) {
		n := NewName(first, last, first+" "+last)
		for _, part := range []string{n.First, n.Last, n.AltFirst, n.AltLast} {
			if strings.Trim(part, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || strings.HasPrefix(part, "-") || strings.HasSuffix(part, "-") || strings.Contains(part, "--") {
				t.Fatalf("NewName(%q, %q) part %q is not folded", first, last, part)
			}
		}
		cs := Candidates(first, last, domain)
		if len(cs) == 0 {
			return
		}
		d, err := NormalizeDomain(domain)
		if err != nil {
			t.Fatalf("candidates for an invalid domain %q", domain)
		}
		seen := map[string]bool{}
		for i, c := range cs {
			a, err := Parse(c.Email)
			if err != nil {
				t.Fatalf("candidate %q does not parse: %v", c.Email, err)
			}
			if a.Domain != d || seen[c.Email] || c.Prior <= 0 || c.Prior > 1 {
				t.Fatalf("bad candidate %+v (domain %q, seen %v)", c, d, seen[c.Email])
			}
			if i > 0 && c.Prior > cs[i-1].Prior {
				t.Fatalf("not sorted: %+v", cs)
			}
			seen[c.Email] = true
			// Learning from a generated address must recognise the pattern that made it.
			if !IsRole(a.Local) {
				e := Learn([]Known{{Email: c.Email, FirstName: first, LastName: last}})
				if e.Agree[c.Pattern] == 0 {
					t.Fatalf("Learn did not recognise %s as %s", c.Email, c.Pattern)
				}
			}
		}
	})
}
