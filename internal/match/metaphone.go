package match

import "strings"

// Double Metaphone (Lawrence Philips, "The Double Metaphone Search Algorithm", C/C++ Users
// Journal, June 2000). This is a Go rendering of the published rules; the structure (one
// handler per letter, the same condition names) follows Apache Commons Codec's
// DoubleMetaphone, whose behaviour the tests check against. Codes are cut at four
// characters, the length Philips and Commons Codec use for names.

const metaphoneMaxLen = 4

// DoubleMetaphone returns the primary and alternate Double Metaphone codes of word. Letters
// are compared case-insensitively; characters other than letters are skipped.
func DoubleMetaphone(word string) (primary, alternate string) {
	v := []rune(strings.ToUpper(strings.TrimSpace(word)))
	if len(v) == 0 {
		return "", ""
	}
	e := dmEncoder{v: v, slavoGermanic: isSlavoGermanic(v)}
	i := 0
	if e.has(0, "GN", "KN", "PN", "WR", "PS") {
		i = 1 // silent first letter
	}
	for !e.complete() && i < len(v) {
		switch v[i] {
		case 'A', 'E', 'I', 'O', 'U', 'Y':
			if i == 0 {
				e.add("A")
			}
			i++
		case 'B':
			e.add("P")
			i = e.skipDouble(i, 'B')
		case 'Ç':
			e.add("S")
			i++
		case 'C':
			i = e.c(i)
		case 'D':
			i = e.d(i)
		case 'F':
			e.add("F")
			i = e.skipDouble(i, 'F')
		case 'G':
			i = e.g(i)
		case 'H':
			i = e.h(i)
		case 'J':
			i = e.j(i)
		case 'K':
			e.add("K")
			i = e.skipDouble(i, 'K')
		case 'L':
			i = e.l(i)
		case 'M':
			e.add("M")
			if e.at(i+1) == 'M' || (e.has(i-1, "UMB") && (i+1 == len(v)-1 || e.has(i+2, "ER"))) {
				i += 2
			} else {
				i++
			}
		case 'N':
			e.add("N")
			i = e.skipDouble(i, 'N')
		case 'Ñ':
			e.add("N")
			i++
		case 'P':
			if e.at(i+1) == 'H' {
				e.add("F")
				i += 2
			} else {
				e.add("P")
				if e.has(i+1, "P", "B") {
					i += 2
				} else {
					i++
				}
			}
		case 'Q':
			e.add("K")
			i = e.skipDouble(i, 'Q')
		case 'R':
			i = e.r(i)
		case 'S':
			i = e.s(i)
		case 'T':
			i = e.t(i)
		case 'V':
			e.add("F")
			i = e.skipDouble(i, 'V')
		case 'W':
			i = e.w(i)
		case 'X':
			i = e.x(i)
		case 'Z':
			i = e.z(i)
		default:
			i++
		}
	}
	return e.primary.String(), e.alternate.String()
}

type dmEncoder struct {
	v                  []rune
	slavoGermanic      bool
	primary, alternate strings.Builder
}

func isSlavoGermanic(v []rune) bool {
	s := string(v)
	return strings.ContainsAny(s, "WK") || strings.Contains(s, "CZ") || strings.Contains(s, "WITZ")
}

func isVowel(r rune) bool { return strings.ContainsRune("AEIOUY", r) }

func (e *dmEncoder) at(i int) rune {
	if i < 0 || i >= len(e.v) {
		return 0
	}
	return e.v[i]
}

