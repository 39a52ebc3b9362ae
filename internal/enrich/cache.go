package enrich

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/coalesce"

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
	return e.store(ctx, job, inputHash(job), out, true)
}

// cacheScope is what one batched cache statement covers: an org's answers of one service.
type cacheScope struct {
	org     uuid.UUID
	service string
}

// cacheKey is one answer within a scope.
type cacheKey struct {
	recordID string
	hash     string // the input hash, as a string so the key is comparable
}

type cacheEntry struct {
	cacheKey
	response []byte
}

// cache reads and writes enrichment answers. Concurrent reads (and writes) of one org's
// service share one statement: under load every request would otherwise pay two round trips
// of its own.
type cache struct {
	// pending are answers on their way to Postgres, so this process reads its own writes.
	mu      sync.Mutex
	pending map[cacheScope]map[cacheKey]pendingEntry
	seq     uint64

	ttl    time.Duration
	now    func() time.Time
	read   *schema.Stmt
	write  *schema.Stmt
	reads  *coalesce.Coalescer[cacheScope, cacheKey, []byte]
	writes *coalesce.Coalescer[cacheScope, cacheEntry, struct{}]
}

// readSQL looks up a batch of keys, one primary-key lookup per key. The OFFSET 0 keeps the
// planner from flattening the lateral subquery into a join, which, before the table has
// statistics, it plans as a scan of every answer of the org.
const readSQL = `
SELECT c.record_id, c.input_hash, c.response
FROM unnest($1::text[], $2::bytea[]) AS k (record_id, input_hash)
CROSS JOIN LATERAL (
    SELECT record_id, input_hash, response FROM enrich_cache
    WHERE org_id = $3 AND service = $4 AND record_id = k.record_id AND input_hash = k.input_hash AND expires_at > $5
    OFFSET 0
) AS c`

// writeSQL stores a batch of answers, replacing older ones of the same keys.
const writeSQL = `
INSERT INTO enrich_cache (org_id, service, record_id, input_hash, response, created_at, expires_at)
SELECT $1, $2, k.record_id, k.input_hash, k.response, $3, $4
FROM unnest($5::text[], $6::bytea[], $7::bytea[]) AS k (record_id, input_hash, response)
ON CONFLICT (org_id, service, record_id, input_hash) DO UPDATE
SET response = EXCLUDED.response, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`

func newCache(db *bun.DB, ttl time.Duration, now func() time.Time) *cache {
	c := &cache{ttl: ttl, now: now, read: schema.NewStmt(db, readSQL), write: schema.NewStmt(db, writeSQL),
		pending: map[cacheScope]map[cacheKey]pendingEntry{}}
	// One statement of each kind at a time: callers that arrive meanwhile wait for the next one
	// and share it. Pipelining four at a time made batches of 2-3 callers, and the statements'
	// own cost then took 40% of a 2-core machine at 32 concurrent clients (BenchmarkEnrichPhone:
	// 0.18 of the bare handler's throughput pipelined, 0.23-0.24 one at a time).
	c.reads = coalesce.New(c.readBatch, 10*time.Second)
	c.writes = coalesce.New(c.writeBatch, 10*time.Second)
	return c
}

func (c *cache) readBatch(ctx context.Context, s cacheScope, keys []cacheKey) ([][]byte, error) {
	ids, hashes := make([]string, len(keys)), make([][]byte, len(keys))
	for i, k := range keys {
		ids[i], hashes[i] = k.recordID, []byte(k.hash)
	}
	rows, err := c.read.QueryContext(ctx, schema.TextArray(ids), schema.ByteaArray(hashes), s.org, s.service, c.now())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[cacheKey][]byte, len(keys))
	for rows.Next() {
		var id string
		var hash, resp []byte
		if err := rows.Scan(&id, &hash, &resp); err != nil {
			return nil, err
		}
		found[cacheKey{id, string(hash)}] = resp
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = found[k]
	}
	return out, nil
}

func (c *cache) writeBatch(ctx context.Context, s cacheScope, es []cacheEntry) ([]struct{}, error) {
	// One row per key: an upsert may not touch the same row twice; the last answer wins.
	last := map[cacheKey]int{}
	for i, e := range es {
		last[e.cacheKey] = i
	}
	var ids []string
	var hashes, resps [][]byte
	for i, e := range es {
		if last[e.cacheKey] == i {
			ids, hashes, resps = append(ids, e.recordID), append(hashes, []byte(e.hash)), append(resps, e.response)
		}
	}
	now := c.now()
	_, err := c.write.ExecContext(ctx, s.org, s.service, now, now.Add(c.ttl),
		schema.TextArray(ids), schema.ByteaArray(hashes), schema.ByteaArray(resps))
	return make([]struct{}, len(es)), err
}

type pendingEntry struct {
	seq      uint64
	response []byte
}

// lookup finds an answer: one on its way to Postgres, else the stored one.
func (c *cache) lookup(ctx context.Context, s cacheScope, k cacheKey) ([]byte, error) {
	c.mu.Lock()
	p, ok := c.pending[s][k]
	c.mu.Unlock()
	if ok {
		return p.response, nil
	}
	return c.reads.Do(ctx, s, k)
}

// save writes an answer. With wait false the request goes on without waiting for Postgres:
// the answer is a cache entry, losing one is harmless, and this process serves it from memory
// until it is written. (Another process may miss it for those few milliseconds.)
func (c *cache) save(ctx context.Context, s cacheScope, e cacheEntry, wait bool) error {
	if wait {
		_, err := c.writes.Do(ctx, s, e)
		return err
	}
	c.mu.Lock()
	if c.pending[s] == nil {
		c.pending[s] = map[cacheKey]pendingEntry{}
	}
	c.seq++
	seq := c.seq
	c.pending[s][e.cacheKey] = pendingEntry{seq, e.response}
	c.mu.Unlock()
	go func() {
		if _, err := c.writes.Do(context.WithoutCancel(ctx), s, e); err != nil {
			slog.Warn("enrichment cache write failed", "org", s.org, "service", s.service, "err", err)
		}
		c.mu.Lock()
		if cur, ok := c.pending[s][e.cacheKey]; ok && cur.seq == seq { // not replaced by a newer answer meanwhile
			delete(c.pending[s], e.cacheKey)
			if len(c.pending[s]) == 0 {
				delete(c.pending, s)
			}
		}
		c.mu.Unlock()
	}()
	return nil
}

// cached returns the stored answer for the job, or nil. A cached answer costs nothing and
// tried no provider now, so it carries no attempts.
func (e *Engine) cached(ctx context.Context, job Job, key []byte) (*Outcome, error) {
	b, err := e.cache().lookup(ctx, cacheScope{job.OrgID, job.Service}, cacheKey{job.RecordID, string(key)})
	if err != nil || b == nil {
		return nil, err
	}
	out := &Outcome{}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, nil // an unreadable entry is a miss; the new answer replaces it
	}
	out.Service, out.Cached, out.CreditsUsed, out.Attempts = job.Service, true, 0, []Attempt{}
	return out, nil
}

// store keeps a job's answer; with wait false it does not wait for Postgres (see save).
func (e *Engine) store(ctx context.Context, job Job, key []byte, out *Outcome, wait bool) error {
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return e.cache().save(ctx, cacheScope{job.OrgID, job.Service}, cacheEntry{cacheKey{job.RecordID, string(key)}, b}, wait)
}

// cache is the engine's cache, made on first use so that an Engine literal works too.
func (e *Engine) cache() *cache {
	e.cacheOnce.Do(func() { e.answers = newCache(e.DB, e.CacheTTL, e.now) })
	return e.answers
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
