package match

import (
	"strings"
)

// Person names. Given and family names are compared separately (FirstName, LastName) and,
// when one record has them the other way round, crosswise. Given names match through
// nicknames ("Bob" / "Robert") and initials ("J." / "John"); family names through their parts
// ("Smith" / "Smith-Jones") and Double Metaphone ("Schmidt" / "Smith").

// personAffixes are titles and generational suffixes that are not part of a name.
var personAffixes = toSet(`mr mrs ms miss mx dr prof sir dame rev fr jr sr ii iii iv phd md esq jnr snr`)

// NormalizePersonName returns the comparable form of a given name, family name or full name:
// lower case, no diacritics, hyphens and punctuation as spaces, titles and suffixes
// ("Dr", "Jr", "III") removed: "Dr. José-María O'Neil Jr." → "jose maria oneil". Idempotent.
func NormalizePersonName(s string) string {
	return strings.Join(personTokens(s), " ")
}

func personTokens(s string) []string {
	toks := words(fold(s))
	if len(toks) <= 1 {
		return toks
	}
	out := toks[:0]
	for _, t := range toks {
		if personAffixes[t] {
			continue
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return toks[len(toks)-1:]
	}
	return out
}

// SplitPersonName splits a full name into given and family names: "Smith, John" and
// "John Smith" both give ("john", "smith"); particles stay with the family name
// ("Ludwig van Beethoven" → "ludwig", "van beethoven").
func SplitPersonName(full string) (first, last string) {
	if before, after, ok := strings.Cut(full, ","); ok && strings.TrimSpace(after) != "" {
		return NormalizePersonName(after), NormalizePersonName(before)
	}
	toks := personTokens(full)
	switch len(toks) {
	case 0:
		return "", ""
	case 1:
		return "", toks[0]
	}
	cut := len(toks) - 1
	for cut > 1 && surnameParticles[toks[cut-1]] {
		cut--
	}
	return strings.Join(toks[:cut], " "), strings.Join(toks[cut:], " ")
}

var surnameParticles = toSet(`van von der den de del della di da dos du la le st mac mc bin ibn al`)

// namePart is a prepared given or family name.
type namePart struct {
	tokens   []string
	joined   string
	squashed string
	codes    []dmCodes
}

func prepareNamePart(raw string) *namePart {
	toks := personTokens(raw)
	if len(toks) == 0 {
		return nil
	}
	return &namePart{tokens: toks, joined: strings.Join(toks, " "), squashed: strings.Join(toks, ""),
		codes: metaphoneWords(toks)}
}

// firstNameSim compares given names:
//
//	1.00  equal
//	0.97  equal apart from spacing ("Mary Jane" / "Maryjane")
//	0.95  same first word, other words differ ("Mary" / "Mary Jane")
//	0.93  nickname or spelling variant ("Bob" / "Robert", "Jon" / "John")
//	0.88  same Double Metaphone code ("Catharine" / "Katharine")
//	0.85  a later word equals a word of the other ("J. Robert" / "Robert")
//	0.80  an initial that agrees ("J." / "John")
//	else  Jaro-Winkler of the first words
func firstNameSim(a, b *namePart) float64 {
	if a == nil || b == nil {
		return 0
	}
	if a.joined == b.joined {
		return 1
	}
	if a.squashed == b.squashed {
		return 0.97
	}
	x, y := a.tokens[0], b.tokens[0]
	best := JaroWinkler(x, y)
	if x == y {
		return 0.95
	}
	if sameNickGroup(x, y) {
		best = max(best, 0.93)
	}
	if len(a.codes) > 0 && len(b.codes) > 0 && a.codes[0].primary != "" && a.codes[0].primary == b.codes[0].primary {
		best = max(best, 0.88)
	}
	for i, t := range a.tokens {
		for j, u := range b.tokens {
			if (i > 0 || j > 0) && t == u && len(t) > 1 {
				best = max(best, 0.85)
			}
		}
	}
	if (len(x) == 1 || len(y) == 1) && x[0] == y[0] {
		best = max(best, 0.8)
	}
	return best
}

// lastNameSim compares family names:
//
//	1.00  equal
//	0.97  equal apart from spacing or hyphens ("Van der Berg" / "Vanderberg")
//	0.90  the words of one are among the other's ("Smith" / "Smith-Jones")
//	0.88  same Double Metaphone code, primary or alternate ("Schmidt" / "Smith")
//	else  Jaro-Winkler
func lastNameSim(a, b *namePart) float64 {
	if a == nil || b == nil {
		return 0
	}
	if a.joined == b.joined {
		return 1
	}
	if a.squashed == b.squashed {
		return 0.97
	}
	best := JaroWinkler(a.squashed, b.squashed)
	if containsAllWords(a.tokens, b.tokens) || containsAllWords(b.tokens, a.tokens) {
		best = max(best, 0.9)
	}
	if len(a.codes) == len(b.codes) && len(a.codes) > 0 {
		all := true
		for i := range a.codes {
			if phoneticPair(a.codes[i], b.codes[i]) == 0 {
				all = false
				break
			}
		}
		if all {
			best = max(best, 0.88)
		}
	}
	return best
}

// containsAllWords reports whether every word of small is in big (and small is smaller).
func containsAllWords(small, big []string) bool {
	if len(small) >= len(big) {
		return false
	}
	for _, s := range small {
		found := false
		for _, b := range big {
			if s == b {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// personName is a prepared full name.
type personName struct {
	first, last *namePart
}

// personNameSim compares full names: the mean of given- and family-name similarity, taking
// the names crosswise when that agrees better ("Smith John" / "John Smith"). With one side's
// given name missing only family names count, scaled by 0.9.
func personNameSim(a, b personName) (score float64, swapped bool) {
	if a.last == nil && a.first == nil || b.last == nil && b.first == nil {
		return 0, false
	}
	straight := nameParts(a.first, a.last, b.first, b.last)
	cross := nameParts(a.first, a.last, b.last, b.first)
	if cross > straight+0.05 {
		return cross, true
	}
	return straight, false
}

func nameParts(f1, l1, f2, l2 *namePart) float64 {
	switch {
	case f1 != nil && f2 != nil && l1 != nil && l2 != nil:
		return (firstNameSim(f1, f2) + lastNameSim(l1, l2)) / 2
	case l1 != nil && l2 != nil:
		return 0.9 * lastNameSim(l1, l2)
	case f1 != nil && f2 != nil:
		return 0.8 * firstNameSim(f1, f2)
	}
	return 0
}

// PersonNameSimilarity compares two full names ("Bob Smith", "Smith, Robert") with the
// person-name comparator: nicknames, initials, swapped order, hyphenated family names.
func PersonNameSimilarity(a, b string) float64 {
	pa, pb := preparePersonName(a), preparePersonName(b)
	s, _ := personNameSim(pa, pb)
	return s
}

func preparePersonName(full string) personName {
	f, l := SplitPersonName(full)
	return personName{first: prepareNamePart(f), last: prepareNamePart(l)}
}
