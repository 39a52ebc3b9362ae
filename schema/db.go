package schema

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// MigrationFS is the embedded migrations folder.
func MigrationFS() fs.FS { return migrationFiles }

// Open connects to Postgres. It does not check the connection; Ping does.
func Open(dsn string, maxConns int) *bun.DB {
	sqldb := sql.OpenDB(pgdriver.NewConnector(
		pgdriver.WithDSN(dsn),
		pgdriver.WithApplicationName("lantern"),
		pgdriver.WithTimeout(10*time.Second),
	))
	sqldb.SetMaxOpenConns(maxConns)
	sqldb.SetMaxIdleConns(maxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	return bun.NewDB(sqldb, pgdialect.New())
}

// Migrations returns the embedded SQL migrations.
func Migrations() (*migrate.Migrations, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	m := migrate.NewMigrations()
	if err := m.Discover(sub); err != nil {
		return nil, fmt.Errorf("discover migrations: %w", err)
	}
	return m, nil
}

// migrationLock is the advisory-lock key every migrating process takes, so that two processes
// starting together wait for each other instead of failing or applying a migration twice.
const migrationLock = 7_231_004

// withMigrator runs fn with a migrator while holding the session advisory lock on one connection.
func withMigrator(ctx context.Context, db *bun.DB, fn func(*migrate.Migrator) error) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", migrationLock); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", migrationLock) //nolint:errcheck
	m := migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("init migrations table: %w", err)
	}
	return fn(m)
}

// MigrateUp applies every pending migration and returns the names it applied.
func MigrateUp(ctx context.Context, db *bun.DB) ([]string, error) {
	var applied []string
	err := withMigrator(ctx, db, func(m *migrate.Migrator) error {
		g, err := m.Migrate(ctx)
		if err != nil {
			return err
		}
		for _, mg := range g.Migrations {
			applied = append(applied, mg.String())
		}
		return nil
	})
	return applied, err
}

// MigrateDown rolls back the last group of migrations and returns the names it rolled back.
func MigrateDown(ctx context.Context, db *bun.DB) ([]string, error) {
	var rolled []string
	err := withMigrator(ctx, db, func(m *migrate.Migrator) error {
		g, err := m.Rollback(ctx)
		if err != nil {
			return err
		}
		for _, mg := range g.Migrations {
			rolled = append(rolled, mg.String())
		}
		return nil
	})
	return rolled, err
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Status lists every known migration with its state.
func Status(ctx context.Context, db *bun.DB) ([]MigrationStatus, error) {
	var out []MigrationStatus
	err := withMigrator(ctx, db, func(m *migrate.Migrator) error {
		ms, err := m.MigrationsWithStatus(ctx)
		if err != nil {
			return err
		}
		for _, mg := range ms {
			out = append(out, MigrationStatus{Name: mg.String(), Applied: mg.IsApplied(), AppliedAt: mg.MigratedAt})
		}
		return nil
	})
	return out, err
}

// Pending reports how many migrations are not applied, for /readyz and start-up checks.
func Pending(ctx context.Context, db *bun.DB) (int, error) {
	ms, err := Migrations()
	if err != nil {
		return 0, err
	}
	st, err := migrate.NewMigrator(db, ms).MigrationsWithStatus(ctx)
	if err != nil {
		return 0, err
	}
	return len(st.Unapplied()), nil
}
