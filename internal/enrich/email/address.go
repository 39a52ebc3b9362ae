package email

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/lanternhq/lantern/internal/apperr"
)

// RFC 5321 §4.5.3.1 limits; 254 is the 256-octet path minus the angle brackets.
const (
	maxLocalLen   = 64
	maxAddressLen = 254
	maxDomainLen  = 253
	maxLabelLen   = 63
)

// Address is a syntactically valid mailbox address.
type Address struct {
	// Local is the local part as written: RFC 5321 lets servers treat it case-sensitively, so
	// it is not lowercased.
	Local string `json:"local"`
	// Domain is lowercase ASCII, internationalised names in their xn-- (A-label) form.
	Domain string `json:"domain"`
}

// String returns local@domain.
func (a Address) String() string { return a.Local + "@" + a.Domain }

// Parse checks an address strictly and splits it. Surrounding whitespace is trimmed (CRM exports
// carry it); everything else must be a bare dot-atom address: no display name, no comments, no
// quoted local part, no address literal, an ASCII local part of at most 64 octets, a domain with
// at least two labels, at most 254 octets in all. Internationalised domains are converted to
// ASCII. Quoted and non-ASCII (SMTPUTF8) local parts are valid in the RFCs but are refused: no
// business mailbox we can verify uses them, and they are a favourite of injection attempts.
//
// Errors are *apperr.Error with code invalid_input and a message saying what is wrong.
func Parse(address string) (Address, error) {
	s := strings.TrimSpace(address)
	if s == "" {
		return Address{}, syntaxErr("address is empty")
	}
	if strings.ContainsAny(s, "<>") {
		return Address{}, syntaxErr("display names and angle brackets are not accepted: give the bare address, like jane@example.com")
	}
	if strings.HasPrefix(strings.ToLower(s), "mailto:") {
		return Address{}, syntaxErr("remove the mailto: prefix")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return Address{}, syntaxErr("address contains whitespace or control characters")
		}
	}
	at := strings.LastIndexByte(s, '@')
	switch {
	case at < 0:
		return Address{}, syntaxErr("missing @")
	case strings.Count(s, "@") > 1:
		if strings.HasPrefix(s, `"`) {
			return Address{}, syntaxErr("quoted local parts are not supported")
		}
		return Address{}, syntaxErr("more than one @")
	}
	local, domain := s[:at], s[at+1:]
	if err := checkLocal(local); err != nil {
		return Address{}, err
	}
	d, err := domainToASCII(domain)
	if err != nil {
		return Address{}, syntaxErr("%s", err)
	}
	if n := len(local) + 1 + len(d); n > maxAddressLen {
		return Address{}, syntaxErr("address is %d octets long, more than %d", n, maxAddressLen)
	}
	return Address{Local: local, Domain: d}, nil
}

func syntaxErr(format string, args ...any) error {
	return apperr.New(apperr.Invalid, "invalid email address: "+format, args...)
}

// problem is what is wrong with a domain, worded for both Parse and NormalizeDomain to wrap.
type problem string

func (p problem) Error() string { return string(p) }

func problemf(format string, args ...any) error { return problem(fmt.Sprintf(format, args...)) }

// atext is RFC 5322 §3.2.3's atom characters besides letters and digits.
const atextSpecials = "!#$%&'*+-/=?^_`{|}~"

func checkLocal(local string) error {
	switch {
	case local == "":
		return syntaxErr("local part (before @) is empty")
	case strings.HasPrefix(local, `"`):
		return syntaxErr("quoted local parts are not supported")
	case len(local) > maxLocalLen:
		return syntaxErr("local part is %d octets long, more than %d", len(local), maxLocalLen)
	case local[0] == '.' || local[len(local)-1] == '.':
		return syntaxErr("local part starts or ends with a dot")
	case strings.Contains(local, ".."):
		return syntaxErr("local part has two dots in a row")
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c >= utf8.RuneSelf:
			return syntaxErr("non-ASCII local parts are not supported")
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.':
		case strings.IndexByte(atextSpecials, c) >= 0:
		default:
			return syntaxErr("local part contains %q, which is not allowed", c)
		}
	}
	return nil
}

