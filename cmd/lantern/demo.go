package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/routelog"
	"github.com/lanternhq/lantern/internal/tenancy"
	"github.com/lanternhq/lantern/schema"
)

// demo seeds a demo org with credits, a key and a month of route logs, and prints how to use
// them. Re-running it changes nothing but prints the same key (kept in --key-file).
func (a admin) demo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	keyFile := fs.String("key-file", ".dev/demo-key", "where the demo key is kept between runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	org, err := tenancy.FindOrg(ctx, a.db, "demo")
	if apperr.Is(err, apperr.NotFound) {
		org, err = tenancy.CreateOrg(ctx, a.db, "Demo Org", "demo")
	}
	if err != nil {
		return err
	}
	if _, err := credits.Grant(ctx, a.db, credits.Charge{OrgID: org.ID, Amount: 100_000,
		RequestID: "demo-initial-grant", Memo: "demo credits"}); err != nil {
		return err
	}
	key, err := a.demoKey(ctx, org, *keyFile)
	if err != nil {
		return err
	}
	n, err := routelog.Write(ctx, a.db, org.ID, demoLogs(time.Now())...)
	if err != nil {
		return err
	}
	counts, err := crm.SeedDemo(ctx, &crm.Local{DB: a.db, Region: a.cfg.Enrich.DefaultRegion}, org.ID)
	if err != nil {
		return err
	}
	balance, err := credits.Balance(ctx, a.db, org.ID)
	if err != nil {
		return err
	}
	base := a.cfg.PublicURL
	fmt.Printf(`
Lantern is ready.

  API          %s
  API key      %s
  Docs         %s/docs
  Temporal UI  %s   (schedule %q runs the log cleanup daily)
  Demo org     %s (%s), %d credits, %d new route-log entries
  Demo CRM     %d accounts, %d contacts, %d leads, %d users (with duplicates to match)

Try:
  curl -H "Authorization: Bearer %s" %s/v1/credits/remaining
  curl -H "Authorization: Bearer %s" "%s/v1/logs/routing?from_date=%s&to_date=%s&format=csv"

`, base, key, base, a.cfg.TemporalUIURL, "lantern-log-retention", org.Name, org.Slug, balance, n,
		counts[crm.Account], counts[crm.Contact], counts[crm.Lead], counts[crm.User],
		key, base, key, base, time.Now().AddDate(0, 0, -30).Format("2006-01-02"), time.Now().Format("2006-01-02"))
	return nil
}

// demoKey returns the key kept in path when it still works, else creates and keeps a new one.
func (a admin) demoKey(ctx context.Context, org *schema.Org, path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		key := strings.TrimSpace(string(b))
		p, err := tenancy.NewAuthenticator(a.db, 0).Authenticate(ctx, key)
		if err == nil && p.OrgID == org.ID {
			return key, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	k, err := tenancy.CreateKey(ctx, a.db, org.ID, "demo", a.cfg.KeyEnv)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(k.Secret+"\n"), 0o600); err != nil {
		return "", err
	}
	return k.Secret, nil
}

// demoLogs is a month of plausible activity: round-robin assignments in two pools, enrichments
// with diffs, conversions and merges. Idempotency keys are fixed, so re-seeding adds nothing.
func demoLogs(now time.Time) []routelog.Entry {
	pools := []struct {
		name  string
		users []string
	}{
		{"SDR_WEST_01", []string{"005xx0002ABCDEAAA", "005xx0002ABCDEBAA", "005xx0002ABCDECAA"}},
		{"SDR_EAST_01", []string{"005xx0003FGHIJAAA", "005xx0003FGHIJBAA"}},
	}
	day := now.UTC().Truncate(24 * time.Hour)
	var out []routelog.Entry
	seq := map[string]int64{}
	for i := 0; i < 240; i++ {
		ts := day.AddDate(0, 0, -30+i/8).Add(time.Duration(8+i%8) * time.Hour).Add(time.Duration(i*7%60) * time.Minute)
		if ts.After(now) {
			break
		}
		obj := fmt.Sprintf("00Qxx0000Lm%04dAAA", i)
		e := routelog.Entry{Timestamp: ts, Object: "Lead", ObjectID: obj,
			RequestID: fmt.Sprintf("req_demo%05d", i), IdempotencyKey: fmt.Sprintf("demo-%05d", i)}
		switch i % 6 {
		case 0, 1, 2, 3:
			p := pools[i%2]
			seq[p.name]++
			user := p.users[int(seq[p.name]-1)%len(p.users)]
			prev := "005xx0001ZZZZZAAA"
			e.Action, e.Pool, e.AssignedTo, e.PrevOwner, e.Reason = "assign", &p.name, &user, &prev, "round_robin"
			s := seq[p.name]
			e.Sequence = &s
		case 4:
			e.Action, e.Reason = "enrich", "auto_enrichment"
			e.Diff, _ = json.Marshal(map[string]any{"Phone": map[string]any{"old": nil, "new": "+14155550100"},
				"Website": map[string]any{"old": "acme.com", "new": "https://www.acme.com"}})
		case 5:
			if i%12 == 5 {
				e.Object, e.ObjectID, e.Action, e.Reason = "Contact", fmt.Sprintf("003xx0000Cn%04dAAA", i), "merge", "duplicate_email"
				e.Diff, _ = json.Marshal(map[string]any{"merged": []string{fmt.Sprintf("003xx0000Cn%04dBAA", i)},
					"Title": map[string]any{"old": "", "new": "VP Sales"}})
			} else {
				prev := "005xx0001ZZZZZAAA"
				e.Action, e.PrevOwner, e.Reason = "convert", &prev, "lead_conversion"
			}
		}
		out = append(out, e)
	}
	return out
}
