package match

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// foldSpecial maps letters that Unicode decomposition leaves alone (they are letters of their
// own, not a base letter plus a mark) to the ASCII spelling people type for them.
var foldSpecial = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
	'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d", 'þ': "th", 'Þ': "th",
	'ı': "i", 'ŀ': "l", 'ĸ': "k", 'ŉ': "n",
	// Typographic punctuation folds to its ASCII form so the tokenisers see one spelling.
	'‘': "'", '’': "'", '`': "'", '´': "'", '“': "\"", '”': "\"", '–': "-", '—': "-", '‐': "-",
}

// fold lower-cases s and removes diacritics ("Müller" → "muller", "Øresund" → "oresund").
// ASCII input takes a fast path because almost all CRM data is ASCII.
func fold(s string) string {
	ascii := true
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if ascii {
		if !upper {
			return s
		}
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if rep, ok := foldSpecial[r]; ok {
			b.WriteString(rep)
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	// NFC again so that letters without an ASCII base (Greek, Cyrillic, CJK) stay composed.
	return norm.NFC.String(b.String())
}

// isWordRune reports whether r belongs inside a token.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// words splits folded text into runs of letters and digits. Apostrophes are dropped inside
// words ("O'Brien" → "obrien", "Philips'" → "philips") because they are spelled
// inconsistently; every other non-alphanumeric character separates words.
func words(s string) []string {
	out := make([]string, 0, 8)
	start := -1
	var cur []byte
	for i, r := range s {
		switch {
		case isWordRune(r):
			if start < 0 {
				start = i
				cur = cur[:0]
			}
			cur = utf8.AppendRune(cur, r)
		case r == '\'' && start >= 0:
			// stay inside the word, drop the apostrophe
		default:
			if start >= 0 {
				out = append(out, string(cur))
				start = -1
			}
		}
	}
	if start >= 0 {
		out = append(out, string(cur))
	}
	return out
}

// digitsOnly returns the ASCII digits of s.
func digitsOnly(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// isDigits reports whether s is non-empty and all ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
