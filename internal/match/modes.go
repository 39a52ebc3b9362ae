package match

import "sort"

// Matching modes. Fuzzy is the engine as documented in Compare; exact keeps only candidates
// whose normalised values agree exactly on every field of at least one rule group; ai is fuzzy
// plus a language model's verdict on the "possible" candidates (see Adjudicate).
const (
	ModeExact = "exact"
	ModeFuzzy = "fuzzy"
	ModeAI    = "ai"
)

// Modes lists every mode, for documentation and validation messages.
var Modes = []string{ModeExact, ModeFuzzy, ModeAI}

// RulesFor is the rules Compare and Rank apply for objectName under opt: opt.Rules, else the
// object's defaults.
func RulesFor(objectName string, opt Options) Rules {
	if opt.Rules != nil {
		return *opt.Rules
	}
	return DefaultRules(objectName)
}

// ExactRules returns r with every group condition compared by "exact" at threshold 1, so that
// a group holds only when the normalised values are equal. Vetoes are kept as they are: they
// guard against a match, and making them exact would veto more than the caller asked.
func ExactRules(r Rules) Rules {
	out := Rules{Any: make([]Group, len(r.Any)), Veto: r.Veto}
	for i, g := range r.Any {
		cs := make([]Condition, len(g.All))
		for j, c := range g.All {
			cs[j] = Condition{Field: c.Field, Method: MethodExact, Threshold: 1}
		}
		out.Any[i] = Group{Name: g.Name, All: cs}
	}
	return out
}

// RankMode is Rank under a mode, ordered for a client: matches first, then possible
// candidates, each by evidence (Weight; Rank's order, with its tie-breakers, among equal
// weights). Ranking by the rounded confidence alone would let ten possible candidates at
// 0.99995 push a rule-satisfying match off a short list. Exact mode applies
// ExactRules(RulesFor(objectName, opt)) and drops candidates that satisfy no group, however
// confident the field weights are; fuzzy and ai rank as Rank does (ai's model verdicts come
// after, from Adjudicate).
func RankMode(mode, objectName string, in Record, cands []Record, opt Options) []Match {
	limit := opt.MaxMatches
	if limit <= 0 {
		limit = DefaultMaxMatches
	}
	if mode == ModeExact {
		exact := ExactRules(RulesFor(objectName, opt))
		opt.Rules = &exact
	}
	opt.MaxMatches = MaxMatchesLimit // order and filter first, then cut
	ms := Rank(objectName, in, cands, opt)
	if mode == ModeExact {
		kept := ms[:0]
		for _, m := range ms {
			if m.Rule != "" {
				kept = append(kept, m)
			}
		}
		ms = kept
	}
	sort.SliceStable(ms, func(a, b int) bool {
		if da, db := decisionRank(ms[a].Decision), decisionRank(ms[b].Decision); da != db {
			return da < db
		}
		return ms[a].Weight > ms[b].Weight
	})
	if len(ms) > limit {
		ms = ms[:limit]
	}
	return ms
}

// Matchable reports whether a record has a value in at least one field the object's matching
// reads (after normalisation: "  " or "n/a@" count as nothing). A record without one cannot
// match anything and is a caller's mistake.
func Matchable(objectName string, r Record) bool {
	o, ok := lookupObject(objectName)
	if !ok {
		return false
	}
	for _, v := range prepare(o, &r, DefaultRegion).vals {
		if v.present() {
			return true
		}
	}
	return false
}
