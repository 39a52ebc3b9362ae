package match

import (
	"sort"
	"strings"
)

// Company names. NormalizeCompany removes what varies between spellings of one company and
// says nothing about which company it is: case, diacritics, punctuation, a leading "The",
// "&"/"and"/"und"/"et", legal forms of many countries ("Inc", "GmbH", "N.V.", "S.p.A.", "K.K.",
// "A/S", ...), and trailing location text after a legal form ("Acme B.V., Amsterdam, NL").
// The comparator additionally discounts generic words ("International", "Electronics",
// "Europe", "Holland"), which appear in the names of many unrelated companies.

// legalForms are token sequences (after tokenising, so "S.p.A." is "s p a") that name a legal
// form. Sources: the ISO 20275 Entity Legal Forms list (GLEIF) for the commonest forms of each
// country, plus the English words "company", "holdings" and "group" that CRMs add and drop freely.
var legalForms = compileForms(`
inc|incorporated|corp|corporation|co|cos|company|companies|ltd|limited|llc|l l c|llp|l l p|lp|l p|
plc|p l c|pllc|pty|pty ltd|proprietary limited|holding|holdings|group|
public limited company|limited liability company|limited partnership|
gmbh|g m b h|mbh|ag|a g|kg|k g|kgaa|kg auf aktien|kommanditgesellschaft auf aktien|ohg|ug|
aktiengesellschaft|gesellschaft mit beschrankter haftung|ev|e v|
nv|n v|bv|b v|cv|c v|vof|bvba|sprl|naamloze vennootschap|besloten vennootschap|vzw|
sa|s a|sas|s a s|sarl|s a r l|snc|societe anonyme|sa de cv|s a de c v|sapi|
spa|s p a|srl|s r l|societa per azioni|sl|s l|slu|sau|s a u|sociedad anonima|sociedad limitada|
lda|ltda|sac|s a c|se|s e|
kk|k k|kabushiki kaisha|kabushikigaisha|yk|godo kaisha|
oy|oyj|ab|a b|publ|aktiebolag|aktiebolaget|as|a s|asa|a s a|aps|a p s|hf|ehf|
sp z o o|spzoo|s r o|sro|d o o|doo|zrt|kft|nyrt|anonim sirketi|limited sirketi|
bhd|sdn bhd|berhad|sendirian berhad|pte|pte ltd|pvt|pvt ltd|private limited|tbk|
ooo|oao|zao|pao`)

// leadingForms may also open a name ("N.V. Philips", "AB Volvo", "PT Astra", "OOO Romashka").
var leadingForms = compileForms(`nv|n v|bv|b v|ab|a b|pt|p t|ooo|oao|zao|pao|kabushiki kaisha|cv|c v`)

