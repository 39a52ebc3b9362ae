// Package activities holds every side effect a workflow needs, as thin methods over the domain
// packages. Each struct carries its dependencies; workflows call its methods through a nil
// pointer (var a *activities.Retention), and the worker registers a real one.
package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"go.temporal.io/sdk/activity"

	"github.com/lanternhq/lantern/internal/convert"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/idempotency"
	"github.com/lanternhq/lantern/internal/ratelimit"
	"github.com/lanternhq/lantern/internal/routelog"
)

// Retention cleans up expired route logs and other expiring rows.
type Retention struct {
	DB          *bun.DB
	DefaultDays int           // retention of orgs that set none
	MergeUndo   time.Duration // merges older than this are pruned (0: convert.DefaultUndoWindow)
}

// EnsurePartitions creates the partitions for this month and the next two; it returns their names.
func (r *Retention) EnsurePartitions(ctx context.Context, now time.Time) ([]string, error) {
	var names []string
	for m := 0; m < 3; m++ {
		month := time.Date(now.UTC().Year(), now.UTC().Month()+time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		if err := routelog.EnsurePartition(ctx, r.DB, month); err != nil {
			return names, err
		}
		names = append(names, fmt.Sprintf("route_logs_p%04d_%02d", month.Year(), month.Month()))
	}
	return names, nil
}

// DropExpiredPartitions drops every month partition whose entries have all expired.
func (r *Retention) DropExpiredPartitions(ctx context.Context, now time.Time) ([]string, error) {
	parts, err := routelog.Partitions(ctx, r.DB)
	if err != nil {
		return nil, err
	}
	dropped := []string{}
	for _, p := range parts {
		ok, err := routelog.DropPartitionIfExpired(ctx, r.DB, p, now, r.DefaultDays)
		if err != nil {
			return dropped, err
		}
		if ok {
			dropped = append(dropped, p.Name)
		}
		activity.RecordHeartbeat(ctx, p.Name)
	}
	return dropped, nil
}

// PurgeInput is the instant retention is measured from and the delete batch size.
type PurgeInput struct {
	Now   time.Time
	Batch int
}

// PurgeResult counts what a purge removed.
type PurgeResult struct {
	OrgsChecked    int
	EntriesDeleted int64
	KeysDeleted    int64
}

// purgeProgress is the heartbeat: a retried attempt resumes after the last finished org.
type purgeProgress struct {
	NextOrg int
	PurgeResult
}

// PurgeExpiredLogs deletes each org's entries older than its retention, in batches.
func (r *Retention) PurgeExpiredLogs(ctx context.Context, in PurgeInput) (PurgeResult, error) {
	policies, err := routelog.Policies(ctx, r.DB, r.DefaultDays)
	if err != nil {
		return PurgeResult{}, err
	}
	var p purgeProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
			p = purgeProgress{}
		}
	}
	for ; p.NextOrg < len(policies); p.NextOrg++ {
		pol := policies[p.NextOrg]
		if pol.AutoCleanup {
			for {
				entries, keys, err := routelog.DeleteExpired(ctx, r.DB, pol.OrgID, pol.Cutoff(in.Now), in.Batch)
				if err != nil {
					return p.PurgeResult, err
				}
				p.EntriesDeleted += entries
				p.KeysDeleted += keys
				activity.RecordHeartbeat(ctx, p)
				if entries < int64(in.Batch) && keys < int64(in.Batch) {
					break
				}
			}
		}
		p.OrgsChecked++
		activity.RecordHeartbeat(ctx, purgeProgress{NextOrg: p.NextOrg + 1, PurgeResult: p.PurgeResult})
	}
	return p.PurgeResult, nil
}

// HousekeepingResult counts other expired rows removed.
type HousekeepingResult struct {
	IdempotencyPruned int64
	RateLimitsPruned  int64
	EnrichCachePruned int64
	RecycleBinPruned  int64 // merged-away records past the undo window
	MergesPruned      int64 // merge journal rows past the undo window
}

// PruneHousekeeping removes expired idempotency records, stale rate-limit counters, expired
// enrichment answers, and merges that can no longer be undone.
func (r *Retention) PruneHousekeeping(ctx context.Context, now time.Time) (HousekeepingResult, error) {
	var res HousekeepingResult
	var err error
	if res.IdempotencyPruned, err = idempotency.Prune(ctx, r.DB, now); err != nil {
		return res, err
	}
	if res.RateLimitsPruned, err = ratelimit.Prune(ctx, r.DB, now); err != nil {
		return res, err
	}
	if res.EnrichCachePruned, err = enrich.PruneCache(ctx, r.DB, now); err != nil {
		return res, err
	}
	undo := r.MergeUndo
	if undo <= 0 {
		undo = convert.DefaultUndoWindow
	}
	res.RecycleBinPruned, res.MergesPruned, err = convert.PruneMerges(ctx, r.DB, now.Add(-undo))
	return res, err
}
