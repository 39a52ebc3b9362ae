// Package batch is the Async API's domain: batches of 1-1000 phone, email or research records
// whose input, results and cost breakdown live in S3.
//
// Money: when a batch starts, its budget is reserved with one ledger debit (the org's balance
// drops at once, so other spending cannot eat it). Each record's steps are then charged
// against that reservation, once per (record, step), and never beyond it; when the batch
// ends, what was not used is refunded with one ledger refund. So a batch never spends more
// than it reserved, and a record processed again after a crash is never charged twice.
//
// Results: each processed record is one batch_records row, keyed by its record_id, and
// results.jsonl is written from those rows; a record processed twice still appears once.
package batch

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/enrich"
)

// Types of batch.
const (
	Phone    = "phone"
	Email    = "email"
	Research = "research"
)

// Types lists the batch types in the order the API documents them.
var Types = []string{Phone, Email, Research}

// States of a batch.
const (
	Queued          = "queued"
	Running         = "running"
	Completed       = "completed"        // every record processed (some may have failed)
	BudgetExhausted = "budget_exhausted" // stopped: max_credits (or the balance reserved) ran out
	Cancelled       = "cancelled"        // stopped by DELETE; partial results kept
	Failed          = "failed"           // the batch itself could not run (not a record failure)
)

// Terminal reports whether a batch in state s is finished.
func Terminal(s string) bool {
	return s == Completed || s == BudgetExhausted || s == Cancelled || s == Failed
}

// Bounds of a batch.
const (
	MinRecords = 1
	MaxRecords = 1000
)

// Record is one input record: the caller's id, what is known about it, and for research the
// question to answer.
type Record struct {
	RecordID string        `json:"record_id"`
	Fields   enrich.Record `json:"fields"`
	Question string        `json:"question,omitempty"`
}

// Options tune how the records are enriched.
type Options struct {
	DefaultRegion string   `json:"default_region,omitempty"`
	Threshold     float64  `json:"threshold,omitempty"`
	Providers     []string `json:"providers,omitempty"`
}

// Input is the claim-checked input: what is written to S3 before the workflow starts.
type Input struct {
	BatchID string    `json:"batch_id"`
	OrgID   uuid.UUID `json:"org_id"`
	Type    string    `json:"type"`
	Options Options   `json:"options"`
	Records []Record  `json:"records"`
}

// Line is one line of results.jsonl.
type Line struct {
	RecordID    string                   `json:"record_id"`
	Success     bool                     `json:"success"`
	Data        map[string]any           `json:"data,omitempty"`
	Fields      map[string]enrich.Result `json:"fields,omitempty"`
	Confidence  float64                  `json:"confidence"`
	Error       string                   `json:"error,omitempty"`
	CreditsUsed int64                    `json:"credits_used"`
	Cached      bool                     `json:"cached"`
	Providers   []enrich.Attempt         `json:"providers,omitempty"`
}

// LineOf is the results line of an enrichment outcome.
func LineOf(recordID string, out *enrich.Outcome) Line {
	data := map[string]any{}
	for f, r := range out.Fields {
		data[f] = r.Value
	}
	return Line{RecordID: recordID, Success: true, Data: data, Fields: out.Fields, Confidence: out.Confidence,
		CreditsUsed: out.CreditsUsed, Cached: out.Cached, Providers: out.Attempts}
}

// ValidateRecords checks the count and that record_ids are present and unique. It names the
// offending record.
func ValidateRecords(recs []Record) error {
	if len(recs) < MinRecords || len(recs) > MaxRecords {
		return apperr.Field("body.records", "a batch has %d to %d records, got %d", MinRecords, MaxRecords, len(recs))
	}
	seen := make(map[string]int, len(recs))
	for i, r := range recs {
		if strings.TrimSpace(r.RecordID) == "" {
			return apperr.Field(fmt.Sprintf("body.records[%d].record_id", i), "is required")
		}
		if j, dup := seen[r.RecordID]; dup {
			return apperr.Field(fmt.Sprintf("body.records[%d].record_id", i), "duplicate record_id %q (also records[%d])", r.RecordID, j)
		}
		seen[r.RecordID] = i
	}
	return nil
}

