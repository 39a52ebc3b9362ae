package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/enrich/llm"
	"github.com/lanternhq/lantern/internal/match"
)

// MatchJudge is match.Judge backed by the configured language model: each comparison is one
// structured-output call (match.VerdictSchema), billed by its tokens like /v1/enrich/ai, once
// per request and step.
type MatchJudge struct {
	e         *Engine
	client    *llm.Client
	org       uuid.UUID
	key       *uuid.UUID
	requestID string
	max       int64 // the request's max_credits; 0: no cap

	mu       sync.Mutex
	used     int64
	reserved int64 // the most the calls in flight can cost
	balance  *int64
}

// matchJudgeMaxTokens caps each verdict: a boolean, a number and a sentence or two.
const matchJudgeMaxTokens = 300

// MatchJudge returns a judge for one request, or a not_configured error naming
// LANTERN_LLM_BASE_URL when no model is set up, or insufficient_credits when the org has none.
// With maxCredits > 0 the request's comparisons together never cost more: one whose worst case
// does not fit what is left is not asked.
func (e *Engine) MatchJudge(ctx context.Context, org uuid.UUID, key *uuid.UUID, requestID string, maxCredits int64) (*MatchJudge, error) {
	client, err := e.LLM(matchJudgeMaxTokens)
	if err != nil {
		return nil, err
	}
	balance, err := credits.Balance(ctx, e.DB, org)
	if err != nil {
		return nil, err
	}
	if balance <= 0 && e.LLMConfig.CreditsPer1K > 0 {
		return nil, apperr.New(apperr.InsufficientCredits, "no credits remain for AI-assisted matching")
	}
	return &MatchJudge{e: e, client: client, org: org, key: key, requestID: requestID, max: maxCredits}, nil
}

// CreditsUsed is what the judge's calls have cost so far.
func (j *MatchJudge) CreditsUsed() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.used
}

// Balance is the org's balance after the judge's last committed debit, or nil if it made none.
func (j *MatchJudge) Balance() *int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.balance
}

const matchJudgeSystem = "You are a data steward deduplicating a B2B CRM. You are shown an input record, a " +
	"candidate record already in the CRM, and how a deterministic matcher compared their fields (score 0-1 per " +
	"field; its confidence is a calibrated probability from those scores). Decide whether both records describe " +
	"the same real-world entity: the same company (a legal entity or site, not merely a parent and its " +
	"subsidiary) or the same person. Weigh renamed companies, abbreviations, nicknames, typos, moved offices and " +
	"changed employers. Give your confidence honestly; when the records do not settle it, say so with a low " +
	"confidence rather than guess. "

// Judge asks the model about one comparison and bills its tokens.
func (j *MatchJudge) Judge(ctx context.Context, q match.JudgeQuery) (match.AIVerdict, error) {
	kind := "company"
	if q.Object != match.ObjectAccount {
		kind = "person"
	}
	user := fmt.Sprintf("Are these the same %s?\n\nInput record:\n%s\nCandidate record:\n%s\nDeterministic comparison:\n%s",
		kind, llm.Fence("input", fieldsText(q.Input.Fields)), llm.Fence("candidate", fieldsText(q.Candidate.Fields)),
		llm.Fence("evidence", evidenceText(q.Evidence)))
	system := matchJudgeSystem + llm.DataInstructions
	// The worst case of this call: the prompt (a generous ~3 bytes a token) and a full answer.
	worst := j.e.TokenCredits((len(system)+len(user)+len(match.VerdictSchema))/3 + 50 + matchJudgeMaxTokens)
	if j.max > 0 {
		j.mu.Lock()
		if j.used+j.reserved+worst > j.max {
			left := j.max - j.used - j.reserved
			j.mu.Unlock()
			return match.AIVerdict{}, apperr.New(apperr.Unavailable,
				"not asked: this comparison can cost up to %d credits and %d of max_credits %d are left", worst, max(0, left), j.max)
		}
		j.reserved += worst
		j.mu.Unlock()
		defer func() {
			j.mu.Lock()
			j.reserved -= worst
			j.mu.Unlock()
		}()
	}
	res, err := j.client.Generate(ctx, llm.Request{System: system, User: user,
		Schema: match.VerdictSchema, SchemaName: "match_verdict"})
	// Tokens are billed whether or not the answer was usable: the server produced them.
	cost := j.e.TokenCredits(res.Usage.Total)
	if j.max > 0 {
		cost = min(cost, worst) // the cap is the caller's promise; a misestimate is ours
	}
	if cost > 0 {
		r, derr := j.e.debit(ctx, credits.Charge{OrgID: j.org, APIKeyID: j.key, RequestID: j.requestID,
			Step: "match.ai/" + q.Step, Service: "match.ai", Amount: cost,
			Memo: fmt.Sprintf("%d tokens (%s)", res.Usage.Total, res.Model)})
		if derr != nil {
			return match.AIVerdict{}, derr
		}
		j.mu.Lock()
		if !r.Duplicate {
			j.used += cost
		}
		// Verdicts run concurrently and their debits commit in some order: the lowest balance is
		// the one after the last of them.
		if j.balance == nil || r.Balance < *j.balance {
			b := r.Balance
			j.balance = &b
		}
		j.mu.Unlock()
	}
	if err != nil {
		return match.AIVerdict{Model: res.Model, CreditsUsed: cost}, llmError(err)
	}
	v, err := match.ParseVerdict(res.JSON)
	if err != nil {
		return match.AIVerdict{Model: res.Model, CreditsUsed: cost}, apperr.Wrap(apperr.Unavailable, err, "the model's verdict could not be read")
	}
	v.Model, v.CreditsUsed = res.Model, cost
	return v, nil
}

// fieldsText lists a record's fields one per line, sorted, for a prompt.
func fieldsText(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k, v := range fields {
		if strings.TrimSpace(v) != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + ": " + fields[k] + "\n")
	}
	return b.String()
}

// evidenceText summarises the deterministic comparison as compact JSON lines.
func evidenceText(m match.Match) string {
	var b strings.Builder
	fmt.Fprintf(&b, "confidence %.3f, decision %s", m.Confidence, m.Decision)
	if m.Rule != "" {
		b.WriteString(", rule " + m.Rule)
	}
	if m.Veto != "" {
		b.WriteString(", veto " + m.Veto)
	}
	b.WriteString("\n")
	for _, f := range m.Fields {
		line, _ := json.Marshal(map[string]any{"field": f.Field, "method": f.Method, "score": f.Score, "note": f.Note})
		b.Write(line)
		b.WriteString("\n")
	}
	return b.String()
}
