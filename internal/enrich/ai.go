package enrich

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/enrich/llm"
)

// LLMConfig is how the engine reaches a language model. An empty BaseURL means none is
// configured, and AI and research answer a not_configured error naming the settings.
type LLMConfig struct {
	Config         llm.Config
	CreditsPer1K   int64 // credits per 1,000 tokens, prompt and completion
	MinPromptLimit int   // completion tokens below which a request is refused as unaffordable
}

// llmMissing is the error of AI features on a server without a model.
var llmMissing = apperr.New(apperr.NotConfigured,
	"no language model is configured on this server: set LANTERN_LLM_BASE_URL and LANTERN_LLM_MODEL "+
		"(and LANTERN_LLM_API_KEY for hosted APIs)")

// LLM returns a client capped at maxTokens completion tokens (0: the server's default).
func (e *Engine) LLM(maxTokens int) (*llm.Client, error) {
	if e.LLMConfig.Config.BaseURL == "" {
		return nil, llmMissing
	}
	c := e.LLMConfig.Config
	if maxTokens > 0 {
		c.MaxTokens = maxTokens
	}
	client, err := llm.New(c)
	if errors.Is(err, llm.ErrNotConfigured) || errors.Is(err, llm.ErrInvalidConfig) {
		return nil, apperr.Wrap(apperr.NotConfigured, err, "the language model settings are incomplete: %s", err.Error())
	}
	return client, err
}

// TokenCredits is what tokens cost, rounded up to whole credits.
func (e *Engine) TokenCredits(tokens int) int64 {
	if tokens <= 0 || e.LLMConfig.CreditsPer1K == 0 {
		return 0
	}
	return (int64(tokens)*e.LLMConfig.CreditsPer1K + 999) / 1000
}

// TokensFor is how many tokens credits buy.
func (e *Engine) TokensFor(credits int64) int {
	if e.LLMConfig.CreditsPer1K == 0 {
		return 1 << 30
	}
	return int(credits * 1000 / e.LLMConfig.CreditsPer1K)
}

// AIJob asks the model to produce data matching a schema from an instruction and a record.
type AIJob struct {
	OrgID       uuid.UUID
	APIKeyID    *uuid.UUID
	RequestID   string
	RecordID    string
	Instruction string
	Record      json.RawMessage
	Schema      json.RawMessage
	MaxCredits  int64
}

// aiConfidence: a model's answer is plausible, not established; callers who need more should
// check it with another provider or research.
const aiConfidence = 0.6

