package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/testenv"
)

// benchNoop is the baseline: a workflow with no activities, started and awaited the way the
// API starts and awaits a conversion.
func benchNoop(ctx workflow.Context) (string, error) { return "ok", nil }

func p50(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkSalesforceConvert converts leads through the API (a real HTTP client, the workflow
// on the Temporal dev server, the local CRM store seeded with the demo CRM: matching against
// its few hundred accounts), one at a time, and reports the conversion's p50 next to the p50
// of a no-op workflow's round trip measured in the same run. Target: conversion p50 ≤ 100 ms.
func BenchmarkSalesforceConvert(b *testing.B) {
	st := newSFStack(b, func(w worker.Worker) {
		w.RegisterWorkflowWithOptions(benchNoop, workflow.RegisterOptions{Name: "BenchNoop"})
	})
	tn := testenv.NewTenant(b, st.db, 0)
	ctx := context.Background()
	if _, err := crm.SeedDemo(ctx, st.local, tn.OrgID); err != nil {
		b.Fatal(err)
	}
	d := crm.DemoCRM()
	leads := make([]string, b.N)
	for i := range leads {
		a := d.Accounts[(i*7)%len(d.Accounts)]
		name, _ := a.Fields["Name"].(string)
		site, _ := a.Fields["Website"].(string)
		domain := strings.TrimPrefix(strings.TrimPrefix(site, "https://www."), "https://")
		if domain == "" {
			domain = fmt.Sprintf("bench%d.example", i)
		}
		leads[i] = st.create(b, tn.OrgID, crm.Lead, map[string]any{"FirstName": "Bench", "LastName": fmt.Sprintf("Person%d", i),
			"Company": name, "Email": fmt.Sprintf("bench.person%d@%s", i, domain), "LeadSource": "Web"})
	}
	tc := st.srv.temporal
	noop := func() time.Duration {
		t0 := time.Now()
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "bench-noop-" + uuid.NewString(), TaskQueue: st.cfg.TemporalTaskQueue}, "BenchNoop")
		if err != nil {
			b.Fatal(err)
		}
		var s string
		if err := run.Get(ctx, &s); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	for range 5 { // warm up the worker's caches and connections
		noop()
	}
	var base, conv []time.Duration
	attached := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		base = append(base, noop())
		t0 := time.Now()
		req, _ := http.NewRequest(http.MethodPost, st.URL+"/v1/salesforce/leads/"+leads[i]+"/convert", strings.NewReader(`{"owner":{"mode":"account_owner"}}`))
		req.Header.Set("Authorization", "Bearer "+tn.Secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := st.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		conv = append(conv, time.Since(t0))
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("convert: %d %s", resp.StatusCode, body)
		}
		if strings.Contains(string(body), `"account_created":false`) {
			attached++
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(p50(conv)), "convert-p50-ms")
	b.ReportMetric(ms(p50(base)), "noop-workflow-p50-ms")
	b.ReportMetric(float64(p50(conv))/float64(p50(base)), "x_noop")
	b.ReportMetric(float64(attached)/float64(b.N), "attached-share")
	b.ReportMetric(0, "ns/op")
}
