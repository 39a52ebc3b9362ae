package enrich

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/schema"
)

// inputHash identifies what was asked: the service, the record and the options. json.Marshal
// sorts map keys, so equal inputs hash equally.
func inputHash(job Job) []byte {
	b, _ := json.Marshal(struct {
		Service string
		Record  Record
		Options Options
	}{job.Service, job.Record, job.Options})
	h := sha256.Sum256(b)
	return h[:]
}

// Cached returns the stored answer for a job with a record id, or nil; for jobs that do not
// run through Run (deep research is a workflow).
func (e *Engine) Cached(ctx context.Context, job Job) (*Outcome, error) {
	if job.RecordID == "" {
		return nil, nil
	}
	return e.cached(ctx, job, inputHash(job))
}

// Store keeps the answer of a job with a record id.
func (e *Engine) Store(ctx context.Context, job Job, out *Outcome) error {
	if job.RecordID == "" {
		return nil
	}
	return e.store(ctx, job, inputHash(job), out)
}

// cached returns the stored answer for the job, or nil. A cached answer costs nothing and
// tried no provider now, so it carries no attempts.
func (e *Engine) cached(ctx context.Context, job Job, key []byte) (*Outcome, error) {
	var row schema.EnrichCache
	err := e.DB.NewSelect().Model(&row).
		Where("org_id = ? AND service = ? AND record_id = ? AND input_hash = ? AND expires_at > ?",
			job.OrgID, job.Service, job.RecordID, key, e.now()).
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := &Outcome{}
	if err := json.Unmarshal(row.Response, out); err != nil {
		return nil, nil // an unreadable entry is a miss; the new answer replaces it
	}
	out.Service, out.Cached, out.CreditsUsed, out.Attempts = job.Service, true, 0, []Attempt{}
	return out, nil
}

func (e *Engine) store(ctx context.Context, job Job, key []byte, out *Outcome) error {
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	now := e.now()
	_, err = e.DB.NewInsert().Model(&schema.EnrichCache{
		OrgID: job.OrgID, Service: job.Service, RecordID: job.RecordID, InputHash: key,
		Response: b, CreatedAt: now, ExpiresAt: now.Add(e.CacheTTL),
	}).On("CONFLICT (org_id, service, record_id, input_hash) DO UPDATE").
		Set("response = EXCLUDED.response, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at").
		Exec(ctx)
	return err
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// PruneCache deletes expired answers of every org (maintenance, run by the retention workflow).
func PruneCache(ctx context.Context, db bun.IDB, now time.Time) (int64, error) {
	res, err := db.NewDelete().Model((*schema.EnrichCache)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