// has reports whether any of opts occurs at position start.
func (e *dmEncoder) has(start int, opts ...string) bool {
	if start < 0 {
		return false
	}
	for _, o := range opts {
		n := len(o) // options are ASCII
		if start+n > len(e.v) {
			continue
		}
		ok := true
		for k := 0; k < n; k++ {
			if e.v[start+k] != rune(o[k]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (e *dmEncoder) skipDouble(i int, r rune) int {
	if e.at(i+1) == r {
		return i + 2
	}
	return i + 1
}

func appendCapped(b *strings.Builder, s string) {
	room := metaphoneMaxLen - b.Len()
	if room <= 0 {
		return
	}
	if len(s) > room {
		s = s[:room]
	}
	b.WriteString(s)
}

func (e *dmEncoder) add(s string)          { e.add2(s, s) }
func (e *dmEncoder) add2(p, a string)      { appendCapped(&e.primary, p); appendCapped(&e.alternate, a) }
func (e *dmEncoder) addPrimary(s string)   { appendCapped(&e.primary, s) }
func (e *dmEncoder) addAlternate(s string) { appendCapped(&e.alternate, s) }
func (e *dmEncoder) complete() bool {
	return e.primary.Len() >= metaphoneMaxLen && e.alternate.Len() >= metaphoneMaxLen
}

func (e *dmEncoder) c(i int) int {
	switch {
	case e.conditionC0(i):
		e.add("K")
		return i + 2
	case i == 0 && e.has(i, "CAESAR"):
		e.add("S")
		return i + 2
	case e.has(i, "CH"):
		return e.ch(i)
	case e.has(i, "CZ") && !e.has(i-2, "WICZ"):
		e.add2("S", "X") // "Czerny"
		return i + 2
	case e.has(i+1, "CIA"):
		e.add("X") // "focaccia"
		return i + 3
	case e.has(i, "CC") && !(i == 1 && e.at(0) == 'M'):
		return e.cc(i) // but not "McClelland"
	case e.has(i, "CK", "CG", "CQ"):
		e.add("K")
		return i + 2
	case e.has(i, "CI", "CE", "CY"):
		if e.has(i, "CIO", "CIE", "CIA") {
			e.add2("S", "X") // Italian
		} else {
			e.add("S")
		}
		return i + 2
	default:
		e.add("K")
		switch {
		case e.has(i+1, " C", " Q", " G"):
			return i + 3 // "Mac Caffrey", "Mac Gregor"
		case e.has(i+1, "C", "K", "Q") && !e.has(i+1, "CE", "CI"):
			return i + 2
		}
		return i + 1
	}
}

func (e *dmEncoder) conditionC0(i int) bool {
	switch {
	case e.has(i, "CHIA"):
		return true
	case i <= 1, isVowel(e.at(i - 2)), !e.has(i-1, "ACH"):
		return false
	}
	c := e.at(i + 2)
	return (c != 'I' && c != 'E') || e.has(i-2, "BACHER", "MACHER")
}

func (e *dmEncoder) cc(i int) int {
	if e.has(i+2, "I", "E", "H") && !e.has(i+2, "HU") {
		// "bellocchio" but not "bacchus"
		if (i == 1 && e.at(i-1) == 'A') || e.has(i-1, "UCCEE", "UCCES") {
			e.add("KS") // "accident", "accede", "succeed"
		} else {
			e.add("X") // "bacci", "bertucci"
		}
		return i + 3
	}
	e.add("K") // Pierce's rule
	return i + 2
}

func (e *dmEncoder) ch(i int) int {
	switch {
	case i > 0 && e.has(i, "CHAE"):
		e.add2("K", "X") // "Michael"
	case e.conditionCH0(i), e.conditionCH1(i):
		e.add("K") // Greek roots, Germanic 'ch' for 'kh'
	case i > 0:
		if e.has(0, "MC") {
			e.add("K")
		} else {
			e.add2("X", "K")
		}
	default:
		e.add("X")
	}
	return i + 2
}

func (e *dmEncoder) conditionCH0(i int) bool {
	if i != 0 {
		return false
	}
	if !e.has(i+1, "HARAC", "HARIS") && !e.has(i+1, "HOR", "HYM", "HIA", "HEM") {
		return false
	}
	return !e.has(0, "CHORE")
}

func (e *dmEncoder) conditionCH1(i int) bool {
	return e.has(0, "VAN ", "VON ", "SCH") ||
		e.has(i-2, "ORCHES", "ARCHIT", "ORCHID") ||
		e.has(i+2, "T", "S") ||
		((e.has(i-1, "A", "O", "U", "E") || i == 0) &&
			(e.has(i+2, "L", "R", "N", "M", "B", "H", "F", "V", "W", " ") || i+1 == len(e.v)-1))
}

func (e *dmEncoder) d(i int) int {
	switch {
	case e.has(i, "DG"):
		if e.has(i+2, "I", "E", "Y") {
			e.add("J") // "edge"
			return i + 3
		}
		e.add("TK") // "Edgar"
		return i + 2
	case e.has(i, "DT", "DD"):
		e.add("T")
		return i + 2
	}
	e.add("T")
	return i + 1
}

func (e *dmEncoder) g(i int) int {
	switch {
	case e.at(i+1) == 'H':
		return e.gh(i)
	case e.at(i+1) == 'N':
		switch {
		case i == 1 && isVowel(e.at(0)) && !e.slavoGermanic:
			e.add2("KN", "N")
		case !e.has(i+2, "EY") && e.at(i+1) != 'Y' && !e.slavoGermanic:
			e.add2("N", "KN")
		default:
			e.add("KN")
		}
		return i + 2
	case e.has(i+1, "LI") && !e.slavoGermanic:
		e.add2("KL", "L")
		return i + 2
	case i == 0 && (e.at(i+1) == 'Y' || e.has(i+1, "ES", "EP", "EB", "EL", "EY", "IB", "IL", "IN", "IE", "EI", "ER")):
		e.add2("K", "J") // -ges-, -gep-, -gel-, -gie- at the beginning
		return i + 2
	case (e.has(i+1, "ER") || e.at(i+1) == 'Y') && !e.has(0, "DANGER", "RANGER", "MANGER") &&
		!e.has(i-1, "E", "I") && !e.has(i-1, "RGY", "OGY"):
		e.add2("K", "J") // -ger-, -gy-
		return i + 2
	case e.has(i+1, "E", "I", "Y") || e.has(i-1, "AGGI", "OGGI"):
		switch {
		case e.has(0, "VAN ", "VON ", "SCH") || e.has(i+1, "ET"):
			e.add("K") // obviously Germanic
		case e.has(i+1, "IER"):
			e.add("J")
		default:
			e.add2("J", "K")
		}
		return i + 2
	case e.at(i+1) == 'G':
		e.add("K")
		return i + 2
	}
	e.add("K")
	return i + 1
}

func (e *dmEncoder) gh(i int) int {
	switch {
	case i > 0 && !isVowel(e.at(i-1)):
		e.add("K")
	case i == 0:
		if e.at(i+2) == 'I' {
			e.add("J")
		} else {
			e.add("K")
		}
	case (i > 1 && e.has(i-2, "B", "H", "D")) || (i > 2 && e.has(i-3, "B", "H", "D")) ||
		(i > 3 && e.has(i-4, "B", "H")):
		// Parker's rule: "hugh"
	default:
		if i > 2 && e.at(i-1) == 'U' && e.has(i-3, "C", "G", "L", "R", "T") {
			e.add("F") // "laugh", "McLaughlin", "cough", "tough"
		} else if i > 0 && e.at(i-1) != 'I' {
			e.add("K")
		}
	}
	return i + 2
}

func (e *dmEncoder) h(i int) int {
	// keep only when first and before a vowel, or between two vowels
	if (i == 0 || isVowel(e.at(i-1))) && isVowel(e.at(i+1)) {
		e.add("H")
		return i + 2
	}
	return i + 1
}

func (e *dmEncoder) j(i int) int {
	if e.has(i, "JOSE") || e.has(0, "SAN ") {
		// obviously Spanish: "Jose", "San Jacinto"
		if (i == 0 && e.at(i+4) == ' ') || len(e.v) == 4 || e.has(0, "SAN ") {
			e.add("H")
		} else {
			e.add2("J", "H")
		}
		return i + 1
	}
	switch {
	case i == 0:
		e.add2("J", "A")
	case isVowel(e.at(i-1)) && !e.slavoGermanic && (e.at(i+1) == 'A' || e.at(i+1) == 'O'):
		e.add2("J", "H")
	case i == len(e.v)-1:
		e.add2("J", " ")
	case !e.has(i+1, "L", "T", "K", "S", "N", "M", "B", "Z") && !e.has(i-1, "S", "K", "L"):
		e.add("J")
	}
	return e.skipDouble(i, 'J')
}

func (e *dmEncoder) l(i int) int {
	if e.at(i+1) == 'L' {
		n := len(e.v)
		spanish := (i == n-3 && e.has(i-1, "ILLO", "ILLA", "ALLE")) ||
			((e.has(n-2, "AS", "OS") || e.has(n-1, "A", "O")) && e.has(i-1, "ALLE"))
		if spanish {
			e.addPrimary("L")
		} else {
			e.add("L")
		}
		return i + 2
	}
	e.add("L")
	return i + 1
}

func (e *dmEncoder) r(i int) int {
	if i == len(e.v)-1 && !e.slavoGermanic && e.has(i-2, "IE") && !e.has(i-4, "ME", "MA") {
		e.addAlternate("R") // French "Rogier"
	} else {
		e.add("R")
	}
	return e.skipDouble(i, 'R')
}

func (e *dmEncoder) s(i int) int {
	switch {
	case e.has(i-1, "ISL", "YSL"):
		return i + 1 // "island", "carlisle"
	case i == 0 && e.has(i, "SUGAR"):
		e.add2("X", "S")
		return i + 1
	case e.has(i, "SH"):
		if e.has(i+1, "HEIM", "HOEK", "HOLM", "HOLZ") {
			e.add("S") // Germanic
		} else {
			e.add("X")
		}
		return i + 2
	case e.has(i, "SIO", "SIA") || e.has(i, "SIAN"):
		if e.slavoGermanic {
			e.add("S")
		} else {
			e.add2("S", "X")
		}
		return i + 3
	case (i == 0 && e.has(i+1, "M", "N", "L", "W")) || e.has(i+1, "Z"):
		// German and anglicisations: "smith" matches "schmidt", "snider" "schneider"
		e.add2("S", "X")
		if e.has(i+1, "Z") {
			return i + 2
		}
		return i + 1
	case e.has(i, "SC"):
		return e.sc(i)
	}
	if i == len(e.v)-1 && e.has(i-2, "AI", "OI") {
		e.addAlternate("S") // French "resnais", "artois"
	} else {
		e.add("S")
	}
	if e.has(i+1, "S", "Z") {
		return i + 2
	}
	return i + 1
}

func (e *dmEncoder) sc(i int) int {
	switch {
	case e.at(i+2) == 'H':
		// Schlesinger's rule
		if e.has(i+3, "OO", "ER", "EN", "UY", "ED", "EM") {
			if e.has(i+3, "ER", "EN") {
				e.add2("X", "SK") // "schermerhorn", "schenker"
			} else {
				e.add("SK") // Dutch "school"
			}
		} else if i == 0 && !isVowel(e.at(3)) && e.at(3) != 'W' {
			e.add2("X", "S")
		} else {
			e.add("X")
		}
	case e.has(i+2, "I", "E", "Y"):
		e.add("S")
	default:
		e.add("SK")
	}
	return i + 3
}

func (e *dmEncoder) t(i int) int {
	switch {
	case e.has(i, "TION"):
		e.add("X")
		return i + 3
	case e.has(i, "TIA", "TCH"):
		e.add("X")
		return i + 3
	case e.has(i, "TH") || e.has(i, "TTH"):
		if e.has(i+2, "OM", "AM") || e.has(0, "VAN ", "VON ", "SCH") {
			e.add("T") // "thomas", "thames", Germanic
		} else {
			e.add2("0", "T")
		}
		return i + 2
	}
	e.add("T")
	if e.has(i+1, "T", "D") {
		return i + 2
	}
	return i + 1
}

func (e *dmEncoder) w(i int) int {
	if e.has(i, "WR") {
		e.add("R")
		return i + 2
	}
	switch {
	case i == 0 && (isVowel(e.at(i+1)) || e.has(i, "WH")):
		if isVowel(e.at(i + 1)) {
			e.add2("A", "F") // "Wasserman" matches "Vasserman"
		} else {
			e.add("A")
		}
		return i + 1
	case (i == len(e.v)-1 && isVowel(e.at(i-1))) || e.has(i-1, "EWSKI", "EWSKY", "OWSKI", "OWSKY") ||
		e.has(0, "SCH"):
		e.addAlternate("F") // "Arnow" matches "Arnoff"
		return i + 1
	case e.has(i, "WICZ", "WITZ"):
		e.add2("TS", "FX") // Polish "filipowicz"
		return i + 4
	}
	return i + 1
}

func (e *dmEncoder) x(i int) int {
	if i == 0 {
		e.add("S")
		return i + 1
	}
	if !(i == len(e.v)-1 && (e.has(i-3, "IAU", "EAU") || e.has(i-2, "AU", "OU"))) {
		e.add("KS") // not French "breaux"
	}
	if e.has(i+1, "C", "X") {
		return i + 2
	}
	return i + 1
}

func (e *dmEncoder) z(i int) int {
	if e.at(i+1) == 'H' {
		e.add("J") // Chinese pinyin "Zhao"
		return i + 2
	}
	if e.has(i+1, "ZO", "ZI", "ZA") || (e.slavoGermanic && i > 0 && e.at(i-1) != 'T') {
		e.add2("S", "TS")
	} else {
		e.add("S")
	}
	return e.skipDouble(i, 'Z')
}