// domainToASCII validates a mail domain strictly and returns its lowercase A-label form.
func domainToASCII(domain string) (string, error) {
	switch {
	case domain == "":
		return "", problemf("domain is empty")
	case strings.HasPrefix(domain, "["):
		return "", problemf("address literals like [192.0.2.1] are not supported")
	case strings.HasSuffix(domain, "."):
		return "", problemf("domain ends with a dot")
	case strings.HasPrefix(domain, "."):
		return "", problemf("domain starts with a dot")
	}
	if len(domain) > 4*maxDomainLen { // bound the work idna does on hostile input
		return "", problemf("domain is too long")
	}
	if !utf8.ValidString(domain) { // idna would turn bad bytes into U+FFFD and encode that
		return "", problemf("domain is not valid UTF-8")
	}
	// ASCII input is checked before IDNA processing so that errors name the actual fault.
	if isASCII(domain) {
		if err := checkASCIIDomain(strings.ToLower(domain)); err != nil {
			return "", err
		}
	}
	d, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return "", problemf("domain %q is not a valid host name", domain)
	}
	d = strings.ToLower(d)
	if err := checkASCIIDomain(d); err != nil {
		return "", err
	}
	// The A-label form must itself be valid, or the address would not survive a round trip
	// through this function (and DNS would see a name no registry allows).
	if again, err := idna.Lookup.ToASCII(d); err != nil || again != d {
		return "", problemf("domain %q is not a valid host name", domain)
	}
	return d, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// checkASCIIDomain enforces host-name syntax (letters, digits, inner hyphens), RFC 1035
// lengths, at least two labels and a non-numeric TLD.
func checkASCIIDomain(d string) error {
	if len(d) > maxDomainLen {
		return problemf("domain is %d octets long, more than %d", len(d), maxDomainLen)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return problemf("domain %q has no dot: a full domain like example.com is needed", d)
	}
	for _, l := range labels {
		if l == "" {
			return problemf("domain has an empty label (two dots in a row)")
		}
		if len(l) > maxLabelLen {
			return problemf("a domain label is %d octets long, more than %d", len(l), maxLabelLen)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return problemf("domain label %q starts or ends with a hyphen", l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return problemf("domain label %q contains %q", l, c)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return problemf("domain %q ends in a number: IP addresses are not accepted", d)
	}
	return nil
}

// NormalizeDomain turns what users type as a company domain into the mail domain: it accepts
// "Acme.com", "www.acme.com", "https://www.acme.com/about", "acme.com." and even
// "jane@acme.com", and returns "acme.com" (lowercase, A-label form). A leading "www." is dropped
// because companies receive mail at the bare domain. Public suffixes (com, co.uk) are refused:
// nobody receives mail there.
func NormalizeDomain(s string) (string, error) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '@'); i >= 0 && !strings.Contains(s, "/") {
		s = s[i+1:]
	}
	if strings.Contains(s, "/") || strings.Contains(s, ":") {
		raw := s
		if !strings.Contains(raw, "://") {
			raw = "http://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			return "", apperr.New(apperr.Invalid, "invalid domain %q: give a domain like example.com", s)
		}
		s = u.Hostname()
	}
	s = strings.TrimSuffix(s, ".")
	if len(s) > 4 && strings.EqualFold(s[:4], "www.") {
		s = s[4:]
	}
	d, err := domainToASCII(s)
	if err != nil {
		return "", apperr.New(apperr.Invalid, "invalid domain: %s", err)
	}
	if ps, icann := publicsuffix.PublicSuffix(d); ps == d && icann {
		return "", apperr.New(apperr.Invalid, "invalid domain: %s is a public suffix, not an organisation's domain", d)
	}
	return d, nil
}
