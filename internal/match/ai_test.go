package match

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/lanternhq/lantern/internal/apperr"
)

// scriptedJudge answers from a table keyed by the candidate's Name, and records what it saw.
type scriptedJudge struct {
	mu      sync.Mutex
	asked   []JudgeQuery
	answers map[string]AIVerdict
	errs    map[string]error
}

func (j *scriptedJudge) Judge(_ context.Context, q JudgeQuery) (AIVerdict, error) {
	j.mu.Lock()
	j.asked = append(j.asked, q)
	j.mu.Unlock()
	name := q.Candidate.Fields["Name"]
	if err := j.errs[name]; err != nil {
		return AIVerdict{}, err
	}
	return j.answers[name], nil
}

func acct(id, name, street string) Record {
	return Record{ID: id, Fields: map[string]string{"Name": name, "BillingStreet": street, "BillingCity": "Palo Alto", "BillingCountry": "US"}}
}

func TestAdjudicate(t *testing.T) {
	in := acct("", "Acme Robotics", "99 Harbor Road")
	cands := []Record{
		acct("exact", "Acme Robotics", "99 Harbor Road"),       // a match already: never asked
		acct("moved", "Acme Robotics Inc", "1 Main Street"),    // vetoed street: possible
		acct("arm", "Acme Robotics Europe", "5 Rue de Rivoli"), // possible
		acct("unsure", "Acme Robotic Systems", "7 Elm Street"), // possible
		acct("failing", "ACME Robotics Corp", "12 Oak Avenue"), // possible; the judge fails
		acct("far", "Zephyr Bakeries", "1 Other Road"),         // no_match: never ranked
	}
	ms := RankMode(ModeFuzzy, ObjectAccount, in, cands, Options{})
	byID := map[string]Match{}
	for _, m := range ms {
		byID[m.CandidateID] = m
	}
	if byID["exact"].Decision != DecisionMatch || byID["moved"].Decision != DecisionPossible || byID["arm"].Decision != DecisionPossible {
		t.Fatalf("deterministic decisions: %+v", ms)
	}
	if _, ok := byID["far"]; ok {
		t.Fatal("an unrelated company was ranked")
	}
	j := &scriptedJudge{answers: map[string]AIVerdict{
		"Acme Robotics Inc":    {SameEntity: true, Confidence: 0.95, Reason: "moved office"},
		"Acme Robotics Europe": {SameEntity: false, Confidence: 0.9, Reason: "subsidiary"},
		"Acme Robotic Systems": {SameEntity: true, Confidence: 0.5, Reason: "not sure"},
	}, errs: map[string]error{"ACME Robotics Corp": apperr.Wrap(apperr.Unavailable, errors.New("secret upstream text"), "the language model is unavailable; retry later")}}
	out, err := Adjudicate(context.Background(), j, []Case{{Object: ObjectAccount, Input: in, Candidates: cands, Matches: ms, StepPrefix: "r0"}},
		AIPolicy{MaxPerRecord: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Judged{}
	order := []string{}
	for _, x := range out[0] {
		got[x.CandidateID] = x
		order = append(order, x.CandidateID+":"+x.Decision)
	}
	if len(j.asked) != 4 {
		t.Fatalf("asked %d times, want the 4 possible candidates", len(j.asked))
	}
	for _, q := range j.asked {
		if q.Candidate.ID == "exact" || !strings.HasPrefix(q.Step, "r0/") || q.Evidence.CandidateID != q.Candidate.ID {
			t.Fatalf("query %+v", q)
		}
	}
	check := func(id, decision, by string) {
		t.Helper()
		if g := got[id]; g.Decision != decision || g.DecidedBy != by {
			t.Errorf("%s: %s by %s, want %s by %s", id, g.Decision, g.DecidedBy, decision, by)
		}
	}
	check("exact", DecisionMatch, DecidedByRules)
	check("moved", DecisionMatch, DecidedByAI)
	check("arm", DecisionNoMatch, DecidedByAI)
	check("unsure", DecisionPossible, DecidedByRules) // below the AI threshold: the verdict is shown, not applied
	check("failing", DecisionPossible, DecidedByRules)
	if got["unsure"].AI == nil || got["unsure"].AI.Reason != "not sure" {
		t.Errorf("unsure verdict: %+v", got["unsure"].AI)
	}
	if e := got["failing"].AI; e == nil || e.Error == "" || strings.Contains(e.Error, "secret") {
		t.Errorf("failure: %+v", e)
	}
	// Evidence untouched: the verdict sits beside the deterministic comparison.
	if got["moved"].Confidence != byID["moved"].Confidence || len(got["moved"].Fields) != len(byID["moved"].Fields) || got["moved"].Veto == "" {
		t.Errorf("evidence changed: %+v", got["moved"].Match)
	}
	// Ordered: matches, possible, no_match.
	last := -1
	for _, x := range out[0] {
		if r := decisionRank(x.Decision); r < last {
			t.Fatalf("order %v", order)
		} else {
			last = r
		}
	}

	// MaxPerRecord: only the best possible candidates are asked.
	j.asked = nil
	if _, err := Adjudicate(context.Background(), j, []Case{{Object: ObjectAccount, Input: in, Candidates: cands, Matches: ms}},
		AIPolicy{MaxPerRecord: 1}); err != nil || len(j.asked) != 1 {
		t.Fatalf("MaxPerRecord 1: %v, asked %d", err, len(j.asked))
	}
	// A failure that concerns every comparison ends the adjudication.
	j.errs["Acme Robotics Inc"] = apperr.New(apperr.InsufficientCredits, "no credits remain")
	if _, err := Adjudicate(context.Background(), j, []Case{{Object: ObjectAccount, Input: in, Candidates: cands, Matches: ms}},
		AIPolicy{}); !apperr.Is(err, apperr.InsufficientCredits) {
		t.Fatalf("fatal error: %v", err)
	}
}

func TestParseVerdict(t *testing.T) {
	v, err := ParseVerdict([]byte(`{"same_entity":true,"confidence":1.7,"reason":"x"}`))
	if err != nil || !v.SameEntity || v.Confidence != 1 || v.Reason != "x" {
		t.Fatalf("%+v %v", v, err)
	}
	if _, err := ParseVerdict([]byte(`not json`)); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestRankModeExact(t *testing.T) {
	in := Record{Fields: map[string]string{"Name": "ACME Robotics, Inc.", "Website": "https://www.acme-robotics.com"}}
	cands := []Record{
		{ID: "same-name", Fields: map[string]string{"Name": "Acme Robotics"}},
		{ID: "typo", Fields: map[string]string{"Name": "Acme Robotcs"}},
		{ID: "same-site", Fields: map[string]string{"Name": "Acme", "Website": "acme-robotics.com"}},
	}
	ids := func(ms []Match) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			out[m.CandidateID] = m.Rule
		}
		return out
	}
	exact := ids(RankMode(ModeExact, ObjectAccount, in, cands, Options{}))
	if exact["same-name"] != "name" || exact["same-site"] != "website" || len(exact) != 2 {
		t.Fatalf("exact: %v", exact)
	}
	if fuzzy := ids(RankMode(ModeFuzzy, ObjectAccount, in, cands, Options{})); fuzzy["typo"] == "" {
		t.Fatalf("fuzzy missed the typo: %v", fuzzy)
	}
	r := ExactRules(DefaultRules(ObjectAccount))
	for _, g := range r.Any {
		for _, c := range g.All {
			if c.Method != MethodExact || c.Threshold != 1 {
				t.Fatalf("ExactRules: %+v", c)
			}
		}
	}
	// Matches come before possible candidates, whatever their confidence.
	ms := RankMode(ModeFuzzy, ObjectAccount, acct("", "Acme Robotics", "99 Harbor Road"),
		[]Record{acct("vetoed", "Acme Robotics", "1 Main Street"), acct("ok", "Acme Robotics Inc", "99 Harbor Rd")}, Options{MaxMatches: 1})
	if len(ms) != 1 || ms[0].CandidateID != "ok" || ms[0].Decision != DecisionMatch {
		t.Fatalf("order: %+v", ms)
	}
}

func TestMatchable(t *testing.T) {
	if Matchable(ObjectAccount, Record{Fields: map[string]string{"Colour": "red", "Name": "  "}}) {
		t.Error("a record without matchable fields is matchable")
	}
	if !Matchable(ObjectLead, Record{Fields: map[string]string{"Company": "Acme"}}) || !Matchable(ObjectContact, Record{Fields: map[string]string{"Email": "a@b.com"}}) {
		t.Error("records with a matchable field are not")
	}
	if Matchable("Opportunity", Record{Fields: map[string]string{"Name": "x"}}) {
		t.Error("unknown object")
	}
}

func TestRunSkipsSelf(t *testing.T) {
	in := acct("me", "Acme Robotics", "99 Harbor Road")
	out, err := Run(context.Background(), ModeFuzzy, []Target{{RankAs: ObjectAccount, Inputs: []Record{in},
		Candidates: [][]Record{{in, acct("twin", "Acme Robotics Inc", "99 Harbor Road")}}}}, nil, AIPolicy{})
	if err != nil || len(out[0][0]) != 1 || out[0][0][0].CandidateID != "twin" {
		t.Fatalf("%v %+v", err, out)
	}
	if _, err := Run(context.Background(), ModeAI, nil, nil, AIPolicy{}); !apperr.Is(err, apperr.NotConfigured) {
		t.Fatalf("ai without a judge: %v", err)
	}
}
