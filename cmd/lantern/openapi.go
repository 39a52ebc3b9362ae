package main

import (
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/lanternhq/lantern/api"
	"github.com/lanternhq/lantern/internal/config"
)

func runOpenAPI(args []string) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	out := fs.String("out", "", "file to write (default: standard output)")
	format := fs.String("format", "json", "json or yaml")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	b, err := api.OpenAPI(cfg.PublicURL, *format)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}

func runConfig() error {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tFLAG\tDEFAULT\tMEANING")
	for _, s := range config.Settings {
		fmt.Fprintf(tw, "%s\t--%s\t%s\t%s\n", s.Env, s.Flag(), s.Default, s.Help)
	}
	return tw.Flush()
}
