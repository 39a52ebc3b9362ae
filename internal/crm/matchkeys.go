package crm

import (
	"strings"

	"github.com/lanternhq/lantern/internal/match"
)

// blockKeys are the keys candidate search looks records up by.
type blockKeys struct{ Name, Domain, Email, Phone, Birthdate string }

// matchKeys computes a record's search keys with the matching engine's normalisers
// (match.Keys), so that stored columns and searches agree: the normalised company or person
// name, the company domain (never a webmail one), the email, the E.164 phone (Phone, else
// MobilePhone) and the birth date.
func matchKeys(object string, fields map[string]any, region string) blockKeys {
	mo := object
	switch object {
	case Opportunity:
		mo = match.ObjectAccount // searched by name, like a company
	case User:
		mo = match.ObjectContact // searched by person name
	}
	sf := make(map[string]string, 8)
	for _, n := range []string{"Name", "FirstName", "LastName", "Website", "Email", "Birthdate"} {
		if s := str(fields, n); s != "" {
			sf[n] = s
		}
	}
	phone := str(fields, "Phone", "MobilePhone")
	k := match.Keys(mo, match.Record{Fields: sf}, region)
	out := blockKeys{Name: k.Name, Domain: k.Domain, Email: k.Email, Birthdate: k.Birthdate}
	if object == Lead && out.Domain == "" {
		out.Domain = match.NormalizeDomain(str(fields, "Website"))
	}
	if phone != "" {
		out.Phone = e164(phone, region)
	}
	return out
}

// e164 is a phone number in E.164, or "". Numbers already written internationally ("+" and
// digits with spaces, dashes or dots) are read directly: libphonenumber's full parse costs
// ~25µs, which bulk imports of millions of rows feel.
func e164(raw, region string) string {
	if digits, ok := plainInternational(raw); ok {
		return "+" + digits
	}
	return match.NormalizePhone(raw, region)
}

func plainInternational(raw string) (string, bool) {
	s := strings.TrimSpace(raw)
	if !strings.HasPrefix(s, "+") {
		return "", false
	}
	var b strings.Builder
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.':
		default:
			return "", false // parentheses, letters, extensions: the full parse decides
		}
	}
	n := b.Len()
	return b.String(), n >= 8 && n <= 15 && b.String()[0] != '0'
}
