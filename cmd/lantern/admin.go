package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/ratelimit"
	"github.com/lanternhq/lantern/internal/tenancy"
)

const adminUsage = `usage: lantern admin <command>

  orgs create --name NAME [--slug SLUG]
  orgs list
  keys create --org ORG --name NAME
  keys list --org ORG
  keys revoke --org ORG --key KEY_ID
  keys limits --org ORG --key KEY_ID GROUP=PER_MINUTE ...   (no limits: back to the defaults)
  credits grant --org ORG --amount N [--memo TEXT] [--reference ID]
  credits balance --org ORG
  crm import --org ORG --object OBJECT [--external-id-column COL] [--map "Header=Field,..."] FILE.csv
  demo [--key-file FILE]   create the demo org, credits and a key (safe to re-run)

ORG is an org id or slug.
`

func runAdmin(ctx context.Context, args []string) error {
	if len(args) < 1 {
		return usageError(adminUsage)
	}
	cfg, db, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	a := admin{cfg: cfg, db: db}
	sub := strings.Join(args[:min(2, len(args))], " ")
	if args[0] == "demo" {
		return a.demo(ctx, args[1:])
	}
	if len(args) < 2 {
		return usageError(adminUsage)
	}
	rest := args[2:]
	switch sub {
	case "orgs create":
		return a.orgsCreate(ctx, rest)
	case "orgs list":
		return a.orgsList(ctx)
	case "keys create":
		return a.keysCreate(ctx, rest)
	case "keys list":
		return a.keysList(ctx, rest)
	case "keys revoke":
		return a.keysRevoke(ctx, rest)
	case "keys limits":
		return a.keysLimits(ctx, rest)
	case "credits grant":
		return a.creditsGrant(ctx, rest)
	case "credits balance":
		return a.creditsBalance(ctx, rest)
	case "crm import":
		return a.crmImport(ctx, rest)
	}
	return fmt.Errorf("unknown admin command %q\n\n%s", sub, adminUsage)
}

// usageError prints a usage text as the error.
type usageError string

func (u usageError) Error() string { return string(u) }

type admin struct {
	cfg *config.Config
	db  *bun.DB
}

func flags(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ContinueOnError) }

func (a admin) org(ctx context.Context, ref string) (uuid.UUID, error) {
	if ref == "" {
		return uuid.Nil, errors.New("--org is required (an org id or slug)")
	}
	o, err := tenancy.FindOrg(ctx, a.db, ref)
	if err != nil {
		return uuid.Nil, err
	}
	return o.ID, nil
}

func (a admin) orgsCreate(ctx context.Context, args []string) error {
	fs := flags("orgs create")
	name := fs.String("name", "", "display name")
	slug := fs.String("slug", "", "url-safe id (default: from the name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o, err := tenancy.CreateOrg(ctx, a.db, *name, *slug)
	if err != nil {
		return err
	}
	fmt.Printf("org %s (%s) created: %s\n", o.Slug, o.Name, o.ID)
	return nil
}

func (a admin) orgsList(ctx context.Context) error {
	orgs, err := tenancy.ListOrgs(ctx, a.db)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSLUG\tNAME\tCREATED")
	for _, o := range orgs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.ID, o.Slug, o.Name, o.CreatedAt.Format("2006-01-02"))
	}
	return tw.Flush()
}

