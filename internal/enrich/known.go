package enrich

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/schema"
)

// RememberEmail keeps an address with the name it belongs to, so that later searches at the
// same domain can learn its pattern. Webmail addresses teach nothing about a company and are
// not kept; the caller decides what is worth keeping (inputs, verified finds).
func RememberEmail(ctx context.Context, db bun.IDB, org uuid.UUID, address, first, last, source string) error {
	address = strings.ToLower(strings.TrimSpace(address))
	at := strings.LastIndexByte(address, '@')
	if at <= 0 || first == "" || last == "" {
		return nil
	}
	_, err := db.NewInsert().Model(&schema.KnownEmail{
		OrgID: org, Email: address, Domain: address[at+1:], FirstName: first, LastName: last,
		Source: source, ObservedAt: time.Now().UTC(),
	}).On("CONFLICT (org_id, email) DO UPDATE").
		Set("first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, source = EXCLUDED.source, observed_at = EXCLUDED.observed_at").
		Exec(ctx)
	return err
}

// KnownEmails returns the addresses an org knows at a domain, newest first.
func KnownEmails(ctx context.Context, db bun.IDB, org uuid.UUID, domain string, limit int) ([]schema.KnownEmail, error) {
	var out []schema.KnownEmail
	err := db.NewSelect().Model(&out).
		Where("org_id = ? AND domain = ?", org, strings.ToLower(domain)).
		Order("observed_at DESC").Limit(limit).Scan(ctx)
	return out, err
}
