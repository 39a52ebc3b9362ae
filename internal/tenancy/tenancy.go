// Package tenancy owns orgs and their API keys. A key is shown once, at creation; only its
// SHA-256 hash and a short display prefix are stored.
package tenancy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/schema"
)

// KeysChannel is the Postgres NOTIFY channel that tells every API process to drop cached keys.
const KeysChannel = "lantern_api_keys"

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// CreateOrg creates an org with an empty credit balance.
func CreateOrg(ctx context.Context, db bun.IDB, name, slug string) (*schema.Org, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil, apperr.Field("name", "must be 1 to 200 characters")
	}
	if slug == "" {
		slug = Slugify(name)
	}
	if !slugRE.MatchString(slug) {
		return nil, apperr.Field("slug", "must be lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters")
	}
	org := &schema.Org{Name: name, Slug: slug}
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(org).On("CONFLICT (slug) DO NOTHING").Returning("*").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.Conflict, "an org with slug %q already exists", slug)
		}
		_, err = tx.NewInsert().Model(&schema.CreditBalance{OrgID: org.ID}).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return org, nil
}

// Slugify turns a display name into a slug: "Acme Corp." -> "acme-corp".
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 63 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// ListOrgs returns every org, oldest first. It is an operator's view (CLI), not an API one.
func ListOrgs(ctx context.Context, db bun.IDB) ([]schema.Org, error) {
	var orgs []schema.Org
	err := db.NewSelect().Model(&orgs).Order("created_at", "id").Scan(ctx)
	return orgs, err
}

// FindOrg finds an org by id or slug.
func FindOrg(ctx context.Context, db bun.IDB, idOrSlug string) (*schema.Org, error) {
	org := new(schema.Org)
	q := db.NewSelect().Model(org)
	if id, err := uuid.Parse(idOrSlug); err == nil {
		q = q.Where("id = ?", id)
	} else {
		q = q.Where("slug = ?", idOrSlug)
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, apperr.New(apperr.NotFound, "no org %q", idOrSlug)
		}
		return nil, err
	}
	return org, nil
}

// NewKey is a freshly created key: Secret is shown to the user once and never stored.
type NewKey struct {
	Key    schema.APIKey
	Secret string
}

// CreateKey creates an API key ltn_<env>_<32 random base62 characters> for an org.
func CreateKey(ctx context.Context, db bun.IDB, orgID uuid.UUID, name, env string) (*NewKey, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil, apperr.Field("name", "must be 1 to 200 characters")
	}
	secret := "ltn_" + env + "_" + randomBase62(32)
	hash := HashKey(secret)
	k := schema.APIKey{
		OrgID:      orgID,
		Name:       name,
		Prefix:     secret[:len("ltn_")+len(env)+1+6],
		Hash:       hash[:],
		RateLimits: map[string]int{},
	}
	if _, err := db.NewInsert().Model(&k).Returning("*").Exec(ctx); err != nil {
		return nil, fmt.Errorf("insert key: %w", err)
	}
	return &NewKey{Key: k, Secret: secret}, nil
}

// ListKeys lists an org's keys, newest first.
func ListKeys(ctx context.Context, db bun.IDB, orgID uuid.UUID) ([]schema.APIKey, error) {
	var keys []schema.APIKey
	err := db.NewSelect().Model(&keys).Where("org_id = ?", orgID).Order("created_at DESC").Scan(ctx)
	return keys, err
}

// RevokeKey revokes a key of an org and tells every API process to forget it at once.
func RevokeKey(ctx context.Context, db bun.IDB, orgID, keyID uuid.UUID) error {
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*schema.APIKey)(nil)).
			Set("revoked_at = now()").
			Where("org_id = ? AND id = ? AND revoked_at IS NULL", orgID, keyID).
			Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no active key %s in this org", keyID)
		}
		_, err = tx.ExecContext(ctx, "SELECT pg_notify(?, ?)", KeysChannel, keyID.String())
		return err
	})
}

// SetKeyLimits replaces a key's per-group rate-limit overrides (requests per minute).
func SetKeyLimits(ctx context.Context, db bun.IDB, orgID, keyID uuid.UUID, limits map[string]int) error {
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*schema.APIKey)(nil)).
			Set("rate_limits = ?", limits).
			Where("org_id = ? AND id = ?", orgID, keyID).
			Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no key %s in this org", keyID)
		}
		_, err = tx.ExecContext(ctx, "SELECT pg_notify(?, ?)", KeysChannel, keyID.String())
		return err
	})
}

// HashKey is the stored form of a key.
func HashKey(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randomBase62(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		for _, b := range buf {
			if b < 248 && len(out) < n { // 248 = 4*62: no modulo bias
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out)
}
