// Command lantern is Lantern's one binary:
//
//	lantern serve     run the HTTP API
//	lantern worker    run the Temporal worker
//	lantern dev       run both in one process
//	lantern migrate   up | down | status
//	lantern admin     orgs, keys and credits
//	lantern openapi   write the OpenAPI document
//	lantern config    list every LANTERN_* setting
//
// Settings come from LANTERN_* environment variables; serve, worker and dev also take them as
// flags (--http-addr for LANTERN_HTTP_ADDR, and so on).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: lantern <command> [arguments]

commands:
  serve     run the HTTP API
  worker    run the Temporal worker
  dev       run the API and the worker in one process
  migrate   up | down | status
  admin     orgs | keys | credits | demo (run 'lantern admin' for details)
  openapi   write the OpenAPI document (--out FILE, --format json|yaml)
  config    list every LANTERN_* setting with its default
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, args, false)
	case "dev":
		err = runServe(ctx, args, true)
	case "worker":
		err = runWorker(ctx, args)
	case "migrate":
		err = runMigrate(ctx, args)
	case "admin":
		err = runAdmin(ctx, args)
	case "openapi":
		err = runOpenAPI(args)
	case "config":
		err = runConfig()
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "lantern: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "lantern %s: %v\n", cmd, err)
		os.Exit(1)
	}
}
