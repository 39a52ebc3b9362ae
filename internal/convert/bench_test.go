package convert_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/convert"
	"github.com/lanternhq/lantern/internal/crm"
)

// BenchmarkConvertSteps runs a conversion's steps directly (no Temporal) on the demo CRM and
// reports each step's p50: the floor of a conversion through the workflow.
func BenchmarkConvertSteps(b *testing.B) {
	f := newFixtureTB(b)
	ctx := context.Background()
	if _, err := crm.SeedDemo(ctx, f.local, f.org); err != nil {
		b.Fatal(err)
	}
	d := crm.DemoCRM()
	leads := make([]string, b.N)
	for i := range leads {
		a := d.Accounts[(i*7)%len(d.Accounts)]
		r, err := f.local.Create(ctx, f.org, crm.Lead, crm.Input{Fields: map[string]any{"FirstName": "Bench", "LastName": fmt.Sprintf("Person%d", i),
			"Company": a.Fields["Name"], "Email": fmt.Sprintf("bench.person%d@example.org", i)}})
		if err != nil {
			b.Fatal(err)
		}
		leads[i] = r.ID
	}
	var plan, conv, logs []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := convert.Request{LeadID: leads[i]}
		t0 := time.Now()
		p, err := f.svc.Plan(ctx, f.org, req)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		id := convert.ConversionID(f.org, leads[i])
		c, err := f.svc.Convert(ctx, f.org, id, req, *p, "")
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if _, err := f.svc.Log(ctx, f.org, id, req, *p, *c); err != nil {
			b.Fatal(err)
		}
		plan, conv, logs = append(plan, t1.Sub(t0)), append(conv, t2.Sub(t1)), append(logs, time.Since(t2))
	}
	b.StopTimer()
	p50 := func(ds []time.Duration) float64 {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return float64(ds[len(ds)/2].Microseconds()) / 1000
	}
	b.ReportMetric(p50(plan), "plan-p50-ms")
	b.ReportMetric(p50(conv), "convert-p50-ms")
	b.ReportMetric(p50(logs), "log-p50-ms")
	b.ReportMetric(0, "ns/op")
}
