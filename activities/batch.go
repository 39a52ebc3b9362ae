package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/batch"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/objectstore"
	"github.com/lanternhq/lantern/schema"
)

// Batch holds what Async API batches use: Postgres (batch rows, the reservation), S3 (input
// and results) and the enrichment engine for each record.
type Batch struct {
	DB             *bun.DB
	Store          *objectstore.Store
	Engine         *enrich.Engine
	Concurrency    int         // records in flight per batch
	Retry          batch.Retry // per record
	ResearchBudget int64       // credits one research record may spend at most
	CallbackAllow  []netip.Prefix
	Now            func() time.Time
}

func (b *Batch) now() time.Time {
	if b.Now != nil {
		return b.Now().UTC()
	}
	return time.Now().UTC()
}

// BatchRef names one batch.
type BatchRef struct {
	OrgID   uuid.UUID
	BatchID string
}

// StartOutput is what a starting batch reserved.
type StartOutput struct {
	Reserved int64
	Total    int
}

// perRecord is the most one record of a type can cost: its providers' prices, or the
// research budget.
func (b *Batch) perRecord(typ string) int64 {
	if typ == batch.Research {
		return b.ResearchBudget
	}
	var sum int64
	for _, p := range b.Engine.Plans[typ].Providers {
		sum += b.Engine.Prices[p]
	}
	return max(sum, 1)
}

// Start reserves the batch's credits: max_credits, or what all its records could cost at
// most, whichever is less, and no more than the balance.
func (b *Batch) Start(ctx context.Context, in BatchRef) (StartOutput, error) {
	row, err := batch.Get(ctx, b.DB, in.OrgID, in.BatchID)
	if err != nil {
		return StartOutput{}, permanent(err)
	}
	want := int64(row.Total) * b.perRecord(row.Type)
	if row.MaxCredits > 0 {
		want = min(want, row.MaxCredits)
	}
	reserved, err := batch.Reserve(ctx, b.DB, in.OrgID, in.BatchID, row.APIKeyID, "agents."+row.Type, want, b.now())
	return StartOutput{Reserved: reserved, Total: row.Total}, err
}

// ChunkInput is records [From, To) of a batch.
type ChunkInput struct {
	BatchRef
	From, To int
}

// ChunkOutput is where a batch stands after a chunk.
type ChunkOutput struct {
	Progress batch.Progress
	Stop     bool   // the reservation ran out: start no more records
	Message  string // why it stopped
}

// input reads the claim-checked input from S3. S3 being away is an ordinary error: the
// activity is retried until it is back, and the records wait.
func (b *Batch) input(ctx context.Context, row *schema.Batch) (*batch.Input, error) {
	raw, err := b.Store.Get(ctx, batch.ObjectsAt(row.Prefix).Input)
	if err != nil {
		return nil, fmt.Errorf("read batch input: %w", err)
	}
	var in batch.Input
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("decode batch input: %w", err)
	}
	return &in, nil
}

const budgetMessage = "stopped: the batch's credits (max_credits, or the balance reserved at its start) are used up"

// Enrich processes records [From, To) of a phone or email batch that are not processed yet,
// with bounded concurrency and per-record retries, then rewrites results.jsonl. A record is
// saved as soon as it is done, so a retry of this activity (after a crash) skips it.
func (b *Batch) Enrich(ctx context.Context, in ChunkInput) (ChunkOutput, error) {
	row, err := batch.Get(ctx, b.DB, in.OrgID, in.BatchID)
	if err != nil {
		return ChunkOutput{}, permanent(err)
	}
	input, err := b.input(ctx, row)
	if err != nil {
		return ChunkOutput{}, err
	}
	done, err := batch.Done(ctx, b.DB, in.OrgID, in.BatchID)
	if err != nil {
		return ChunkOutput{}, err
	}
	var todo []int
	for i := in.From; i < min(in.To, len(input.Records)); i++ {
		if !done[input.Records[i].RecordID] {
			todo = append(todo, i)
		}
	}
	var stop atomic.Bool // set by any record that finds the reservation used up
	lines := make([]batch.Line, len(todo))
	var mu sync.Mutex
	var saveErr error
	batch.Each(ctx, len(todo), b.Concurrency, b.Retry, stop.Load, func(ctx context.Context, k int) error {
		rec := input.Records[todo[k]]
		out, err := b.Engine.Run(ctx, b.job(row, input, rec))
		if err != nil {
			return err
		}
		lines[k] = batch.LineOf(rec.RecordID, out)
		if out.Cached {
			// An attempt before a crash may have charged this record and cached its answer;
			// the line must say what the record cost, which the charges hold.
			if lines[k].CreditsUsed, err = b.charged(ctx, row, rec.RecordID); err != nil {
				return err
			}
		}
		for _, a := range out.Attempts {
			if a.Status == "insufficient_credits" {
				stop.Store(true)
			}
		}
		return nil
	}, func(k int, err error) {
		i := todo[k]
		rec := input.Records[i]
		switch {
		case apperr.Is(err, apperr.InsufficientCredits):
			stop.Store(true) // not processed: it counts as skipped in the summary
			return
		case err != nil && ctx.Err() != nil:
			return // cancelled or timed out: the record is done on the retry
		case err != nil:
			lines[k] = batch.Line{RecordID: rec.RecordID, Error: recordError(err)}
		}
		if e := b.save(ctx, in.BatchRef, i, lines[k]); e != nil {
			mu.Lock()
			saveErr = cmp.Or(saveErr, e)
			mu.Unlock()
		}
		activity.RecordHeartbeat(ctx, k)
	})
	if saveErr != nil {
		return ChunkOutput{}, saveErr
	}
	if err := ctx.Err(); err != nil {
		return ChunkOutput{}, err
	}
	return b.afterChunk(ctx, row, stop.Load())
}

