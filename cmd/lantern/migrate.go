package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/schema"
)

// openDB opens Postgres for commands that do not serve: migrate and admin.
func openDB(ctx context.Context) (*config.Config, *bun.DB, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, nil, fmt.Errorf("configuration:\n%w", err)
	}
	db := schema.Open(cfg.DatabaseURL, 4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("postgres (LANTERN_DATABASE_URL): %w", err)
	}
	return cfg, db, nil
}

func runMigrate(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: lantern migrate up|down|status")
	}
	_, db, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "up":
		applied, err := schema.MigrateUp(ctx, db)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Println("database is up to date")
		}
		for _, m := range applied {
			fmt.Println("applied", m)
		}
	case "down":
		rolled, err := schema.MigrateDown(ctx, db)
		if err != nil {
			return err
		}
		if len(rolled) == 0 {
			fmt.Println("nothing to roll back")
		}
		for _, m := range rolled {
			fmt.Println("rolled back", m)
		}
	case "status":
		st, err := schema.Status(ctx, db)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MIGRATION\tSTATE\tAPPLIED AT")
		for _, m := range st {
			state, at := "pending", ""
			if m.Applied {
				state, at = "applied", m.AppliedAt.Format("2006-01-02 15:04:05 MST")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Name, state, at)
		}
		return tw.Flush()
	default:
		return fmt.Errorf("unknown migrate command %q: want up, down or status", args[0])
	}
	return nil
}
