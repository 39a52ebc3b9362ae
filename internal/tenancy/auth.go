package tenancy

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/schema"
)

// Principal is who a request acts for: an org, through one of its keys.
type Principal struct {
	OrgID      uuid.UUID
	KeyID      uuid.UUID
	KeyPrefix  string
	RateLimits map[string]int // per-group overrides; absent means the default
}

// Authenticator verifies bearer keys. Verified keys are cached for a short TTL to keep Postgres
// off the hot path; a revocation anywhere reaches every process through LISTEN/NOTIFY and
// empties its cache, and the rate limiter re-checks revocation on every request (see
// ratelimit.Limiter.Take), so a revoked key fails at once even while cached.
type Authenticator struct {
	db  *bun.DB
	ttl time.Duration
	now func() time.Time

	mu    sync.RWMutex
	cache map[[32]byte]cached
}

type cached struct {
	p       Principal
	expires time.Time
}

// NewAuthenticator returns an Authenticator; call Listen to receive invalidations.
func NewAuthenticator(db *bun.DB, ttl time.Duration) *Authenticator {
	return &Authenticator{db: db, ttl: ttl, now: time.Now, cache: map[[32]byte]cached{}}
}

var errBadKey = apperr.New(apperr.Unauthorized, "invalid or revoked API key")

// Authenticate returns the principal for a bearer token.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, "ltn_") || len(token) > 128 {
		return Principal{}, errBadKey
	}
	hash := HashKey(token)
	if a.ttl > 0 {
		a.mu.RLock()
		c, ok := a.cache[hash]
		a.mu.RUnlock()
		if ok && a.now().Before(c.expires) {
			return c.p, nil
		}
	}
	var k schema.APIKey
	err := a.db.NewSelect().Model(&k).
		Column("id", "org_id", "prefix", "hash", "rate_limits").
		Where("hash = ? AND revoked_at IS NULL", hash[:]).
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, errBadKey
	}
	if err != nil {
		return Principal{}, apperr.Wrap(apperr.Unavailable, err, "cannot verify the API key right now")
	}
	// The index lookup already matched; the constant-time compare keeps that true by construction.
	if subtle.ConstantTimeCompare(k.Hash, hash[:]) != 1 {
		return Principal{}, errBadKey
	}
	p := Principal{OrgID: k.OrgID, KeyID: k.ID, KeyPrefix: k.Prefix, RateLimits: k.RateLimits}
	if a.ttl > 0 {
		a.mu.Lock()
		a.cache[hash] = cached{p: p, expires: a.now().Add(a.ttl)}
		a.mu.Unlock()
	}
	return p, nil
}

// Forget empties the cache.
func (a *Authenticator) Forget() {
	a.mu.Lock()
	clear(a.cache)
	a.mu.Unlock()
}

// Listen empties the cache whenever any process changes a key, until ctx ends. It also empties
// it whenever the listening connection is re-established, since notifications may have been
// missed meanwhile. onChange runs on each of those too (the rate limiter drops its reserves).
func (a *Authenticator) Listen(ctx context.Context, onChange ...func()) {
	forget := func() {
		a.Forget()
		for _, f := range onChange {
			f()
		}
	}
	for ctx.Err() == nil {
		ln := pgdriver.NewListener(a.db)
		if err := ln.Listen(ctx, KeysChannel); err != nil {
			slog.Warn("listen for key changes", "err", err)
			ln.Close()
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		forget()
		ch := ln.Channel(pgdriver.WithChannelSize(64))
	recv:
		for {
			select {
			case <-ctx.Done():
				break recv
			case _, ok := <-ch:
				if !ok {
					break recv
				}
				forget()
			}
		}
		ln.Close()
	}
}
