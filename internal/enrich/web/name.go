package web

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NameMatches reports whether an expected company name and a name a site gives (JSON-LD name,
// og:site_name, a <title>) plausibly name the same company. The rule:
//
//  1. Both are normalised to tokens: compatibility-decomposed, diacritics dropped ("Société" ->
//     "societe", "ß" -> "ss"), lower-cased; "&" and "and" dropped (so "P&G" = "P and G");
//     apostrophes removed inside words ("McDonald's" -> "mcdonalds"); every other non-letter,
//     non-digit separates tokens; runs of single letters are joined ("I.B.M." -> "ibm", "S.A."
//     -> "sa"); a leading "the" and trailing legal forms (Inc, LLC, Ltd, GmbH, SA, BV, PLC, Corp,
//     Co, AG, ...) are dropped.
//  2. They match when the token strings, concatenated, are equal ("Mail Chimp" = "Mailchimp").
//  3. Otherwise the site's name loses words that name a page rather than a company (home,
//     welcome, official, website, ...), and they match when the shorter, concatenated, equals a
//     run of consecutive tokens of the longer, so "Acme" matches the title "Acme | Widgets for
//     everyone" and "Acme Widgets" matches the site name "Acme", but "Home Depot" does not match
//     a page titled "Home". The contained side must be at least 2 characters; containment is
//     always at token boundaries, so "Apple" does not match "Pineapple".
func NameMatches(expected, siteName string) bool {
	g, raw := nameTokens(expected), nameTokens(siteName)
	if len(g) == 0 || len(raw) == 0 {
		return false
	}
	gj := strings.Join(g, "")
	if gj == strings.Join(raw, "") { // before dropping page words, so "Welcome Inc" = "Welcome, Inc."
		return true
	}
	s := stripGeneric(raw)
	if len(s) == 0 {
		return false
	}
	sj := strings.Join(s, "")
	if len(gj) >= 2 && containsRun(s, gj) {
		return true
	}
	return len(sj) >= 2 && containsRun(g, sj)
}

// containsRun reports whether some run of consecutive tokens concatenates to target.
func containsRun(tokens []string, target string) bool {
	for i := range tokens {
		n := 0
		for j := i; j < len(tokens) && n < len(target); j++ {
			if !strings.HasPrefix(target[n:], tokens[j]) {
				break
			}
			n += len(tokens[j])
			if n == len(target) {
				return true
			}
		}
	}
	return false
}

// legalForms are company-form suffixes dropped from the end of a name.
var legalForms = set(
	"inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "gmbh", "mbh", "ag", "kg", "kgaa",
	"ug", "sa", "sas", "sasu", "sarl", "sl", "slu", "srl", "spa", "sapa", "bv", "nv", "vof", "plc",
	"corp", "corporation", "co", "company", "cie", "oy", "oyj", "ab", "as", "asa", "aps", "kk", "pty",
	"pte", "pvt", "se", "sro", "doo", "ou", "ehf", "kft", "zrt", "bhd", "sdn", "tbk", "ltda", "cv",
	"lda", "sca", "scs", "eurl", "gbr", "ohg", "ev", "pc", "pllc", "lllp",
)

// genericWords name a page or site rather than a company; they are dropped from site names.
var genericWords = set("home", "homepage", "welcome", "official", "site", "website", "web", "index",
	"page", "main", "startseite", "accueil", "inicio")

// nameTokens normalises a company name to comparable tokens (rule 1 of NameMatches, without
// the generic-word removal).
func nameTokens(s string) []string {
	var (
		tokens []string
		cur    strings.Builder
	)
	flush := func() {
		if cur.Len() > 0 {
			tokens = append(tokens, cur.String())
			cur.Reset()
		}
	}
	rs := []rune(norm.NFKD.String(s))
	for i, r := range rs {
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining mark left by decomposition: the diacritic we drop
		case r == '\'' || r == '’':
			// apostrophe inside a word joins it; elsewhere it separates
			if !(i > 0 && i+1 < len(rs) && unicode.IsLetter(rs[i-1]) && unicode.IsLetter(rs[i+1])) {
				flush()
			}
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if f, ok := foldLetters[r]; ok {
				cur.WriteString(f)
			} else {
				cur.WriteRune(unicode.ToLower(r))
			}
		default:
			flush()
		}
	}
	flush()

	// Drop "and" (also what "&" stood for) and join runs of single letters.
	var out []string
	prevSingle := false
	for _, t := range tokens {
		if t == "and" {
			continue
		}
		single := utf8.RuneCountInString(t) == 1
		if single && prevSingle {
			out[len(out)-1] += t
		} else {
			out = append(out, t)
		}
		prevSingle = single
	}
	tokens = out
	if len(tokens) > 1 && tokens[0] == "the" {
		tokens = tokens[1:]
	}
	for len(tokens) > 1 && legalForms[tokens[len(tokens)-1]] {
		tokens = tokens[:len(tokens)-1]
	}
	return tokens
}

// foldLetters are letters that do not decompose into a base letter and a mark.
var foldLetters = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o", 'đ': "d", 'Đ': "d",
	'ł': "l", 'Ł': "l", 'þ': "th", 'Þ': "th", 'ı': "i", 'ð': "d", 'Ð': "d",
}

func stripGeneric(tokens []string) []string {
	out := make([]string, 0, len(tokens))
	for _, t := range tokens {
		if !genericWords[t] {
			out = append(out, t)
		}
	}
	return out
}

// titleSeparators split a <title> like "Acme | Widgets for everyone" into segments.
var titleSeparators = strings.NewReplacer(" | ", "\x00", " - ", "\x00", " – ", "\x00", " — ", "\x00",
	" · ", "\x00", " • ", "\x00", " :: ", "\x00", ": ", "\x00", " » ", "\x00", "|", "\x00")

// nameFromTitle guesses the company name in a page title: the segment that matches the domain's
// label ("acme" for acme.com), else the first segment that is not a generic word like "Home".
func nameFromTitle(title, label string) string {
	if title == "" {
		return ""
	}
	var segs []string
	for _, s := range strings.Split(titleSeparators.Replace(title), "\x00") {
		if s = strings.TrimSpace(s); s != "" {
			segs = append(segs, s)
		}
	}
	if label != "" {
		for _, s := range segs {
			if NameMatches(label, s) {
				return s
			}
		}
	}
	for _, s := range segs {
		if len(stripGeneric(nameTokens(s))) > 0 {
			return s
		}
	}
	return ""
}
