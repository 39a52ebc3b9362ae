// Package worker runs Lantern's Temporal worker: it registers every workflow and activity on
// the task queue and makes sure the schedules exist.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/lanternhq/lantern/activities"
	"github.com/lanternhq/lantern/internal/batch"
	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/convert"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/objectstore"
	"github.com/lanternhq/lantern/internal/routing"
	"github.com/lanternhq/lantern/workflows"
)

// Deps are the clients the activities use.
type Deps struct {
	DB     *bun.DB
	Enrich *enrich.Engine
	Store  *objectstore.Store // batch inputs and results
	// CRM is the CRM store conversions and merges run on (LANTERN_CRM): the local store, or the
	// Salesforce adapter, which must also implement crm.Converter; nil: the local store over DB.
	CRM crm.Store
}

// New returns a worker with every workflow and activity registered; Run starts it.
func New(cfg *config.Config, c client.Client, d Deps) sdkworker.Worker {
	w := sdkworker.New(c, cfg.TemporalTaskQueue, sdkworker.Options{})
	Register(w, cfg, d)
	return w
}

// Register adds Lantern's workflows and activities to any registry (a worker, a test env).
func Register(r sdkworker.Registry, cfg *config.Config, d Deps) {
	r.RegisterWorkflow(workflows.RetentionWorkflow)
	r.RegisterActivity(&activities.Retention{DB: d.DB, DefaultDays: cfg.LogRetentionDays, MergeUndo: cfg.MergeUndo()})
	r.RegisterWorkflow(workflows.ResearchWorkflow)
	r.RegisterActivity(&activities.Research{Engine: d.Enrich})
	r.RegisterWorkflow(workflows.BatchWorkflow)
	r.RegisterActivity(&activities.Batch{DB: d.DB, Store: d.Store, Engine: d.Enrich, Concurrency: cfg.BatchConcurrency,
		Retry: batch.Retry{Attempts: 3, Backoff: 200 * time.Millisecond}, ResearchBudget: cfg.Enrich.ResearchBudget,
		CallbackAllow: cfg.Enrich.FetchAllow})
	r.RegisterWorkflow(workflows.ConvertLeadWorkflow)
	r.RegisterActivity(&activities.Convert{Service: convertService(cfg, d)})
}

// convertService is the conversion domain over the worker's CRM store.
func convertService(cfg *config.Config, d Deps) *convert.Service {
	store := d.CRM
	if store == nil {
		store = &crm.Local{DB: d.DB, Region: cfg.Enrich.DefaultRegion}
	}
	svc := &convert.Service{DB: d.DB, Routing: &routing.Service{DB: d.DB, CRM: store}, UndoWindow: cfg.MergeUndo()}
	if local, ok := store.(*crm.Local); ok {
		svc.Local = local // one Postgres transaction per step
		return svc
	}
	if _, ok := store.(crm.Converter); !ok {
		slog.Warn("the CRM store cannot convert leads or merge records: conversions will be refused", "store", fmt.Sprintf("%T", store))
	}
	svc.CRM, svc.Region = store, cfg.Enrich.DefaultRegion
	return svc
}

// Run ensures the schedules, then runs the worker until ctx ends.
func Run(ctx context.Context, cfg *config.Config, c client.Client, d Deps) error {
	if err := EnsureSchedules(ctx, cfg, c); err != nil {
		return err
	}
	w := New(cfg, c, d)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	<-ctx.Done()
	w.Stop()
	return nil
}

// EnsureSchedules creates the retention schedule, or brings an existing one in line with the
// configuration (cron, time zone, task queue), so restarting with new settings applies them.
func EnsureSchedules(ctx context.Context, cfg *config.Config, c client.Client) error {
	id := workflows.RetentionScheduleID(cfg.TemporalTaskQueue)
	spec := client.ScheduleSpec{
		CronExpressions: []string{cfg.RetentionCron},
		TimeZoneName:    cfg.RetentionTimezone.String(),
	}
	action := &client.ScheduleWorkflowAction{
		ID:        id,
		Workflow:  workflows.RetentionWorkflow,
		Args:      []any{workflows.RetentionInput{}},
		TaskQueue: cfg.TemporalTaskQueue,
	}
	sc := c.ScheduleClient()
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID:      id,
		Spec:    spec,
		Action:  action,
		Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		Note:    "Daily cleanup of expired route logs (Lantern)",
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", id, err)
	}
	h := sc.GetHandle(ctx, id)
	return h.Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec = &spec
			s.Action = action
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
}