func compileForms(spec string) [][]string {
	var out [][]string
	for _, f := range strings.Split(spec, "|") {
		f = strings.TrimSpace(f)
		if f != "" {
			out = append(out, strings.Fields(f))
		}
	}
	// Longest first, so "pty ltd" is removed as one form rather than leaving "pty".
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// companyConnectives are the words for "and" that join parts of a name; "&" tokenises away.
var companyConnectives = map[string]bool{"and": true, "und": true, "et": true, "en": true}

// companyAbbrev spells out abbreviations so both spellings compare equal.
var companyAbbrev = map[string]string{
	"intl": "international", "internatl": "international", "int'l": "international",
	"tech": "technology", "techn": "technology", "technologie": "technology", "technologies": "technology",
	"mfg": "manufacturing", "bros": "brothers", "assoc": "association", "assn": "association",
	"natl": "national", "svcs": "services", "svc": "services", "sys": "systems",
	"grp": "group", "hldgs": "holdings", "hldg": "holding", "mgmt": "management",
	"univ": "university", "inst": "institute", "ctr": "center", "centre": "center",
	"inds": "industries", "indus": "industries", "industrie": "industries", "industry": "industries",
	"elec": "electric", "electronic": "electronics", "labs": "laboratories", "lab": "laboratories",
	"dept": "department", "svc's": "services",
}

// genericWords describe a business's kind or place rather than which business it is. They are
// kept in the normalised name but weigh little when names are compared. Only words that occur
// in the names of many unrelated firms belong here.
var genericWords = toSet(`
international internationale internacional global worldwide world
industries industrial technology systems system solutions services service products product
manufacturing enterprises enterprise associates partners trading ventures research development
laboratories electronics electric engineering consulting consultants software networks
communications resources management capital investments investment finance financial
association center institute department
america american usa us europe european europa asia pacific canada holland nederland netherlands
netherland deutschland germany deutsche france francaise uk britain british japan china india
australia national royal koninklijke maatschappij fabriek fabrieken fabrik fabriken werk werke
gesellschaft handel metropolitan general`)

// compoundGeneric are generic words that Dutch, German and Swedish glue to the end of another
// word ("Gloeilampenfabrieken" = light-bulb factories, "Motorenwerke"); the stem is kept.
var compoundGeneric = []string{"fabrieken", "fabriek", "fabriken", "fabrik", "werke", "gesellschaft",
	"maatschappij", "aktiebolaget", "aktiebolag"}

// nameStopwords are skipped when forming initials ("Bank of America" → "BA").
var nameStopwords = toSet(`of the and for de du der den van von la le les des di da del y`)

func toSet(spec string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(spec) {
		m[w] = true
	}
	return m
}

// NormalizeCompany returns the comparable form of a company name: lower case, no diacritics,
// punctuation or legal forms, single letters joined ("D.S.M. N.V." → "dsm"), common
// abbreviations spelled out. It is idempotent. A name made only of legal words keeps its last
// word rather than becoming empty ("The Company" → "company").
func NormalizeCompany(name string) string {
	return strings.Join(companyTokens(name), " ")
}

// companyTokens is NormalizeCompany as a word list.
func companyTokens(name string) []string {
	s := fold(name)
	s = cutAfterLegalSegment(s)
	toks := words(s)
	if len(toks) == 0 {
		return nil
	}
	// "&" and its spelled-out forms join parts of a name; drop them unless they are the name.
	kept := toks[:0:0]
	for i, t := range toks {
		if companyConnectives[t] && i > 0 && i < len(toks)-1 {
			continue
		}
		kept = append(kept, t)
	}
	toks = kept
	for {
		n := len(toks)
		if len(toks) > 1 && toks[0] == "the" {
			toks = toks[1:]
		}
		if len(toks) > 1 && toks[len(toks)-1] == "the" {
			toks = toks[:len(toks)-1]
		}
		toks = stripForms(toks, legalForms, false)
		toks = stripForms(toks, leadingForms, true)
		if len(toks) == n {
			break
		}
	}
	toks = joinInitials(toks)
	for i, t := range toks {
		if full, ok := companyAbbrev[t]; ok {
			toks[i] = full
		}
	}
	// Spelling out can expose a legal form ("hldgs" → "holdings"); one more pass settles it so
	// that the result is a fixed point.
	toks = stripForms(toks, legalForms, false)
	return toks
}

// stripForms removes one legal form from the end (or, with leading, the start) of toks, never
// the last remaining word.
func stripForms(toks []string, forms [][]string, leading bool) []string {
	for _, f := range forms {
		if len(f) >= len(toks) {
			continue
		}
		if leading {
			if equalWords(toks[:len(f)], f) {
				return toks[len(f):]
			}
		} else if equalWords(toks[len(toks)-len(f):], f) {
			return toks[:len(toks)-len(f)]
		}
	}
	return toks
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// joinInitials merges runs of single letters into one word: "i b m" → "ibm".
func joinInitials(toks []string) []string {
	out := toks[:0:0]
	run := ""
	for _, t := range toks {
		if len([]rune(t)) == 1 && !isDigits(t) {
			run += t
			continue
		}
		if run != "" {
			out = append(out, run)
			run = ""
		}
		out = append(out, t)
	}
	if run != "" {
		out = append(out, run)
	}
	return out
}

// cutAfterLegalSegment drops comma-separated text that follows a legal form: in
// "acme b.v., amsterdam, nl" the location is not part of the name.
func cutAfterLegalSegment(s string) string {
	if !strings.Contains(s, ",") {
		return s
	}
	parts := strings.Split(s, ",")
	for i := 0; i < len(parts)-1; i++ {
		seg := words(parts[i])
		if len(seg) == 0 {
			continue
		}
		if i > 0 || len(seg) > 1 {
			if endsWithForm(seg) {
				return strings.Join(parts[:i+1], ",")
			}
		}
	}
	return s
}

func endsWithForm(seg []string) bool {
	for _, f := range legalForms {
		if len(f) <= len(seg) && equalWords(seg[len(seg)-len(f):], f) {
			return true
		}
	}
	return false
}

// CompanyAcronym returns the initials of a company name's words, skipping legal forms and
// small words: "International Business Machines Corp." → "ibm". A one-word name has none ("").
func CompanyAcronym(name string) string {
	toks := companyTokens(name)
	if len(toks) < 2 {
		return ""
	}
	return initials(toks, true)
}

func initials(toks []string, skipStop bool) string {
	var b strings.Builder
	for _, t := range toks {
		if skipStop && nameStopwords[t] {
			continue
		}
		r := []rune(t)
		if isDigits(t) {
			b.WriteString(t)
			continue
		}
		b.WriteRune(r[0])
	}
	return b.String()
}

// companyName is a prepared company name: everything the comparator needs, computed once.
type companyName struct {
	norm     string
	tokens   []string
	squashed string   // norm without spaces: "st microelectronics" = "stmicroelectronics"
	core     []string // tokens without generic words (all tokens if that leaves none)
	coreLen  int      // characters in core
	acronyms []string // initials forms, for names of two or more words
	codes    []string // Double Metaphone primary code of each token
	weights  []float64
	total    float64
}

// genericWeight is how much a generic word counts relative to a distinctive one.
const genericWeight = 0.2

func prepareCompany(raw string) *companyName {
	toks := companyTokens(raw)
	if len(toks) == 0 {
		return nil
	}
	c := &companyName{tokens: toks, norm: strings.Join(toks, " "), squashed: strings.Join(toks, "")}
	// Split glued generic endings for the comparison tokens only.
	var cmp []string
	for _, t := range toks {
		cmp = append(cmp, splitCompound(t)...)
	}
	c.tokens = cmp
	for _, t := range cmp {
		w := 1.0
		c.codes = append(c.codes, wordCode(t))
		if isGeneric(t) || nameStopwords[t] {
			w = genericWeight
		} else {
			c.core = append(c.core, t)
			c.coreLen += len(t)
		}
		c.weights = append(c.weights, w)
		c.total += w
	}
	if len(c.core) == 0 {
		c.core = cmp
		for i, t := range cmp {
			c.coreLen += len(t)
			c.weights[i] = 1
		}
		c.total = float64(len(cmp))
	}
	sort.Strings(c.core)
	if len(toks) >= 2 {
		c.acronyms = appendUnique(c.acronyms, initials(toks, true))
		c.acronyms = appendUnique(c.acronyms, initials(toks, false))
		if len(c.core) >= 2 && len(c.core) < len(cmp) {
			var coreInOrder []string
			for _, t := range cmp {
				if !isGeneric(t) && !nameStopwords[t] {
					coreInOrder = append(coreInOrder, t)
				}
			}
			c.acronyms = appendUnique(c.acronyms, initials(coreInOrder, true))
		}
	}
	return c
}

func appendUnique(xs []string, x string) []string {
	if len(x) < 2 {
		return xs
	}
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// genericByInitial indexes genericWords by first letter for the typo-tolerant lookup.
var genericByInitial = func() map[byte][]string {
	m := map[byte][]string{}
	for w := range genericWords {
		m[w[0]] = append(m[w[0]], w)
	}
	for _, ws := range m {
		sort.Strings(ws)
	}
	return m
}()

// isGeneric reports whether t is a generic word, allowing one typo in words of six or more
// letters ("electrnics", "koninklike"): a misspelt generic word is still generic.
func isGeneric(t string) bool {
	if genericWords[t] {
		return true
	}
	if len(t) < 6 {
		return false
	}
	for _, g := range genericByInitial[t[0]] {
		if len(g) >= 6 && withinOneEdit(t, g) {
			return true
		}
	}
	return false
}

// wordCode is the Double Metaphone primary code of a word of four or more letters; shorter
// words and numbers get none, their codes collide too often.
func wordCode(t string) string {
	if len(t) < 4 || isDigits(t) {
		return ""
	}
	p, _ := DoubleMetaphone(t)
	if len(p) < 3 {
		return ""
	}
	return p
}

func splitCompound(t string) []string {
	for _, g := range compoundGeneric {
		if len(t) >= len(g)+4 && strings.HasSuffix(t, g) {
			return []string{t[:len(t)-len(g)], g}
		}
	}
	return []string{t}
}

// acronymSim is 1 when one side is a single word equal to the initials of the other.
func acronymSim(a, b []string) float64 {
	ca, cb := prepareFromTokens(a), prepareFromTokens(b)
	return companyAcronymMatch(ca, cb)
}

func prepareFromTokens(toks []string) *companyName {
	if len(toks) == 0 {
		return nil
	}
	return prepareCompany(strings.Join(toks, " "))
}

func companyAcronymMatch(a, b *companyName) float64 {
	if a == nil || b == nil {
		return 0
	}
	if isAcronymOf(a, b) || isAcronymOf(b, a) {
		return 1
	}
	return 0
}

// isAcronymOf: short is one word of 2-6 letters and long spells it with its initials.
func isAcronymOf(short, long *companyName) bool {
	if len(long.acronyms) == 0 {
		return false
	}
	s := short.squashed
	if n := len([]rune(s)); n < 2 || n > 6 || len(short.tokens) > 2 {
		return false
	}
	for _, ac := range long.acronyms {
		if ac == s {
			return true
		}
	}
	return false
}

// companySim is the company-name comparator behind the "fuzzy" method on name fields:
//
//	1.00  same normalised name
//	0.95  same name apart from generic words or spacing ("ASML Holland" / "ASML Netherlands"),
//	      or one is the acronym of the other ("IBM" / "International Business Machines")
//	0.86-0.90  every distinctive word of one name appears in the other (allowing typos), and
//	      they share at least four letters of distinctive words ("Jenner" / "Jenner Academy of
//	      the Arts"); 0.90 without typos
//	else  a weighted, typo-tolerant Dice overlap of the words (generic words count 0.2)
func companySim(a, b *companyName) float64 {
	if a == nil || b == nil {
		return 0
	}
	if a.norm == b.norm {
		return 1
	}
	if a.squashed == b.squashed || equalWords2(a.core, b.core) {
		return 0.95
	}
	if companyAcronymMatch(a, b) == 1 {
		return 0.95
	}
	// Soft overlap: each word's best typo-tolerant match on the other side.
	sumA, coreA, sharedA := softCover(a, b)
	sumB, coreB, sharedB := softCover(b, a)
	dice := (sumA + sumB) / (a.total + b.total)
	best := dice
	// Containment of the name with fewer distinctive words.
	if len(a.core) > 0 && len(b.core) > 0 {
		ca := coreA / float64(len(a.core))
		cb := coreB / float64(len(b.core))
		for _, cv := range [...]struct {
			c      float64
			shared int
		}{{ca, sharedA}, {cb, sharedB}} {
			if cv.c >= 0.88 && cv.shared >= 4 {
				best = max(best, 0.86+0.04*(cv.c-0.88)/0.12)
			}
		}
	}
	return min(best, 0.94)
}

func equalWords2(a, b []string) bool {
	return len(a) == len(b) && equalWords(a, b)
}

// softCover returns, for the words of x: the weighted sum of their best similarity in y, the
// unweighted sum over x's distinctive words, and how many letters of x's distinctive words
// found a match.
func softCover(x, y *companyName) (weighted, core float64, shared int) {
	for i, t := range x.tokens {
		best := 0.0
		for k, u := range y.tokens {
			ws := wordSim(t, u)
			if ws == 0 && x.codes[i] != "" && x.codes[i] == y.codes[k] && JaroWinkler(t, u) >= 0.7 {
				ws = 0.88
			}
			best = max(best, ws)
			if best == 1 {
				break
			}
		}
		weighted += x.weights[i] * best
		if x.weights[i] == 1 {
			core += best
			if best > 0 {
				shared += len(t)
			}
		}
	}
	return weighted, core, shared
}

// wordSim compares two words of a name: equal 1; one typo (a Damerau edit) in a word of five
// or more letters 0.92; Jaro-Winkler ≥ 0.9 for words of four or more letters at its value;
// an abbreviation that is a prefix of at least three letters and half the word
// ("koninkl" / "koninklijke") 0.9; the same Double Metaphone code ("filips" / "philips",
// transliterations) 0.88; otherwise 0.
func wordSim(a, b string) float64 {
	if a == b {
		return 1
	}
	la, lb := len(a), len(b)
	best := 0.0
	if la >= 4 && lb >= 4 {
		if la >= 5 && lb >= 5 && withinOneEdit(a, b) {
			best = 0.92
		}
		if j := JaroWinkler(a, b); j >= 0.9 {
			best = max(best, j)
		}
	}
	if best == 0 && la >= 3 && lb >= 3 && la != lb && !isDigits(a) && !isDigits(b) {
		short, long := a, b
		if la > lb {
			short, long = b, a
		}
		if strings.HasPrefix(long, short) && len(short)*2 >= len(long) {
			best = 0.9
		}
	}
	return best
}

// withinOneEdit reports whether a and b differ by at most one insertion, deletion,
// substitution or transposition of adjacent characters (bytes; callers pass folded words).
func withinOneEdit(a, b string) bool {
	la, lb := len(a), len(b)
	if la > lb {
		a, b, la, lb = b, a, lb, la
	}
	if lb-la > 1 {
		return false
	}
	i := 0
	for i < la && a[i] == b[i] {
		i++
	}
	if i == la {
		return true // equal, or b has one extra trailing character
	}
	if la == lb {
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:] // transposition
	}
	return a[i:] == b[i+1:] // insertion into a
}
