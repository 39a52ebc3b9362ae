package match

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"sync"

	"github.com/lanternhq/lantern/internal/apperr"
)

// AI-assisted matching: the deterministic engine settles clear matches and clear non-matches;
// the candidates it calls "possible" are where a reader's judgement helps (a renamed company,
// a subsidiary, a person who changed employer), so those, and only those, go to a judge such
// as a language model. The judge's verdict never replaces the evidence: a Judged keeps the
// Match with its field explanations and carries the verdict beside it.

// Judge decides whether two records describe the same real-world entity.
type Judge interface {
	Judge(ctx context.Context, q JudgeQuery) (AIVerdict, error)
}

// JudgeQuery is one comparison put to a Judge.
type JudgeQuery struct {
	Object    string // Account, Contact or Lead
	Input     Record
	Candidate Record
	Evidence  Match  // the deterministic comparison, for the judge to weigh
	Step      string // names the comparison within its request (billing is idempotent per step)
}

// AIVerdict is a judge's answer. SameEntity, Confidence and Reason are the model's structured
// output (VerdictSchema); Model and CreditsUsed say who answered and what it cost. Error is
// set instead when the judge could not answer this comparison; the deterministic decision
// then stands.
type AIVerdict struct {
	SameEntity  bool    `json:"same_entity"`
	Confidence  float64 `json:"confidence" doc:"The model's own confidence in its verdict (0-1)"`
	Reason      string  `json:"reason"`
	Model       string  `json:"model,omitempty"`
	CreditsUsed int64   `json:"credits_used"`
	Error       string  `json:"error,omitempty" doc:"Why the model gave no verdict; the deterministic decision stands"`
}

// VerdictSchema is the JSON Schema of a model's verdict.
var VerdictSchema = json.RawMessage(`{"type":"object","additionalProperties":false,
"required":["same_entity","confidence","reason"],
"properties":{"same_entity":{"type":"boolean","description":"true when both records describe the same real-world entity"},
"confidence":{"type":"number","minimum":0,"maximum":1,"description":"how sure you are of same_entity, 0 to 1"},
"reason":{"type":"string","description":"one or two sentences: the evidence that decided it"}}}`)

// ParseVerdict reads a model's answer, already validated against VerdictSchema.
func ParseVerdict(raw json.RawMessage) (AIVerdict, error) {
	var v AIVerdict
	if err := json.Unmarshal(raw, &v); err != nil {
		return AIVerdict{}, err
	}
	if math.IsNaN(v.Confidence) || v.Confidence < 0 || v.Confidence > 1 {
		v.Confidence = math.Max(0, math.Min(1, v.Confidence))
	}
	return v, nil
}

// AIPolicy says which candidates go to the judge and what its verdict may change.
type AIPolicy struct {
	// MaxPerRecord is how many "possible" candidates of each input are judged, best first
	// (0: DefaultAIMaxPerRecord). The rest keep their deterministic decision.
	MaxPerRecord int
	// Threshold is the verdict confidence at which it decides: same_entity at or above it makes
	// a "match", not same_entity at or above it a "no_match"; below it the candidate stays
	// "possible" (0: DefaultAIThreshold).
	Threshold float64
	// Concurrency bounds the judge calls in flight (0: DefaultAIConcurrency).
	Concurrency int
}

// Defaults of AIPolicy.
const (
	DefaultAIMaxPerRecord = 3
	MaxAIPerRecord        = 10
	DefaultAIThreshold    = 0.8
	DefaultAIConcurrency  = 4
)

// Who decided a Judged candidate.
const (
	DecidedByRules = "rules"
	DecidedByAI    = "ai"
)

// Judged is a ranked candidate after adjudication.
type Judged struct {
	Match
	DecidedBy string     // DecidedByRules or DecidedByAI
	AI        *AIVerdict // nil when the judge was not asked
}