// NewID returns a batch id: derived from the idempotency key when there is one, so a repeat
// names the same batch (and Temporal refuses a second workflow), else random.
func NewID(org uuid.UUID, idempotencyKey string) string {
	if idempotencyKey == "" {
		b := make([]byte, 12)
		rand.Read(b)
		return "bat_" + hex.EncodeToString(b)
	}
	h := sha256.Sum256([]byte(org.String() + "\x00batch\x00" + idempotencyKey))
	return "bat_" + hex.EncodeToString(h[:12])
}

// NewSecret returns a callback signing secret.
func NewSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "whsec_" + hex.EncodeToString(b)
}

// Objects are a batch's S3 keys.
type Objects struct {
	Input   string `json:"input"`
	Results string `json:"results"`
	Summary string `json:"summary"`
	Costs   string `json:"costs"`
}

// Prefix is where a batch's objects live; the org is part of it so no id can reach another
// org's objects.
func Prefix(org uuid.UUID, id string) string { return "batches/" + org.String() + "/" + id + "/" }

// ObjectsAt are the objects under a prefix.
func ObjectsAt(prefix string) Objects {
	return Objects{Input: prefix + "input.json", Results: prefix + "results.jsonl",
		Summary: prefix + "summary.json", Costs: prefix + "costs.json"}
}

// Progress is a batch's counters; the workflow's progress query answers it.
type Progress struct {
	State       string `json:"state"`
	Total       int    `json:"total"`
	Processed   int    `json:"processed"`
	Succeeded   int    `json:"succeeded"`
	Failed      int    `json:"failed"`
	CreditsUsed int64  `json:"credits_used"`
	Reserved    int64  `json:"credits_reserved"`
	Message     string `json:"message,omitempty"`
}

// ETA estimates the time left from the pace so far; nil before the first record or when done.
func ETA(p Progress, started *time.Time, now time.Time) *time.Duration {
	if started == nil || p.Processed == 0 || p.Processed >= p.Total || Terminal(p.State) {
		return nil
	}
	elapsed := now.Sub(*started)
	left := time.Duration(float64(elapsed) / float64(p.Processed) * float64(p.Total-p.Processed))
	return &left
}

// Summary is summary.json.
type Summary struct {
	BatchID         string     `json:"batch_id"`
	Type            string     `json:"type"`
	State           string     `json:"state"`
	Message         string     `json:"message,omitempty"`
	Total           int        `json:"total"`
	Processed       int        `json:"processed"`
	Succeeded       int        `json:"succeeded"`
	Failed          int        `json:"failed"`
	Skipped         int        `json:"skipped" doc:"Records not processed: the batch stopped before them"`
	CreditsReserved int64      `json:"credits_reserved"`
	CreditsUsed     int64      `json:"credits_used"`
	CreditsRefunded int64      `json:"credits_refunded"`
	CreatedAt       time.Time  `json:"created_at"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	FinishedAt      *time.Time `json:"finished_at,omitempty"`
}

// Costs is costs.json: what the batch spent, per service, per provider and per record.
type Costs struct {
	BatchID     string           `json:"batch_id"`
	Total       int64            `json:"total_credits"`
	Reserved    int64            `json:"credits_reserved"`
	Refunded    int64            `json:"credits_refunded"`
	ByService   map[string]int64 `json:"by_service"`
	ByProvider  map[string]int64 `json:"by_provider"`
	ByRecord    []RecordCost     `json:"by_record"`
	GeneratedAt time.Time        `json:"generated_at"`
}

// RecordCost is one record's spending by provider.
type RecordCost struct {
	RecordID   string           `json:"record_id"`
	Credits    int64            `json:"credits"`
	ByProvider map[string]int64 `json:"by_provider"`
}
