package email

import (
	"cmp"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Name is a person's name reduced to what mailbox local parts are built from: lowercase ASCII
// letters, digits and hyphens.
//
// Rules (see [NewName]):
//   - Diacritics are stripped (José Núñez → jose, nunez); letters without a decomposition are
//     transliterated (ß→ss, æ→ae, œ→oe, ø→o, ł→l, đ/ð→d, þ→th). German umlauts become the bare
//     vowel (ü→u), not "ue", because that is what mail systems that strip accents produce.
//   - Apostrophes, dots and spaces are dropped (O'Brien → obrien, van Beethoven → vanbeethoven).
//     Letters of other scripts are dropped too: transliterating Cyrillic or CJK is out of scope,
//     so such names yield no candidates.
//   - Hyphenated names keep the hyphen in the primary spelling (mary-jane, smith-jones), which is
//     how directory tools copy the HR record, and get the joined spelling (maryjane, smithjones)
//     as the secondary one.
//   - A last name with a leading particle (van, de, von, da, del, ...) is joined in the primary
//     spelling (vanbeethoven) and particle-free in the secondary (beethoven). A compound last
//     name without particles (garcia lopez) is joined in the primary (garcialopez) and keeps only
//     its first word in the secondary (garcia). A first name of several words keeps its first
//     word (mary) with the joined form (maryann) as the secondary.
//   - Secondary spellings weigh half as much as primary ones when candidates are ranked.
type Name struct {
	First    string `json:"first"`
	Last     string `json:"last"`
	AltFirst string `json:"alt_first,omitempty"` // secondary spelling of First; "" when none
	AltLast  string `json:"alt_last,omitempty"`  // secondary spelling of Last; "" when none
}

// IsZero reports whether no usable name part is left.
func (n Name) IsZero() bool { return n.First == "" && n.Last == "" }

// secondaryWeight is the share of a pattern's probability given to a secondary spelling: either
// spelling is plausible and we have no survey that says which is more common, but the primary
// one must rank first.
const secondaryWeight = 0.5

type spelling struct {
	first, last string
	weight      float64
}

// spellings lists the combinations of primary and secondary first/last spellings with weights.
func (n Name) spellings() []spelling {
	firsts := []string{n.First}
	if n.AltFirst != "" && n.AltFirst != n.First {
		firsts = append(firsts, n.AltFirst)
	}
	lasts := []string{n.Last}
	if n.AltLast != "" && n.AltLast != n.Last {
		lasts = append(lasts, n.AltLast)
	}
	var out []spelling
	for i, f := range firsts {
		for j, l := range lasts {
			w := 1.0
			if i > 0 {
				w *= secondaryWeight
			}
			if j > 0 {
				w *= secondaryWeight
			}
			out = append(out, spelling{f, l, w})
		}
	}
	return out
}

// NewName normalises a person's name. first and last win when given; otherwise full is split
// (see [SplitName]). A last-name-less first that holds several words ("Jane Doe") is split as a
// full name too, because CRMs often put the whole name in the first-name field.
func NewName(first, last, full string) Name {
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	switch {
	case first == "" && last == "":
		first, last = SplitName(full)
	case last == "" && len(strings.Fields(stripTitles(first))) > 1:
		first, last = SplitName(first)
	}
	var n Name
	fw := strings.Fields(stripTitles(first))
	if len(fw) > 0 {
		n.First = fold(fw[0])
		if len(fw) > 1 {
			n.AltFirst = fold(strings.Join(fw, ""))
		} else if strings.Contains(n.First, "-") {
			n.AltFirst = strings.ReplaceAll(n.First, "-", "")
		}
	}
	lw := strings.Fields(stripSuffixes(last))
	if len(lw) > 0 {
		n.Last = fold(strings.Join(lw, ""))
		core := lw
		for len(core) > 1 && isParticle(core[0]) {
			core = core[1:]
		}
		switch {
		case len(core) < len(lw): // leading particles: van beethoven → beethoven
			n.AltLast = fold(strings.Join(core, ""))
		case len(lw) > 1: // compound surname: garcia lopez → garcia
			n.AltLast = fold(lw[0])
		case strings.Contains(n.Last, "-"):
			n.AltLast = strings.ReplaceAll(n.Last, "-", "")
		}
	}
	if n.AltFirst == n.First {
		n.AltFirst = ""
	}
	if n.AltLast == n.Last {
		n.AltLast = ""
	}
	// A part that folded to nothing (other scripts, punctuation only) leaves its secondary
	// spelling as the only one.
	if n.First == "" {
		n.First, n.AltFirst = n.AltFirst, ""
	}
	if n.Last == "" {
		n.Last, n.AltLast = n.AltLast, ""
	}
	return n
}

// SplitName splits a full name into first and last name, keeping their original spelling.
// It handles "Last, First", titles (Dr, Mr, Ms, Prof, ...), suffixes and credentials (Jr, Sr,
// III, PhD, MBA, ...), nicknames in quotes or parentheses, middle names (dropped) and surname
// particles ("Ludwig van Beethoven" → Ludwig, van Beethoven).
func SplitName(full string) (first, last string) {
	s := dropBracketed(full)
	if strings.Contains(s, ",") {
		var parts []string
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		// "Jane Doe, PhD" and "Doe Jr., Jane" carry suffixes after or inside commas.
		for len(parts) > 1 && allSuffixes(parts[len(parts)-1]) {
			parts = parts[:len(parts)-1]
		}
		if len(parts) >= 2 {
			lw := strings.Fields(stripSuffixes(stripTitles(parts[0])))
			fw := strings.Fields(stripTitles(parts[1]))
			if len(fw) > 0 {
				first = fw[0]
			}
			return first, strings.Join(lw, " ")
		}
		if len(parts) == 0 {
			return "", ""
		}
		s = parts[0]
	}
	tok := strings.Fields(stripSuffixes(stripTitles(s)))
	switch len(tok) {
	case 0:
		return "", ""
	case 1:
		return tok[0], ""
	}
	for i := 1; i < len(tok)-1; i++ {
		if isParticle(tok[i]) {
			return tok[0], strings.Join(tok[i:], " ")
		}
	}
	return tok[0], tok[len(tok)-1]
}

// dropBracketed removes nicknames written as "Jack" or (Jack).
func dropBracketed(s string) string {
	var b strings.Builder
	depth, quoted := 0, false
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case r == '"' || r == '“' || r == '”':
			quoted = !quoted
		case depth == 0 && !quoted:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func tokenKey(t string) string {
	return strings.ToLower(strings.NewReplacer(".", "", ",", "").Replace(t))
}

var titles = setOf("dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "sir", "dame",
	"lady", "lord", "rev", "revd", "fr", "hon", "mme", "mlle", "herr", "frau", "ing", "dipl")

var suffixes = setOf("jr", "sr", "ii", "iii", "iv", "phd", "md", "mba", "cpa", "esq", "jd", "cfa",
	"dds", "dvm", "rn", "pmp", "obe", "mbe", "cbe", "kc", "qc", "msc", "bsc", "ma", "ba")

var particles = setOf("van", "von", "de", "da", "das", "dos", "do", "du", "del", "della", "dei",
	"degli", "der", "den", "di", "la", "le", "lo", "ter", "ten", "te", "st", "saint", "san",
	"bin", "binti", "ibn", "al", "el", "ben", "op", "zu", "af", "av", "'t")

func isParticle(t string) bool { return particles[tokenKey(t)] }

// stripTitles drops leading titles, keeping at least one word.
func stripTitles(s string) string {
	tok := strings.Fields(s)
	for len(tok) > 1 && titles[tokenKey(tok[0])] {
		tok = tok[1:]
	}
	return strings.Join(tok, " ")
}

// stripSuffixes drops trailing suffixes and credentials, keeping at least one word.
func stripSuffixes(s string) string {
	tok := strings.Fields(s)
	for len(tok) > 1 && suffixes[tokenKey(tok[len(tok)-1])] {
		tok = tok[:len(tok)-1]
	}
	return strings.Join(tok, " ")
}

func allSuffixes(s string) bool {
	tok := strings.Fields(s)
	for _, t := range tok {
		if !suffixes[tokenKey(t)] {
			return false
		}
	}
	return len(tok) > 0
}

// translit covers letters that Unicode does not decompose into base letter + accent.
var translit = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
	'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d", 'þ': "th", 'Þ': "th", 'ı': "i",
	'ħ': "h", 'Ħ': "h", 'ŀ': "l", 'Ŀ': "l", 'ŧ': "t", 'Ŧ': "t",
}

// fold lowercases s, strips diacritics and keeps only [a-z0-9-], with hyphens neither doubled
// nor at the ends (they would make invalid or odd local parts).
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if t, ok := translit[r]; ok {
			b.WriteString(t)
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '‐' || r == '‑' || r == '–':
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// Pattern is a named way of building a mailbox local part from a name.
type Pattern struct {
	Name string `json:"name"` // e.g. "first.last"
	// Prior is the share of B2B domains that use the pattern (see the table in patterns.go).
	Prior    float64 `json:"prior"`
	needLast bool
	build    func(f, l, fi, li string) string
}

// patterns, in decreasing prior. The priors are rounded from public surveys of B2B address
// formats: Hunter.io's published distribution of formats across the domains it indexes,
// email-format.com's per-domain counts and the format breakdowns in sales-prospecting blog
// studies (Interseller, Snov.io). Those sources agree on the order (first.last, then flast, then
// first) and roughly on the shares; the long tail is our estimate. They sum to 1.0 over the
// patterns we model; formats we do not model (middle initials, numbers) are absorbed in them.
// They rank candidates when nothing was learned at the domain and seed the smoothing in Learn.
var patterns = []Pattern{
	{Name: "first.last", Prior: 0.355, needLast: true, build: func(f, l, _, _ string) string { return f + "." + l }},
	{Name: "flast", Prior: 0.21, needLast: true, build: func(_, l, fi, _ string) string { return fi + l }},
	{Name: "first", Prior: 0.16, build: func(f, _, _, _ string) string { return f }},
	{Name: "firstlast", Prior: 0.07, needLast: true, build: func(f, l, _, _ string) string { return f + l }},
	{Name: "f.last", Prior: 0.05, needLast: true, build: func(_, l, fi, _ string) string { return fi + "." + l }},
	{Name: "firstl", Prior: 0.035, needLast: true, build: func(f, _, _, li string) string { return f + li }},
	{Name: "first_last", Prior: 0.025, needLast: true, build: func(f, l, _, _ string) string { return f + "_" + l }},
	{Name: "last", Prior: 0.02, needLast: true, build: func(_, l, _, _ string) string { return l }},
	{Name: "first.l", Prior: 0.015, needLast: true, build: func(f, _, _, li string) string { return f + "." + li }},
	{Name: "lastf", Prior: 0.015, needLast: true, build: func(_, l, fi, _ string) string { return l + fi }},
	{Name: "last.first", Prior: 0.015, needLast: true, build: func(f, l, _, _ string) string { return l + "." + f }},
	{Name: "first-last", Prior: 0.01, needLast: true, build: func(f, l, _, _ string) string { return f + "-" + l }},
	{Name: "f_last", Prior: 0.01, needLast: true, build: func(_, l, fi, _ string) string { return fi + "_" + l }},
	{Name: "last_first", Prior: 0.005, needLast: true, build: func(f, l, _, _ string) string { return l + "_" + f }},
	{Name: "lastfirst", Prior: 0.005, needLast: true, build: func(f, l, _, _ string) string { return l + f }},
}

var patternIndex = func() map[string]int {
	m := make(map[string]int, len(patterns))
	for i, p := range patterns {
		m[p.Name] = i
	}
	return m
}()

// Patterns returns the modelled patterns with their survey priors, most common first.
func Patterns() []Pattern { return slices.Clone(patterns) }

// Prior returns the survey prior of a pattern, 0 for an unknown one.
func Prior(pattern string) float64 {
	if i, ok := patternIndex[pattern]; ok {
		return patterns[i].Prior
	}
	return 0
}

// Apply builds the local part for a pattern from an already normalised first and last name.
// ok is false for an unknown pattern or when a needed part is missing.
func Apply(pattern, first, last string) (local string, ok bool) {
	i, found := patternIndex[pattern]
	if !found {
		return "", false
	}
	return apply(patterns[i], first, last)
}

func apply(p Pattern, f, l string) (string, bool) {
	if f == "" && p.Name != "last" || p.needLast && l == "" {
		return "", false
	}
	fi, li := initial(f), initial(l)
	return p.build(f, l, fi, li), true
}

func initial(s string) string {
	if s == "" {
		return ""
	}
	return s[:1] // fold output is ASCII and never starts with a hyphen
}

// Candidate is a possible address for a person.
type Candidate struct {
	Email   string `json:"email"`
	Pattern string `json:"pattern"`
	// Prior is the probability that the domain uses this candidate's pattern (and spelling): the
	// survey prior, or the learned share when evidence was applied (Evidence.Candidates).
	Prior float64 `json:"prior"`
}

// Candidates returns the possible addresses of a person at a domain, most probable first and
// without duplicates, ranked by the survey priors. Names are normalised with NewName(first,
// last, ""); the domain with NormalizeDomain. It returns nil when the domain is invalid or no
// name part survives normalisation. Every returned address passes Parse.
func Candidates(first, last, domain string) []Candidate {
	return candidates(NewName(first, last, ""), domain, Prior)
}

func candidates(n Name, domain string, prob func(pattern string) float64) []Candidate {
	d, err := NormalizeDomain(domain)
	if err != nil || n.IsZero() {
		return nil
	}
	var out []Candidate
	for _, sp := range n.spellings() {
		for _, p := range patterns {
			local, ok := apply(p, sp.first, sp.last)
			if !ok {
				continue
			}
			addr := local + "@" + d
			if _, err := Parse(addr); err != nil { // over-long names
				continue
			}
			out = append(out, Candidate{Email: addr, Pattern: p.Name, Prior: prob(p.Name) * sp.weight})
		}
	}
	// Stable: equal probabilities keep table order (primary spelling, then survey order).
	slices.SortStableFunc(out, func(a, b Candidate) int { return cmp.Compare(b.Prior, a.Prior) })
	seen := make(map[string]bool, len(out))
	uniq := out[:0]
	for _, c := range out {
		if !seen[c.Email] {
			seen[c.Email] = true
			uniq = append(uniq, c)
		}
	}
	return uniq
}

// Known is an address known to belong to a person at the domain being learned (from the CRM,
// a signature, a previous verified find).
type Known struct {
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// learnPseudoCount is how many examples' worth of weight the survey priors get when smoothing
// learned shares: one, so that a single example moves the estimate strongly (a confirmed
// address is good evidence) but three agreeing ones are needed to pass ~0.8.
const learnPseudoCount = 1.0

// Evidence is what known addresses at one domain say about its pattern.
type Evidence struct {
	// N counts the usable examples: parseable, not role addresses, with a name. Examples that
	// no modelled pattern explains count too, since they argue against every pattern.
	N int `json:"n"`
	// Weight is, per pattern, the number of examples it explains. An example that several
	// patterns explain (e.g. when first and last name are equal) is split in proportion to
	// their priors.
	Weight map[string]float64 `json:"weight"`
	// Agree is, per pattern, the number of examples it explains, ambiguous ones counted whole.
	Agree map[string]int `json:"agree"`
}

// Learn infers pattern evidence from known addresses. All examples should be at the same
// domain; Find filters them by domain before learning.
func Learn(known []Known) Evidence {
	e := Evidence{Weight: map[string]float64{}, Agree: map[string]int{}}
	for _, k := range known {
		a, err := Parse(k.Email)
		if err != nil || IsRole(a.Local) {
			continue
		}
		n := NewName(k.FirstName, k.LastName, "")
		if n.IsZero() {
			continue
		}
		local := strings.ToLower(a.Local)
		if i := strings.IndexByte(local, '+'); i > 0 { // sub-addressing tag
			local = local[:i]
		}
		e.N++
		var matched []string
		total := 0.0
		for _, p := range patterns {
			for _, sp := range n.spellings() {
				if l, ok := apply(p, sp.first, sp.last); ok && l == local {
					matched = append(matched, p.Name)
					total += p.Prior
					break
				}
			}
		}
		for _, m := range matched {
			e.Weight[m] += Prior(m) / total
			e.Agree[m]++
		}
	}
	return e
}

// Share is the smoothed probability that the domain uses pattern: (weight + k·prior) / (N + k)
// with k = 1 pseudo-example spread by the survey priors. With no evidence it is the prior.
func (e Evidence) Share(pattern string) float64 {
	return (e.Weight[pattern] + learnPseudoCount*Prior(pattern)) / (float64(e.N) + learnPseudoCount)
}

// Dominant returns the pattern that explains the most examples, its smoothed share and the
// number of examples it explains; "", 0, 0 when nothing was explained.
func (e Evidence) Dominant() (pattern string, share float64, n int) {
	best := -1.0
	for _, p := range patterns { // table order breaks ties toward the commoner pattern
		if w := e.Weight[p.Name]; w > best+1e-9 && w > 0 {
			pattern, best = p.Name, w
		}
	}
	if pattern == "" {
		return "", 0, 0
	}
	return pattern, e.Share(pattern), e.Agree[pattern]
}

// Candidates ranks a person's candidate addresses by the learned shares instead of the survey
// priors; with no usable evidence it equals the package-level Candidates.
func (e Evidence) Candidates(first, last, domain string) []Candidate {
	return candidates(NewName(first, last, ""), domain, e.Share)
}

// LearnPattern returns the dominant pattern among known addresses at a domain, its confidence
// (the smoothed share, see Evidence.Share) and how many examples agree with it.
func LearnPattern(known []Known) (pattern string, confidence float64, n int) {
	return Learn(known).Dominant()
}