func (a admin) keysCreate(ctx context.Context, args []string) error {
	fs := flags("keys create")
	orgRef := fs.String("org", "", "org id or slug")
	name := fs.String("name", "", "what the key is for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	org, err := a.org(ctx, *orgRef)
	if err != nil {
		return err
	}
	k, err := tenancy.CreateKey(ctx, a.db, org, *name, a.cfg.KeyEnv)
	if err != nil {
		return err
	}
	fmt.Printf("key %s created (id %s). It is shown once; store it now:\n%s\n", k.Key.Prefix, k.Key.ID, k.Secret)
	return nil
}

func (a admin) keysList(ctx context.Context, args []string) error {
	fs := flags("keys list")
	orgRef := fs.String("org", "", "org id or slug")
	if err := fs.Parse(args); err != nil {
		return err
	}
	org, err := a.org(ctx, *orgRef)
	if err != nil {
		return err
	}
	keys, err := tenancy.ListKeys(ctx, a.db, org)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tCREATED\tREVOKED\tLIMITS")
	for _, k := range keys {
		revoked := ""
		if !k.RevokedAt.IsZero() {
			revoked = k.RevokedAt.Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", k.ID, k.Prefix, k.Name, k.CreatedAt.Format("2006-01-02 15:04"), revoked, k.RateLimits)
	}
	return tw.Flush()
}

func (a admin) keyArgs(ctx context.Context, name string, args []string) (uuid.UUID, uuid.UUID, []string, error) {
	fs := flags(name)
	orgRef := fs.String("org", "", "org id or slug")
	keyRef := fs.String("key", "", "key id")
	if err := fs.Parse(args); err != nil {
		return uuid.Nil, uuid.Nil, nil, err
	}
	org, err := a.org(ctx, *orgRef)
	if err != nil {
		return uuid.Nil, uuid.Nil, nil, err
	}
	key, err := uuid.Parse(*keyRef)
	if err != nil {
		return uuid.Nil, uuid.Nil, nil, fmt.Errorf("--key: want a key id (see `lantern admin keys list`)")
	}
	return org, key, fs.Args(), nil
}

func (a admin) keysRevoke(ctx context.Context, args []string) error {
	org, key, _, err := a.keyArgs(ctx, "keys revoke", args)
	if err != nil {
		return err
	}
	if err := tenancy.RevokeKey(ctx, a.db, org, key); err != nil {
		return err
	}
	fmt.Printf("key %s revoked\n", key)
	return nil
}

func (a admin) keysLimits(ctx context.Context, args []string) error {
	org, key, rest, err := a.keyArgs(ctx, "keys limits", args)
	if err != nil {
		return err
	}
	parsed, err := config.ParseRateLimits(strings.Join(rest, ","), ratelimit.Defaults())
	if err != nil {
		return err
	}
	limits := map[string]int{}
	for _, r := range rest {
		g, _, _ := strings.Cut(r, "=")
		limits[g] = parsed[ratelimit.Group(g)]
	}
	if err := tenancy.SetKeyLimits(ctx, a.db, org, key, limits); err != nil {
		return err
	}
	fmt.Printf("key %s limits: %v (other groups: defaults)\n", key, limits)
	return nil
}

func (a admin) creditsGrant(ctx context.Context, args []string) error {
	fs := flags("credits grant")
	orgRef := fs.String("org", "", "org id or slug")
	amount := fs.Int64("amount", 0, "credits to add")
	memo := fs.String("memo", "", "why")
	ref := fs.String("reference", "", "an id that makes the grant idempotent (an invoice number, say)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	org, err := a.org(ctx, *orgRef)
	if err != nil {
		return err
	}
	res, err := credits.Grant(ctx, a.db, credits.Charge{OrgID: org, Amount: *amount, Memo: *memo, RequestID: *ref})
	if err != nil {
		return err
	}
	if res.Duplicate {
		fmt.Printf("reference %q was already granted; balance %d\n", *ref, res.Balance)
		return nil
	}
	fmt.Printf("granted %d credits; balance %d\n", *amount, res.Balance)
	return nil
}

func (a admin) creditsBalance(ctx context.Context, args []string) error {
	fs := flags("credits balance")
	orgRef := fs.String("org", "", "org id or slug")
	if err := fs.Parse(args); err != nil {
		return err
	}
	org, err := a.org(ctx, *orgRef)
	if err != nil {
		return err
	}
	b, err := credits.Balance(ctx, a.db, org)
	if err != nil {
		return err
	}
	fmt.Println(strconv.FormatInt(b, 10))
	return nil
}
