package salesforce

import (
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/crm"
)

func TestEscapeSOQL(t *testing.T) {
	for _, tc := range []struct{ in, plain, like string }{
		{"", "", ""},
		{"Acme", "Acme", "Acme"},
		{"O'Brien", `O\'Brien`, `O\'Brien`},
		{`a\b`, `a\\b`, `a\\b`},
		{`say "hi"`, `say \"hi\"`, `say \"hi\"`},
		{"l1\nl2\rl3\tx", `l1\nl2\rl3\tx`, `l1\nl2\rl3\tx`},
		{"\b\f", `\b\f`, `\b\f`},
		{"100%_off", "100%_off", `100\%\_off`},
		{`' OR Name != '`, `\' OR Name != \'`, `\' OR Name != \'`},
		{`\' OR 1=1 --`, `\\\' OR 1=1 --`, `\\\' OR 1=1 --`},
		{"Köln 東京", "Köln 東京", "Köln 東京"},
	} {
		if got := EscapeSOQL(tc.in); got != tc.plain {
			t.Errorf("EscapeSOQL(%q) = %q, want %q", tc.in, got, tc.plain)
		}
		if got := EscapeSOQLLike(tc.in); got != tc.like {
			t.Errorf("EscapeSOQLLike(%q) = %q, want %q", tc.in, got, tc.like)
		}
	}
	if got := Quote("it's"); got != `'it\'s'` {
		t.Errorf("Quote = %s", got)
	}
}

// unescape reads a quoted SOQL literal back, as Salesforce does; ok is false when the literal
// is not one well-formed quoted string (an unescaped quote inside, a dangling backslash, an
// unknown escape, or in LIKE mode an unescaped wildcard).
func unescape(lit string, like bool) (string, bool) {
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return "", false
	}
	s := lit[1 : len(lit)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			return "", false
		case like && (c == '%' || c == '_'):
			return "", false
		case c != '\\':
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", false
		}
		switch s[i] {
		case '\\', '\'', '"':
			b.WriteByte(s[i])
		case 'n', 'N':
			b.WriteByte('\n')
		case 'r', 'R':
			b.WriteByte('\r')
		case 't', 'T':
			b.WriteByte('\t')
		case 'b', 'B':
			b.WriteByte('\b')
		case 'f', 'F':
			b.WriteByte('\f')
		case '%', '_':
			if !like {
				return "", false
			}
			b.WriteByte(s[i])
		default:
			return "", false
		}
	}
	return b.String(), true
}

func FuzzSOQLLiteral(f *testing.F) {
	for _, s := range []string{"", "O'Brien", `\'`, "\\", "a\nb", "100%", "_x_", `"'\%_`, "\x00\xff", "' OR Id != '"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, like := range []bool{false, true} {
			lit := "'" + escape(s, like) + "'"
			got, ok := unescape(lit, like)
			if !ok || got != s {
				t.Fatalf("like=%v: %q escaped to %s read back as %q (ok=%v)", like, s, lit, got, ok)
			}
			if strings.ContainsAny(escape(s, like), "\n\r\t\b\f") {
				t.Fatalf("raw control character left in %q", lit)
			}
		}
	})
}

// TestQueryLiteralsAreEscaped: hostile filter values stay inside their literals.
func TestQueryLiteralsAreEscaped(t *testing.T) {
	c := newFake(t).client()
	soql, err := c.buildQuery(crm.Query{Object: crm.Lead, Limit: 5, Filters: map[string]string{
		"email": `x@y.com' OR Email != '`, "domain": `evil%' OR Name LIKE '%`, "name": `\' OR 1=1`}})
	if err != nil {
		t.Fatal(err)
	}
	want := `SELECT FIELDS(STANDARD), Lantern_External_Id__c FROM Lead WHERE (Email LIKE '%@evil\%\' or name like \'\%' OR Website LIKE '%evil\%\' or name like \'\%%')` +
		` AND Email = 'x@y.com\' OR Email != \'' AND Name = '\\\' OR 1=1' ORDER BY Id ASC LIMIT 6`
	if soql != want {
		t.Fatalf("soql\n got %s\nwant %s", soql, want)
	}
	// Each literal reads back to the input.
	for _, part := range []string{`'x@y.com\' OR Email != \''`, `'\\\' OR 1=1'`} {
		if !strings.Contains(soql, part) {
			t.Fatalf("%s missing", part)
		}
	}
	if got, ok := unescape(`'x@y.com\' OR Email != \''`, false); !ok || got != `x@y.com' OR Email != '` {
		t.Fatalf("read back %q", got)
	}
}

func TestPhoneFilter(t *testing.T) {
	c := newFake(t).client()
	soql, err := c.buildQuery(crm.Query{Object: crm.Contact, Limit: 1, Filters: map[string]string{"phone": "+1 (415) 555-1212"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(soql, "WHERE (Phone LIKE '%4%1%5%5%5%5%1%2%1%2' OR MobilePhone LIKE '%4%1%5%5%5%5%1%2%1%2') ORDER BY") {
		t.Fatalf("soql %s", soql)
	}
	soql, _ = c.buildQuery(crm.Query{Object: crm.Account, Limit: 1, Filters: map[string]string{"phone": "911'"}})
	if !strings.Contains(soql, `WHERE Phone = '911\''`) {
		t.Fatalf("soql %s", soql)
	}
}
