package routelog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/schema"
)

// Retention bounds, from the seed.
const (
	DefaultRetentionDays = 365
	MaxRetentionDays     = 1095
)

// Retention is an org's log retention policy.
type Retention struct {
	Days        int       `json:"retention_days" doc:"Days route logs are kept"`
	AutoCleanup bool      `json:"auto_cleanup" doc:"Whether the daily cleanup removes expired logs"`
	IsDefault   bool      `json:"is_default" doc:"True when the org has not set a policy and the default applies"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

// GetRetention returns an org's policy, or the default when it has none.
func GetRetention(ctx context.Context, db bun.IDB, orgID uuid.UUID, defaultDays int) (Retention, error) {
	var s schema.LogRetentionSetting
	err := db.NewSelect().Model(&s).Where("org_id = ?", orgID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Retention{Days: defaultDays, AutoCleanup: true, IsDefault: true}, nil
	}
	if err != nil {
		return Retention{}, err
	}
	return Retention{Days: s.RetentionDays, AutoCleanup: s.AutoCleanup, UpdatedAt: s.UpdatedAt}, nil
}

// SetRetention stores an org's policy.
func SetRetention(ctx context.Context, db bun.IDB, orgID uuid.UUID, days int, autoCleanup bool) (Retention, error) {
	if days < 1 || days > MaxRetentionDays {
		return Retention{}, apperr.Field("body.retention_days", "must be between 1 and %d", MaxRetentionDays)
	}
	s := schema.LogRetentionSetting{OrgID: orgID, RetentionDays: days, AutoCleanup: autoCleanup}
	_, err := db.NewInsert().Model(&s).
		On("CONFLICT (org_id) DO UPDATE").
		Set("retention_days = EXCLUDED.retention_days, auto_cleanup = EXCLUDED.auto_cleanup, updated_at = now()").
		Returning("updated_at").Exec(ctx)
	if err != nil {
		return Retention{}, err
	}
	return Retention{Days: s.RetentionDays, AutoCleanup: s.AutoCleanup, UpdatedAt: s.UpdatedAt}, nil
}

// Policy is one org's retention as the cleanup applies it.
type Policy struct {
	OrgID       uuid.UUID
	Days        int
	AutoCleanup bool
}

// Cutoff is the instant before which an org's entries have expired.
func (p Policy) Cutoff(now time.Time) time.Time {
	return now.Add(-time.Duration(p.Days) * 24 * time.Hour)
}

// Policies lists the policy of every org (the cleanup's view, across orgs).
func Policies(ctx context.Context, db bun.IDB, defaultDays int) ([]Policy, error) {
	var out []Policy
	err := db.NewRaw(`
SELECT o.id AS org_id, coalesce(s.retention_days, ?) AS days, coalesce(s.auto_cleanup, true) AS auto_cleanup
FROM orgs AS o LEFT JOIN log_retention_settings AS s ON s.org_id = o.id
ORDER BY o.id`, defaultDays).Scan(ctx, &out)
	return out, err
}

// DeleteExpired deletes up to batch entries of one org older than cutoff, and up to batch of
// their dedup keys, and returns how many of each it deleted. Call it until both are below batch.
func DeleteExpired(ctx context.Context, db bun.IDB, orgID uuid.UUID, cutoff time.Time, batch int) (entries, keys int64, err error) {
	res, err := db.ExecContext(ctx, `
DELETE FROM route_logs
WHERE (org_id, "timestamp", id) IN (
    SELECT org_id, "timestamp", id FROM route_logs
    WHERE org_id = ? AND "timestamp" < ?
    ORDER BY "timestamp" LIMIT ?)`, orgID, cutoff, batch)
	if err != nil {
		return 0, 0, err
	}
	entries, _ = res.RowsAffected()
	res, err = db.ExecContext(ctx, `
DELETE FROM route_log_keys
WHERE (org_id, idempotency_key, action, object_id) IN (
    SELECT org_id, idempotency_key, action, object_id FROM route_log_keys
    WHERE org_id = ? AND "timestamp" < ? LIMIT ?)`, orgID, cutoff, batch)
	if err != nil {
		return entries, 0, err
	}
	keys, _ = res.RowsAffected()
	return entries, keys, nil
}

// Partition is one month of route_logs: [From, To).
type Partition struct {
	Name     string
	From, To time.Time
}

// dropGrace is how old a partition's end must be before it may be dropped.
const dropGrace = 31 * 24 * time.Hour

var partitionName = regexp.MustCompile(`^route_logs_p(\d{4})_(\d{2})$`)

// Partitions lists route_logs' month partitions, oldest first.
func Partitions(ctx context.Context, db bun.IDB) ([]Partition, error) {
	var names []string
	err := db.NewRaw(`
SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = 'route_logs'::regclass ORDER BY c.relname`).Scan(ctx, &names)
	if err != nil {
		return nil, err
	}
	var out []Partition
	for _, n := range names {
		m := partitionName.FindStringSubmatch(n)
		if m == nil {
			continue // not ours; never touch it
		}
		var y, mo int
		fmt.Sscan(m[1], &y)
		fmt.Sscan(m[2], &mo)
		from := time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, time.UTC)
		out = append(out, Partition{Name: n, From: from, To: from.AddDate(0, 1, 0)})
	}
	return out, nil
}

// DropPartitionIfExpired drops p when every entry in it has expired under its org's policy,
// and reports whether it did. It locks the partition first, so no entry can arrive between the
// check and the drop; an org with auto cleanup off keeps its partitions.
func DropPartitionIfExpired(ctx context.Context, db bun.IDB, p Partition, now time.Time, defaultDays int) (bool, error) {
	if !partitionName.MatchString(p.Name) {
		return false, fmt.Errorf("not a route_logs partition: %q", p.Name)
	}
	// Leave the last month or so alone: writers are busy there, and an org's short retention is
	// served by row deletes meanwhile. Dropping is the cheap path for old months, not the only one.
	if !p.To.Before(now.Add(-dropGrace)) {
		return false, nil
	}
	dropped := false
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "LOCK TABLE ? IN ACCESS EXCLUSIVE MODE", bun.Ident(p.Name)); err != nil {
			return err
		}
		var live bool
		err := tx.NewRaw(`
SELECT EXISTS (
    SELECT 1 FROM ? AS r LEFT JOIN log_retention_settings AS s ON s.org_id = r.org_id
    WHERE NOT coalesce(s.auto_cleanup, true)
       OR r."timestamp" >= ?::timestamptz - make_interval(days => coalesce(s.retention_days, ?)))`,
			bun.Ident(p.Name), now, defaultDays).Scan(ctx, &live)
		if err != nil || live {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DROP TABLE ?", bun.Ident(p.Name)); err != nil {
			return err
		}
		dropped = true
		return nil
	})
	return dropped, err
}