// AI runs an AI enrichment: the record is fenced as data, the answer is validated against the
// caller's schema (repaired once by the client if invalid), and the tokens are billed. With
// max_credits the completion is capped so that the whole call fits it; a prompt the budget
// cannot cover is refused before anything is sent.
func (e *Engine) AI(ctx context.Context, job AIJob) (*Outcome, error) {
	if err := llm.CompileSchema(job.Schema); err != nil {
		var se *llm.SchemaError
		if errors.As(err, &se) {
			return nil, apperr.Field("body.schema", "is not a usable JSON Schema: %s", se.Reason)
		}
		return nil, apperr.Field("body.schema", "is not a usable JSON Schema")
	}
	ej := Job{OrgID: job.OrgID, Service: AI, RecordID: job.RecordID,
		Record: Record{"instruction": job.Instruction, "record": string(job.Record), "schema": string(job.Schema)}}
	var key []byte
	if job.RecordID != "" {
		key = inputHash(ej)
		if out, err := e.cached(ctx, ej, key); err != nil || out != nil {
			return out, err
		}
	}
	system := "You enrich CRM records for a B2B revenue team. Follow the instruction using the record and what you " +
		"reliably know; where you do not know, say so within the schema (for example null or \"unknown\") rather than guess. " +
		llm.DataInstructions
	user := "Instruction:\n" + llm.Fence("instruction", job.Instruction) + "\nRecord:\n" + llm.Fence("record", string(job.Record))
	maxTokens := 0
	if job.MaxCredits > 0 {
		prompt := (len(system)+len(user)+len(job.Schema))/3 + 50 // a generous estimate: ~3 bytes a token
		maxTokens = e.TokensFor(job.MaxCredits) - prompt
		if maxTokens < 64 {
			return nil, apperr.New(apperr.InsufficientCredits,
				"max_credits %d does not cover this prompt (about %d tokens at %d credits per 1,000)", job.MaxCredits, prompt, e.LLMConfig.CreditsPer1K)
		}
	}
	balance, err := credits.Balance(ctx, e.DB, job.OrgID)
	if err != nil {
		return nil, err
	}
	if balance <= 0 {
		return nil, apperr.New(apperr.InsufficientCredits, "no credits remain")
	}
	client, err := e.LLM(maxTokens)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := client.Generate(ctx, llm.Request{System: system, User: user, Schema: job.Schema, SchemaName: "enrichment"})
	took := time.Since(start).Milliseconds()
	if err != nil {
		return nil, llmError(err)
	}
	cost := e.TokenCredits(res.Usage.Total)
	if job.MaxCredits > 0 {
		cost = min(cost, job.MaxCredits) // the cap is the caller's promise; a misestimate is ours
	}
	out := &Outcome{Service: AI, Fields: map[string]Result{}, Attempts: []Attempt{{Provider: "llm", Status: "ok",
		Fields: []string{"output"}, TookMS: took}}}
	if cost > 0 {
		r, err := e.debit(ctx, credits.Charge{OrgID: job.OrgID, APIKeyID: job.APIKeyID,
			RequestID: job.RequestID, Step: "ai.llm", Service: "enrich.ai", Amount: cost,
			Memo: fmt.Sprintf("%d tokens (%s)", res.Usage.Total, res.Model)})
		if err != nil {
			return nil, err
		}
		out.Balance = &r.Balance
	}
	out.Attempts[0].Credits, out.CreditsUsed = cost, cost
	var value any
	if err := json.Unmarshal(res.JSON, &value); err != nil {
		return nil, err
	}
	method := res.Model
	if res.Repaired {
		method += " (repaired once)"
	}
	out.Fields["output"] = Result{Value: value, Confidence: aiConfidence,
		Source: Source{Provider: "llm", Method: method}, ObservedAt: time.Now().UTC()}
	out.Confidence = aiConfidence
	if key != nil {
		if err := e.store(ctx, ej, key, out, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// llmError turns the model's failures into what the caller can act on, without its text
// leaking keys or internals.
func llmError(err error) error {
	var out *llm.InvalidOutputError
	switch {
	case errors.As(err, &out):
		return apperr.Wrap(apperr.Unavailable, err, "the model's answer did not match the schema after one repair: %s",
			strings.Join(out.Problems, "; "))
	case errors.Is(err, llm.ErrRefused):
		return apperr.Wrap(apperr.Unavailable, err, "the model declined to answer")
	case errors.Is(err, llm.ErrTruncated):
		return apperr.Wrap(apperr.Unavailable, err, "the model's answer was cut off; raise max_credits or simplify the schema")
	case errors.Is(err, llm.ErrBadRequest):
		return &apperr.Error{Code: apperr.Invalid, Field: "body.schema", Err: err,
			Message: "the model rejected the request; often a schema strict mode cannot use (every object needs additionalProperties false and all its properties required)"}
	case errors.Is(err, llm.ErrUnauthorized), errors.Is(err, llm.ErrNotFound):
		return apperr.Wrap(apperr.Unavailable, err, "the language model rejected this server's settings (LANTERN_LLM_API_KEY, LANTERN_LLM_MODEL)")
	case errors.Is(err, llm.ErrRateLimited), errors.Is(err, llm.ErrQuotaExceeded), errors.Is(err, llm.ErrUpstream):
		return apperr.Wrap(apperr.Unavailable, err, "the language model is unavailable; retry later")
	}
	return err
}
