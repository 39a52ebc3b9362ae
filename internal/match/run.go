package match

import (
	"context"
	"fmt"

	"github.com/lanternhq/lantern/internal/apperr"
)

// Target is one set of records a request's inputs are matched against: for leads, the leads
// and contacts (ranked as Lead) and, separately, the accounts (ranked as Account, the inputs
// read through LeadAsAccount).
type Target struct {
	RankAs     string     // the object whose fields, weights and default rules compare
	Inputs     []Record   // the request's records as this target reads them, in request order
	Candidates [][]Record // each input's candidates
	Options    Options
	StepPrefix string // names the target in judge steps, e.g. "accounts"
}

// Run ranks every input of every target under mode and, in ai mode, has j adjudicate the
// "possible" candidates of all of them in one pass (so the judge's concurrency spans the whole
// request). A candidate with the input's own ID is skipped: a stored record is not its own
// duplicate. The result is indexed [target][input].
func Run(ctx context.Context, mode string, targets []Target, j Judge, p AIPolicy) ([][][]Judged, error) {
	if mode == ModeAI && j == nil {
		return nil, apperr.New(apperr.NotConfigured, "AI-assisted matching needs a language model")
	}
	out := make([][][]Judged, len(targets))
	var cases []Case
	type at struct{ t, i int }
	var where []at
	for ti, t := range targets {
		if len(t.Candidates) != len(t.Inputs) {
			return nil, fmt.Errorf("match: target %s has %d candidate lists for %d inputs", t.RankAs, len(t.Candidates), len(t.Inputs))
		}
		out[ti] = make([][]Judged, len(t.Inputs))
		for i, in := range t.Inputs {
			cands := t.Candidates[i]
			if in.ID != "" {
				cands = withoutID(cands, in.ID)
			}
			ms := RankMode(mode, t.RankAs, in, cands, t.Options)
			if mode != ModeAI {
				out[ti][i] = Unjudged(ms)
				continue
			}
			cases = append(cases, Case{Object: t.RankAs, Input: in, Candidates: cands, Matches: ms,
				StepPrefix: fmt.Sprintf("%s/records[%d]", t.StepPrefix, i)})
			where = append(where, at{ti, i})
		}
	}
	if mode != ModeAI {
		return out, nil
	}
	judged, err := Adjudicate(ctx, j, cases, p)
	if err != nil {
		return nil, err
	}
	for k, w := range where {
		out[w.t][w.i] = judged[k]
	}
	return out, nil
}

func withoutID(rs []Record, id string) []Record {
	for i := range rs {
		if rs[i].ID == id {
			out := make([]Record, 0, len(rs)-1)
			out = append(out, rs[:i]...)
			for _, r := range rs[i+1:] {
				if r.ID != id {
					out = append(out, r)
				}
			}
			return out
		}
	}
	return rs
}
