package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/lanternhq/lantern/api"
	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/objectstore"
	"github.com/lanternhq/lantern/schema"
	"github.com/lanternhq/lantern/worker"
)

// setup reads the config, sets up logging and opens Postgres, migrating it when configured to
// and refusing to run against a schema with pending migrations otherwise.
func setup(ctx context.Context, args []string) (*config.Config, *bun.DB, error) {
	cfg, err := config.Load(os.Getenv, args)
	if err != nil {
		return nil, nil, fmt.Errorf("configuration:\n%w", err)
	}
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.LogLevel]
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, opts)))
	} else {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, opts)))
	}
	db := schema.Open(cfg.DatabaseURL, cfg.DBMaxConns)
	if err := db.PingContext(ctx); err != nil {
		return nil, nil, fmt.Errorf("postgres (LANTERN_DATABASE_URL): %w", err)
	}
	if cfg.AutoMigrate {
		applied, err := schema.MigrateUp(ctx, db)
		if err != nil {
			return nil, nil, fmt.Errorf("migrate: %w", err)
		}
		for _, m := range applied {
			slog.Info("migration applied", "name", m)
		}
	}
	if n, err := schema.Pending(ctx, db); err != nil || n > 0 {
		return nil, nil, fmt.Errorf("database schema is not current (%d pending, %v): run `lantern migrate up` or set LANTERN_AUTO_MIGRATE=true", n, err)
	}
	return cfg, db, nil
}

// temporalClient connects to Temporal. The API uses a lazy client so that it starts, and
// says so on /readyz, while Temporal is down.
func temporalClient(cfg *config.Config, lazy bool) (client.Client, error) {
	opts := client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    tlog.NewStructuredLogger(slog.Default().With("component", "temporal")),
	}
	if cfg.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
	}
	if cfg.TemporalTLS || cfg.TemporalAPIKey != "" {
		opts.ConnectionOptions.TLS = tlsConfig()
	}
	if lazy {
		return client.NewLazyClient(opts)
	}
	var err error
	for attempt := 0; attempt < 30; attempt++ {
		var c client.Client
		if c, err = client.Dial(opts); err == nil {
			return c, nil
		}
		time.Sleep(time.Second)
	}
	return nil, fmt.Errorf("temporal at %s (LANTERN_TEMPORAL_ADDRESS): %w", cfg.TemporalAddress, err)
}

func objectStore(ctx context.Context, cfg *config.Config) (*objectstore.Store, error) {
	st, err := objectstore.New(objectstore.Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey,
		SecretKey: cfg.S3SecretKey, Bucket: cfg.S3Bucket, Region: cfg.S3Region, TLS: cfg.S3TLS})
	if err != nil {
		return nil, err
	}
	if err := st.EnsureBucket(ctx); err != nil {
		slog.Warn("S3 is not ready; /readyz will report it", "endpoint", cfg.S3Endpoint, "err", err)
	}
	return st, nil
}

// runServe runs the API, and with withWorker the Temporal worker too (lantern dev).
func runServe(ctx context.Context, args []string, withWorker bool) error {
	cfg, db, err := setup(ctx, args)
	if err != nil {
		return err
	}
	defer db.Close()
	tc, err := temporalClient(cfg, !withWorker)
	if err != nil {
		return err
	}
	defer tc.Close()
	store, err := objectStore(ctx, cfg)
	if err != nil {
		return err
	}
	eng, err := enrich.New(db, cfg.Enrich)
	if err != nil {
		return err
	}
	crmStore, err := newCRM(cfg, db)
	if err != nil {
		return err
	}
	srv := api.New(api.Deps{Config: cfg, DB: db, CRM: crmStore, Temporal: tc, Store: store, Enrich: eng})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() { srv.Listen(ctx) })
	if withWorker {
		wg.Go(func() {
			if err := worker.Run(ctx, cfg, tc, worker.Deps{DB: db, Enrich: eng, Store: store, CRM: crmStore}); err != nil {
				errs <- fmt.Errorf("worker: %w", err)
				cancel()
			}
		})
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (LANTERN_HTTP_ADDR): %w", cfg.HTTPAddr, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	wg.Go(func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- err
			cancel()
		}
	})
	slog.Info("lantern is up", "api", cfg.PublicURL, "docs", cfg.PublicURL+"/docs", "worker", withWorker)
	<-ctx.Done()
	shutdown, done := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer done()
	hs.Shutdown(shutdown) //nolint:errcheck
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func runWorker(ctx context.Context, args []string) error {
	cfg, db, err := setup(ctx, args)
	if err != nil {
		return err
	}
	defer db.Close()
	tc, err := temporalClient(cfg, false)
	if err != nil {
		return err
	}
	defer tc.Close()
	eng, err := enrich.New(db, cfg.Enrich)
	if err != nil {
		return err
	}
	store, err := objectStore(ctx, cfg)
	if err != nil {
		return err
	}
	crmStore, err := newCRM(cfg, db)
	if err != nil {
		return err
	}
	slog.Info("worker is up", "task_queue", cfg.TemporalTaskQueue, "temporal", cfg.TemporalAddress)
	return worker.Run(ctx, cfg, tc, worker.Deps{DB: db, Enrich: eng, Store: store, CRM: crmStore})
}