// job is one record's enrichment, charged against the batch's reservation.
func (b *Batch) job(row *schema.Batch, input *batch.Input, rec batch.Record) enrich.Job {
	return enrich.Job{OrgID: row.OrgID, APIKeyID: row.APIKeyID, RequestID: "batch:" + row.ID + ":" + rec.RecordID,
		Service: row.Type, RecordID: rec.RecordID, Record: rec.Fields,
		Options: enrich.Options{Threshold: input.Options.Threshold, DefaultRegion: input.Options.DefaultRegion, Providers: input.Options.Providers},
		Debit: func(ctx context.Context, c credits.Charge) (credits.Result, error) {
			provider := c.Step[strings.IndexByte(c.Step, '.')+1:]
			_, err := batch.Charge(ctx, b.DB, row.OrgID, row.ID, rec.RecordID, c.Step, c.Service, provider, c.Amount)
			return credits.Result{}, err
		}}
}

// permanent marks errors that no retry can fix (a batch that does not exist) as such; any
// other error (Postgres or S3 away) is retried.
func permanent(err error) error {
	if apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.Invalid) {
		return temporal.NewNonRetryableApplicationError(err.Error(), string(apperr.CodeOf(err)), err)
	}
	return err
}

// recordError is what results.jsonl says about a failed record: client-safe text only.
func recordError(err error) string {
	if ae, ok := apperr.As(err); ok {
		return ae.Message
	}
	return "the record could not be processed"
}

func (b *Batch) save(ctx context.Context, ref BatchRef, seq int, l batch.Line) error {
	line, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return batch.SaveRecord(ctx, b.DB, &schema.BatchRecord{OrgID: ref.OrgID, BatchID: ref.BatchID, RecordID: l.RecordID,
		Seq: seq, Success: l.Success, CreditsUsed: l.CreditsUsed, Line: line})
}

// afterChunk writes results.jsonl as it stands (partial results are readable) and reports
// the progress.
func (b *Batch) afterChunk(ctx context.Context, row *schema.Batch, stop bool) (ChunkOutput, error) {
	if err := b.writeResults(ctx, row); err != nil {
		return ChunkOutput{}, err
	}
	row, err := batch.Get(ctx, b.DB, row.OrgID, row.ID)
	if err != nil {
		return ChunkOutput{}, err
	}
	p, err := batch.ProgressOf(ctx, b.DB, row)
	out := ChunkOutput{Progress: p, Stop: stop}
	if stop {
		out.Message = budgetMessage
	}
	return out, err
}

func (b *Batch) writeResults(ctx context.Context, row *schema.Batch) error {
	res, err := batch.Results(ctx, b.DB, row.OrgID, row.ID)
	if err != nil {
		return err
	}
	if err := b.Store.Put(ctx, batch.ObjectsAt(row.Prefix).Results, "application/x-ndjson", res); err != nil {
		return fmt.Errorf("write results.jsonl: %w", err)
	}
	return nil
}

// charged is what a record has been charged in this batch.
func (b *Batch) charged(ctx context.Context, row *schema.Batch, recordID string) (int64, error) {
	var used int64
	err := b.DB.NewSelect().Model((*schema.BatchCharge)(nil)).ColumnExpr("coalesce(sum(amount), 0)").
		Where("org_id = ? AND batch_id = ? AND record_id = ?", row.OrgID, row.ID, recordID).Scan(ctx, &used)
	return used, err
}

// ResearchTask is one research record for the workflow to run as a child.
type ResearchTask struct {
	Seq      int
	RecordID string
	Question string
	Subject  enrich.Record
	Budget   int64
}

// PendingResearch returns the research records of [From, To) not processed yet.
func (b *Batch) PendingResearch(ctx context.Context, in ChunkInput) ([]ResearchTask, error) {
	row, err := batch.Get(ctx, b.DB, in.OrgID, in.BatchID)
	if err != nil {
		return nil, permanent(err)
	}
	input, err := b.input(ctx, row)
	if err != nil {
		return nil, err
	}
	done, err := batch.Done(ctx, b.DB, in.OrgID, in.BatchID)
	if err != nil {
		return nil, err
	}
	budget := b.ResearchBudget
	if row.MaxCredits > 0 {
		budget = min(budget, row.MaxCredits)
	}
	out := []ResearchTask{}
	for i := in.From; i < min(in.To, len(input.Records)); i++ {
		r := input.Records[i]
		if !done[r.RecordID] {
			out = append(out, ResearchTask{Seq: i, RecordID: r.RecordID, Question: r.Question, Subject: r.Fields, Budget: budget})
		}
	}
	return out, nil
}