// Case is one input record with its candidates and their deterministic ranking (from Rank or
// RankMode); Candidates must hold every candidate Matches names.
type Case struct {
	Object     string
	Input      Record
	Candidates []Record
	Matches    []Match
	StepPrefix string // e.g. "records[3]": Step is StepPrefix + "/" + candidate id
}

// Judge errors that end the whole adjudication rather than one comparison: the caller cannot
// get a useful answer by reading partial verdicts when its credits ran out or the model is not
// set up or refuses its settings.
func fatal(err error) bool {
	switch apperr.CodeOf(err) {
	case apperr.InsufficientCredits, apperr.NotConfigured, apperr.Invalid, apperr.Internal:
		return true
	}
	return false
}

// Adjudicate asks j about the "possible" candidates of each case (at most p.MaxPerRecord per
// case, best first) and applies the verdicts: confirmed ones become matches, rejected ones
// no_match, the others stay possible. Each case's list is then ordered match, possible,
// no_match, keeping the deterministic order within each. A comparison the judge fails on keeps
// its decision and records the failure in AI.Error; a failure that concerns every comparison
// (credits, configuration) is returned as the error.
func Adjudicate(ctx context.Context, j Judge, cases []Case, p AIPolicy) ([][]Judged, error) {
	if p.MaxPerRecord <= 0 {
		p.MaxPerRecord = DefaultAIMaxPerRecord
	}
	if p.Threshold <= 0 {
		p.Threshold = DefaultAIThreshold
	}
	if p.Concurrency <= 0 {
		p.Concurrency = DefaultAIConcurrency
	}
	out := make([][]Judged, len(cases))
	type task struct{ c, m int }
	var tasks []task
	for ci, c := range cases {
		out[ci] = make([]Judged, len(c.Matches))
		asked := 0
		for mi, m := range c.Matches {
			out[ci][mi] = Judged{Match: m, DecidedBy: DecidedByRules}
			if m.Decision == DecisionPossible && asked < p.MaxPerRecord {
				tasks = append(tasks, task{ci, mi})
				asked++
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, p.Concurrency)
	)
	for _, t := range tasks {
		c := &cases[t.c]
		jm := &out[t.c][t.m]
		cand, ok := findRecord(c.Candidates, jm.CandidateID)
		if !ok {
			continue
		}
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			v, err := j.Judge(ctx, JudgeQuery{Object: c.Object, Input: c.Input, Candidate: cand, Evidence: jm.Match,
				Step: c.StepPrefix + "/" + jm.CandidateID})
			if err != nil {
				if fatal(err) || ctx.Err() != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					return
				}
				v = AIVerdict{Model: v.Model, CreditsUsed: v.CreditsUsed, Error: clientMessage(err)}
			}
			jm.AI = &v
			if v.Error == "" && v.Confidence >= p.Threshold {
				jm.DecidedBy = DecidedByAI
				if v.SameEntity {
					jm.Decision = DecisionMatch
				} else {
					jm.Decision = DecisionNoMatch
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	for _, list := range out {
		sort.SliceStable(list, func(a, b int) bool { return decisionRank(list[a].Decision) < decisionRank(list[b].Decision) })
	}
	return out, nil
}

// clientMessage is what a client may read of a judge's failure: an apperr message, never the
// text of anything else.
func clientMessage(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Message
	}
	return "the model gave no usable answer"
}

func decisionRank(d string) int {
	switch d {
	case DecisionMatch:
		return 0
	case DecisionPossible:
		return 1
	}
	return 2
}

func findRecord(rs []Record, id string) (Record, bool) {
	for _, r := range rs {
		if r.ID == id {
			return r, true
		}
	}
	return Record{}, false
}

// Unjudged wraps a deterministic ranking as Judged, for the modes that ask no judge.
func Unjudged(ms []Match) []Judged {
	out := make([]Judged, len(ms))
	for i, m := range ms {
		out[i] = Judged{Match: m, DecidedBy: DecidedByRules}
	}
	return out
}
