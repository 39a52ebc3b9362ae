// Package idempotency makes a write safe to repeat. The first request with a key runs and its
// response is stored; a repeat with the same key and the same request gets the stored response;
// a repeat with a different request, or while the first is still running, is a conflict.
//
// Keys are scoped by org and operation, so two endpoints (or two orgs) never share a key.
package idempotency

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/schema"
)

// Request names one idempotent call.
type Request struct {
	OrgID uuid.UUID
	Scope string // the operation, e.g. "logs.retention.put"
	Key   string // the client's idempotency key
	Body  []byte // what identifies the request's content (canonical JSON of its input)
}

// Response is what a call produced and what a repeat gets back.
type Response struct {
	Status int
	Body   json.RawMessage
}

// Store keeps idempotency records in Postgres.
type Store struct {
	db  bun.IDB
	ttl time.Duration
	now func() time.Time
}

// New returns a Store whose records expire after ttl.
func New(db bun.IDB, ttl time.Duration, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, ttl: ttl, now: now}
}

// Do runs fn once per (org, scope, key). It returns fn's response, or on a repeat the stored
// one with replayed set. When fn fails, nothing is stored, so the client may retry with the
// same key. A key may be at most 255 characters.
func (s *Store) Do(ctx context.Context, r Request, fn func(ctx context.Context) (Response, error)) (resp Response, replayed bool, err error) {
	if r.Key == "" {
		resp, err = fn(ctx)
		return resp, false, err
	}
	if len(r.Key) > 255 {
		return Response{}, false, apperr.Field("Idempotency-Key", "must be at most 255 characters")
	}
	hash := sha256.Sum256(r.Body)
	now := s.now()
	rec := schema.IdempotencyRecord{
		OrgID: r.OrgID, Scope: r.Scope, Key: r.Key, RequestHash: hash[:],
		State: "running", CreatedAt: now, ExpiresAt: now.Add(s.ttl),
	}
	// Claim the key. An expired record is taken over as if it were absent.
	res, err := s.db.NewInsert().Model(&rec).
		On("CONFLICT (org_id, scope, key) DO UPDATE").
		Set("request_hash = EXCLUDED.request_hash, state = EXCLUDED.state, status = NULL, response = NULL").
		Set("created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at").
		Where("idempotency_record.expires_at <= ?", now).
		Exec(ctx)
	if err != nil {
		return Response{}, false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.replay(ctx, r, hash[:])
	}

	resp, err = fn(ctx)
	if err != nil {
		// Release the claim so that the client can retry with the same key.
		if _, derr := s.db.NewDelete().Model((*schema.IdempotencyRecord)(nil)).
			Where("org_id = ? AND scope = ? AND key = ? AND state = 'running'", r.OrgID, r.Scope, r.Key).
			Exec(context.WithoutCancel(ctx)); derr != nil {
			return Response{}, false, errors.Join(err, derr)
		}
		return Response{}, false, err
	}
	_, err = s.db.NewUpdate().Model((*schema.IdempotencyRecord)(nil)).
		Set("state = 'done', status = ?, response = ?", resp.Status, resp.Body).
		Where("org_id = ? AND scope = ? AND key = ?", r.OrgID, r.Scope, r.Key).
		Exec(context.WithoutCancel(ctx))
	return resp, false, err
}

func (s *Store) replay(ctx context.Context, r Request, hash []byte) (Response, bool, error) {
	var rec schema.IdempotencyRecord
	err := s.db.NewSelect().Model(&rec).
		Where("org_id = ? AND scope = ? AND key = ?", r.OrgID, r.Scope, r.Key).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		// The first call failed and released the key between our insert and this read.
		return Response{}, false, apperr.New(apperr.Conflict, "a request with this Idempotency-Key just failed; retry it")
	}
	if err != nil {
		return Response{}, false, err
	}
	if string(rec.RequestHash) != string(hash) {
		return Response{}, false, apperr.New(apperr.Conflict, "this Idempotency-Key was used for a different request")
	}
	if rec.State != "done" {
		return Response{}, false, apperr.New(apperr.Conflict, "a request with this Idempotency-Key is still in progress")
	}
	return Response{Status: rec.Status, Body: rec.Response}, true, nil
}

// Prune deletes expired records of every org (maintenance, run by the retention workflow).
func Prune(ctx context.Context, db bun.IDB, now time.Time) (int64, error) {
	res, err := db.NewDelete().Model((*schema.IdempotencyRecord)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