// ResearchDone is one research record's outcome.
type ResearchDone struct {
	Seq      int
	RecordID string
	Result   *enrich.ResearchResult // nil: it failed
	Error    string
	Refused  bool // the reservation could not cover a step
}

// SaveResearchInput are a chunk's research outcomes.
type SaveResearchInput struct {
	BatchRef
	Done []ResearchDone
}

// SaveResearch saves research records' results and rewrites results.jsonl.
func (b *Batch) SaveResearch(ctx context.Context, in SaveResearchInput) (ChunkOutput, error) {
	row, err := batch.Get(ctx, b.DB, in.OrgID, in.BatchID)
	if err != nil {
		return ChunkOutput{}, permanent(err)
	}
	stop := false
	for _, d := range in.Done {
		l := batch.Line{RecordID: d.RecordID, Error: d.Error}
		if d.Result != nil {
			l = batch.LineOf(d.RecordID, enrich.ResearchOutcome(*d.Result, b.now()))
		}
		if d.Refused {
			stop = true
		}
		if l.CreditsUsed, err = b.charged(ctx, row, d.RecordID); err != nil {
			return ChunkOutput{}, err
		}
		if err := b.save(ctx, in.BatchRef, d.Seq, l); err != nil {
			return ChunkOutput{}, err
		}
	}
	return b.afterChunk(ctx, row, stop)
}

// FinishInput ends a batch.
type FinishInput struct {
	BatchRef
	State   string
	Message string
}

// Finish writes results.jsonl, summary.json and costs.json, then settles the reservation
// (refunds what was not used) and records the final state. The objects come first so that a
// client that sees the final state can download every one of them; a retry writes them again.
func (b *Batch) Finish(ctx context.Context, in FinishInput) (batch.Summary, error) {
	now := b.now()
	row, err := batch.Get(ctx, b.DB, in.OrgID, in.BatchID)
	if err != nil {
		return batch.Summary{}, err
	}
	if !batch.Terminal(row.State) { // as batch.Finish will leave it
		row.State, row.Message, row.FinishedAt = in.State, in.Message, &now
	}
	sum, err := b.writeFinal(ctx, row, row.CreditsReserved-row.CreditsUsed)
	if err != nil {
		return sum, err
	}
	if _, _, err := batch.Finish(ctx, b.DB, in.OrgID, in.BatchID, in.State, in.Message, now); err != nil {
		return batch.Summary{}, err
	}
	return sum, nil
}

// writeFinal writes the finished batch's objects: its results, summary and costs.
func (b *Batch) writeFinal(ctx context.Context, row *schema.Batch, refunded int64) (batch.Summary, error) {
	p, err := batch.ProgressOf(ctx, b.DB, row)
	if err != nil {
		return batch.Summary{}, err
	}
	costs, err := batch.CostsOf(ctx, b.DB, row, refunded, b.now())
	if err != nil {
		return batch.Summary{}, err
	}
	sum := batch.Summary{BatchID: row.ID, Type: row.Type, State: row.State, Message: row.Message, Total: row.Total,
		Processed: p.Processed, Succeeded: p.Succeeded, Failed: p.Failed, Skipped: row.Total - p.Processed,
		CreditsReserved: row.CreditsReserved, CreditsUsed: row.CreditsUsed, CreditsRefunded: refunded,
		CreatedAt: row.CreatedAt, StartedAt: row.StartedAt, FinishedAt: row.FinishedAt}
	if err := b.writeResults(ctx, row); err != nil {
		return sum, err
	}
	objs := batch.ObjectsAt(row.Prefix)
	for key, v := range map[string]any{objs.Summary: sum, objs.Costs: costs} {
		body, _ := json.MarshalIndent(v, "", "  ")
		if err := b.Store.Put(ctx, key, "application/json", body); err != nil {
			return sum, fmt.Errorf("write %s: %w", key, err)
		}
	}
	return sum, nil
}

// Callback posts the summary to the batch's callback_url, signed with its secret.
func (b *Batch) Callback(ctx context.Context, in BatchRef) error {
	row, err := batch.Get(ctx, b.DB, in.OrgID, in.BatchID)
	if err != nil || row.CallbackURL == "" {
		return err
	}
	body, err := b.Store.Get(ctx, batch.ObjectsAt(row.Prefix).Summary)
	if err != nil {
		return err
	}
	err = batch.Notify(ctx, batch.CallbackClient(b.CallbackAllow, 10*time.Second), row.CallbackURL, row.CallbackSecret, body, b.now())
	if errors.Is(err, context.Canceled) {
		return err
	}
	if err != nil {
		activity.GetLogger(ctx).Warn("batch callback failed", "batch", row.ID, "err", err)
	}
	return err
}
