package match

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// This file holds the string comparators. Each returns a similarity in [0,1]; 1 means
// identical. They work on the strings they are given: normalise first (the field comparators
// in fields.go do) when case, punctuation or diacritics should not count.

// symbol is a character of a compared string: bytes for ASCII (no allocation), runes otherwise.
type symbol interface{ ~byte | ~rune }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Exact is 1 when a and b are equal and non-empty, else 0.
func Exact(a, b string) float64 {
	if a != "" && a == b {
		return 1
	}
	return 0
}

// JaroWinkler is the Jaro-Winkler similarity of a and b: Jaro's matching-characters measure
// (Jaro 1989) with Winkler's bonus for a common prefix of up to four characters, scale 0.1,
// applied when the Jaro similarity exceeds 0.7 (Winkler 1990, "String Comparator Metrics and
// Enhanced Decision Rules in the Fellegi-Sunter Model of Record Linkage").
func JaroWinkler(a, b string) float64 {
	if a == b {
		if a == "" {
			return 0
		}
		return 1
	}
	if a == "" || b == "" {
		return 0
	}
	if isASCII(a) && isASCII(b) {
		return jaroWinkler([]byte(a), []byte(b))
	}
	return jaroWinkler([]rune(a), []rune(b))
}

func jaroWinkler[T symbol](a, b []T) float64 {
	j := jaro(a, b)
	if j <= 0.7 {
		return j
	}
	l := 0
	for l < 4 && l < len(a) && l < len(b) && a[l] == b[l] {
		l++
	}
	return j + float64(l)*0.1*(1-j)
}

func jaro[T symbol](a, b []T) float64 {
	if len(a) > len(b) {
		a, b = b, a
	}
	la, lb := len(a), len(b)
	if la == 0 {
		return 0
	}
	window := lb/2 - 1
	if window < 0 {
		window = 0
	}
	var bufA, bufB [64]bool
	var ma, mb []bool
	if la <= 64 && lb <= 64 {
		ma, mb = bufA[:la], bufB[:lb]
	} else {
		ma, mb = make([]bool, la), make([]bool, lb)
	}
	m := 0
	for i := 0; i < la; i++ {
		lo, hi := i-window, i+window+1
		if lo < 0 {
			lo = 0
		}
		if hi > lb {
			hi = lb
		}
		for k := lo; k < hi; k++ {
			if !mb[k] && a[i] == b[k] {
				ma[i], mb[k] = true, true
				m++
				break
			}
		}
	}
	if m == 0 {
		return 0
	}
	t, k := 0, 0
	for i := 0; i < la; i++ {
		if !ma[i] {
			continue
		}
		for !mb[k] {
			k++
		}
		if a[i] != b[k] {
			t++
		}
		k++
	}
	fm := float64(m)
	return (fm/float64(la) + fm/float64(lb) + (fm-float64(t)/2)/fm) / 3
}

// EditDistance is the Levenshtein distance of a and b normalised to a similarity:
// 1 - distance / length of the longer string (Levenshtein 1966).
func EditDistance(a, b string) float64 {
	if a == b {
		if a == "" {
			return 0
		}
		return 1
	}
	if isASCII(a) && isASCII(b) {
		return levenshteinSim([]byte(a), []byte(b))
	}
	return levenshteinSim([]rune(a), []rune(b))
}

func levenshteinSim[T symbol](a, b []T) float64 {
	n := max(len(a), len(b))
	if n == 0 {
		return 0
	}
	return 1 - float64(levenshtein(a, b))/float64(n)
}

// levenshtein is the classic two-row dynamic programme.
func levenshtein[T symbol](a, b []T) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	var buf [2][65]int
	var prev, cur []int
	if len(b) < 65 {
		prev, cur = buf[0][:len(b)+1], buf[1][:len(b)+1]
	} else {
		prev, cur = make([]int, len(b)+1), make([]int, len(b)+1)
	}
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// indelRatio is 2·LCS/(|a|+|b|), the "ratio" of RapidFuzz. FuzzyWuzzy computes the same idea
// with difflib's Ratcliff-Obershelp matching; the LCS form is exact and cheaper.
func indelRatio(a, b string) float64 {
	if a == "" && b == "" {
		return 0
	}
	if isASCII(a) && isASCII(b) {
		return lcsRatio([]byte(a), []byte(b))
	}
	return lcsRatio([]rune(a), []rune(b))
}

