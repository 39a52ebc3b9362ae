package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lanternhq/lantern/internal/crm"
)

// crmImport loads a CSV file into the org's CRM store, 1,000 records per statement. Columns
// map to fields by --map, else by their Salesforce name in any spelling, else to custom
// fields; with --external-id-column, rows are upserted by that column.
func (a admin) crmImport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("crm import", flag.ContinueOnError)
	orgRef := fs.String("org", "", "org id or slug")
	object := fs.String("object", "", "Account, Contact, Lead, Opportunity or User")
	extCol := fs.String("external-id-column", "", "column holding each record's external id (upsert key)")
	mapping := fs.String("map", "", `header mappings, e.g. "Company Name=Name,Web=Website"`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("give one CSV file")
	}
	if err := crm.CheckObject(*object); err != nil {
		return fmt.Errorf("--object: must be one of %s", strings.Join(crm.Objects, ", "))
	}
	org, err := a.org(ctx, *orgRef)
	if err != nil {
		return err
	}
	m := map[string]string{}
	for _, pair := range strings.Split(*mapping, ",") {
		if h, f, ok := strings.Cut(pair, "="); ok {
			m[strings.TrimSpace(h)] = strings.TrimSpace(f)
		}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := crm.NewCSVReader(f, m, *extCol)
	if err != nil {
		return err
	}
	store := &crm.Local{DB: a.db, Region: a.cfg.Enrich.DefaultRegion}
	start := time.Now()
	var created, updated, failed, rows int
	for {
		batch, err := r.Next(crm.MaxBulk)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		res, err := store.BulkUpsert(ctx, org, *object, batch)
		if err != nil {
			return err
		}
		for i, x := range res {
			switch {
			case x.Err != nil:
				failed++
				if failed <= 20 { // the file's line: the header is line 1
					fmt.Fprintf(os.Stderr, "line %d: %v\n", rows+i+2, x.Err)
				}
			case x.Created:
				created++
			default:
				updated++
			}
		}
		rows += len(batch)
	}
	took := time.Since(start)
	total := created + updated + failed
	fmt.Printf("%s: %d created, %d updated, %d refused in %s (%.0f records/s)\n",
		*object, created, updated, failed, took.Round(time.Millisecond), float64(total)/took.Seconds())
	return nil
}
