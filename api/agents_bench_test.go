package api

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/batch"
	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/enrich"
)

// batchRecords1000 are 1,000 records of a type with ids unique to the iteration, so that no
// answer comes from the cache.
func batchBody(typ string, iter int) string {
	recs := make([]string, 1000)
	for i := range recs {
		if typ == batch.Phone {
			recs[i] = fmt.Sprintf(`{"record_id":"b%d-%d","phone":"+1 650-253-%04d"}`, iter, i, i)
		} else {
			recs[i] = fmt.Sprintf(`{"record_id":"b%d-%d","first_name":"Ada","last_name":"L%d","domain":"acme-robotics.example"}`, iter, i, i)
		}
	}
	opts := ""
	if typ == batch.Email {
		opts = `,"options":{"providers":["hunter"]}`
	}
	return `{"records":[` + strings.Join(recs, ",") + `]` + opts + `}`
}

// direct runs the same 1,000 records through the enrichment engine in this process, with the
// same concurrency and no Temporal, S3 or batch bookkeeping: the floor a batch can reach.
func direct(b *testing.B, bs *batchStack, typ string, iter int) time.Duration {
	eng := bs.srv.enrich
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, bs.cfg.BatchConcurrency)
	for i := range 1000 {
		rec := enrich.Record{"phone": fmt.Sprintf("+1 650-253-%04d", i)}
		opts := enrich.Options{}
		if typ == batch.Email {
			rec = enrich.Record{"first_name": "Ada", "last_name": fmt.Sprintf("L%d", i), "domain": "acme-robotics.example"}
			opts.Providers = []string{"hunter"}
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := eng.Run(context.Background(), enrich.Job{OrgID: bs.tn.OrgID, RequestID: fmt.Sprintf("direct-%d-%d", iter, i),
				Service: typ, RecordID: fmt.Sprintf("d%d-%d", iter, i), Record: rec, Options: opts}); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// endToEnd submits a 1,000-record batch over HTTP and polls until it has completed.
func endToEnd(b *testing.B, bs *batchStack, typ string, iter int) time.Duration {
	start := time.Now()
	m := bs.submit(b, typ, batchBody(typ, iter))
	id := m["batch_id"].(string)
	for {
		st := bs.status(b, id)
		if st["state"] == "completed" {
			if st["succeeded"] != float64(1000) {
				b.Fatalf("status: %v", st)
			}
			return time.Since(start)
		}
		if batch.Terminal(st["state"].(string)) {
			b.Fatalf("status: %v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkBatchPhone1000 is a 1,000-record phone batch end to end (HTTP submission, S3
// claim check, workflow, per-record settlement, results in S3, polling) against the same
// records run directly through the engine in the same run. The bar: 15 s.
func BenchmarkBatchPhone1000(b *testing.B) {
	bs := newBatchStack(b, 1_000_000_000, generous)
	bs.startW(bs.store)
	var e2e, base time.Duration
	for i := 0; i < b.N; i++ {
		e2e += endToEnd(b, bs, batch.Phone, i)
		base += direct(b, bs, batch.Phone, i)
	}
	n := float64(b.N)
	b.ReportMetric(e2e.Seconds()/n, "s/batch")
	b.ReportMetric(base.Seconds()/n, "s/direct")
	b.ReportMetric(float64(e2e)/float64(base), "x_direct")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkBatchEmail1000 is a 1,000-record email batch against a Hunter stub that answers in
// 100 ms. It reports the ratio to the ideal bound records x latency / concurrency, and to the
// same records run directly through the engine. The bar: 10 s.
func BenchmarkBatchEmail1000(b *testing.B) {
	const latency = 100 * time.Millisecond
	hunter := hunterStub(b, latency, nil)
	bs := newBatchStack(b, 1_000_000_000, func(c *config.Config) { generous(c); withHunter(hunter)(c) })
	bs.startW(bs.store)
	var e2e, base time.Duration
	for i := 0; i < b.N; i++ {
		e2e += endToEnd(b, bs, batch.Email, i)
		base += direct(b, bs, batch.Email, i)
	}
	n := float64(b.N)
	ideal := time.Duration(1000 * int64(latency) / int64(bs.cfg.BatchConcurrency))
	b.ReportMetric(e2e.Seconds()/n, "s/batch")
	b.ReportMetric(ideal.Seconds(), "s/ideal")
	b.ReportMetric(e2e.Seconds()/n/ideal.Seconds(), "x_ideal")
	b.ReportMetric(float64(e2e)/float64(base), "x_direct")
	b.ReportMetric(0, "ns/op")
}