func lcsRatio[T symbol](a, b []T) float64 {
	total := len(a) + len(b)
	if total == 0 {
		return 0
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	var buf [2][65]int
	var prev, cur []int
	if len(b) < 65 {
		prev, cur = buf[0][:len(b)+1], buf[1][:len(b)+1]
	} else {
		prev, cur = make([]int, len(b)+1), make([]int, len(b)+1)
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] >= cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return 2 * float64(prev[len(b)]) / float64(total)
}

// TokenSet is FuzzyWuzzy's token_set_ratio on folded words: the words both strings share,
// sorted, are compared with each side's full sorted word list, so word order and repeated
// words do not matter and a string whose words are all contained in the other scores 1
// ("acme" vs "acme widgets"). The character ratio is indelRatio.
func TokenSet(a, b string) float64 {
	return tokenSetWords(uniqueSorted(words(fold(a))), uniqueSorted(words(fold(b))))
}

func uniqueSorted(ws []string) []string {
	if len(ws) < 2 {
		return ws
	}
	out := append([]string(nil), ws...)
	sort.Strings(out)
	n := 1
	for i := 1; i < len(out); i++ {
		if out[i] != out[n-1] {
			out[n] = out[i]
			n++
		}
	}
	return out[:n]
}

// tokenSetWords takes sorted, de-duplicated word lists.
func tokenSetWords(a, b []string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	var inter, onlyA, onlyB []string
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			onlyA = append(onlyA, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			onlyB = append(onlyB, b[j])
			j++
		default:
			inter = append(inter, a[i])
			i++
			j++
		}
	}
	t0 := strings.Join(inter, " ")
	t1, t2 := t0, t0
	if len(onlyA) > 0 {
		t1 = strings.TrimSpace(t0 + " " + strings.Join(onlyA, " "))
	}
	if len(onlyB) > 0 {
		t2 = strings.TrimSpace(t0 + " " + strings.Join(onlyB, " "))
	}
	best := indelRatio(t1, t2)
	if t0 != "" {
		best = max(best, indelRatio(t0, t1), indelRatio(t0, t2))
	}
	return best
}

// TrigramSimilarity mirrors PostgreSQL pg_trgm's similarity(a, b): each word (a run of letters
// and digits, lower-cased) is padded with two spaces in front and one behind and cut into
// three-character windows; the result is |shared trigrams| / |trigrams of either| (pg_trgm is
// built with DIVUNION, so this is the Jaccard index of the two trigram sets). Tests use it to
// simulate the database's candidate search; pass the same normalised strings the database
// indexes (Keys(...).Name).
func TrigramSimilarity(a, b string) float64 {
	ta, tb := trigrams(a), trigrams(b)
	if len(ta) == 0 || len(tb) == 0 {
		return 0
	}
	return trigramJaccard(ta, tb)
}

// trigram packs three runes; runes above 21 bits do not exist, so 3×21 bits fit in a uint64.
type trigram uint64

// trigrams returns the sorted, unique trigram set of s, as pg_trgm's generate_trgm does.
func trigrams(s string) []trigram {
	var out []trigram
	var word []rune
	flush := func() {
		if len(word) == 0 {
			return
		}
		p := make([]rune, 0, len(word)+3)
		p = append(p, ' ', ' ')
		p = append(p, word...)
		p = append(p, ' ')
		for i := 0; i+3 <= len(p); i++ {
			out = append(out, trigram(uint64(p[i])<<42|uint64(p[i+1])<<21|uint64(p[i+2])))
		}
		word = word[:0]
	}
	for _, r := range strings.ToLower(s) {
		if isWordRune(r) {
			word = append(word, r)
		} else {
			flush()
		}
	}
	flush()
	if len(out) < 2 {
		return out
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	n := 1
	for i := 1; i < len(out); i++ {
		if out[i] != out[n-1] {
			out[n] = out[i]
			n++
		}
	}
	return out[:n]
}

func trigramJaccard(a, b []trigram) float64 {
	common, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			common++
			i++
			j++
		}
	}
	return float64(common) / float64(len(a)+len(b)-common)
}

// Acronym is 1 when one company name is the acronym of the other ("IBM" and "International
// Business Machines Corp", "ABB" and "Asea Brown Boveri AG"), else 0. Names are normalised
// with NormalizeCompany first, so legal forms and "and" do not count as words.
func Acronym(a, b string) float64 {
	return acronymSim(companyTokens(a), companyTokens(b))
}

// Phonetic compares the Double Metaphone codes of the words of a and b: a word whose primary
// code equals the other's scores 1, one that matches only through an alternate code 0.9.
// Multi-word strings score the mean best match per word over the longer word count.
func Phonetic(a, b string) float64 {
	return phoneticWords(metaphoneWords(words(fold(a))), metaphoneWords(words(fold(b))))
}

type dmCodes struct{ primary, alternate string }

func metaphoneWords(ws []string) []dmCodes {
	out := make([]dmCodes, 0, len(ws))
	for _, w := range ws {
		p, a := DoubleMetaphone(w)
		if p == "" && a == "" {
			continue
		}
		out = append(out, dmCodes{p, a})
	}
	return out
}

func phoneticPair(x, y dmCodes) float64 {
	switch {
	case x.primary != "" && x.primary == y.primary:
		return 1
	case x.primary == y.alternate && x.primary != "",
		x.alternate == y.primary && x.alternate != "",
		x.alternate == y.alternate && x.alternate != "":
		return 0.9
	}
	return 0
}

func phoneticWords(a, b []dmCodes) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	sum := 0.0
	for _, x := range a {
		best := 0.0
		for _, y := range b {
			best = max(best, phoneticPair(x, y))
		}
		sum += best
	}
	return sum / float64(len(b))
}
