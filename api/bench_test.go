package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/ratelimit"
	"github.com/lanternhq/lantern/internal/testenv"
)

// BenchmarkExportVsCopy exports the same 10,000 route-log rows three ways in each iteration:
// through the API as CSV and as JSON (a real HTTP client against a real server), and with
// Postgres' own COPY (SELECT ...) TO STDOUT WITH CSV, the floor any export can reach. It
// reports each time and the ratios to COPY; the bar is at most 2x.
func BenchmarkExportVsCopy(b *testing.B) {
	db := testenv.DB(b)
	ts := start(b, db, generous)
	tn := testenv.NewTenant(b, db, 0)
	seedLogs(b, db, tn.OrgID, 10000)
	ctx := context.Background()
	from, to := logT0, logT0.Add(30*24*time.Hour)
	copySQL := db.NewRaw(`COPY (SELECT "timestamp", object, object_id, action, pool, assigned_to, prev_owner, sequence,
  reason, request_id, idempotency_key, diff FROM route_logs
  WHERE org_id = ? AND "timestamp" >= ? AND "timestamp" < ? ORDER BY "timestamp", id LIMIT 10000)
TO STDOUT WITH CSV HEADER`, tn.OrgID, from, to).String()
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	export := func(format string) (int64, time.Duration) {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v1/logs/routing?from=%s&to=%s&limit=10000&format=%s",
			ts.URL, from.Format(time.RFC3339), to.Format(time.RFC3339), format), nil)
		req.Header.Set("Authorization", "Bearer "+tn.Secret)
		resp, err := ts.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%s export: %d %v", format, resp.StatusCode, err)
		}
		return n, time.Since(start)
	}
	copyRows := func() (int64, time.Duration) {
		start := time.Now()
		cw := &countWriter{}
		if _, err := pgdriver.CopyTo(ctx, conn, cw, copySQL); err != nil {
			b.Fatal(err)
		}
		return cw.n, time.Since(start)
	}
	// Warm up every path once (plans, connections, page cache).
	export("csv")
	export("json")
	copyRows()
	var tCSV, tJSON, tCopy time.Duration
	var nCSV, nJSON, nCopy int64
	b.ResetTimer()
	for range b.N {
		n, d := export("csv")
		nCSV, tCSV = n, tCSV+d
		n, d = export("json")
		nJSON, tJSON = n, tJSON+d
		n, d = copyRows()
		nCopy, tCopy = n, tCopy+d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(b.N) / 1e6 }
	b.ReportMetric(ms(tCSV), "csv-ms")
	b.ReportMetric(ms(tJSON), "json-ms")
	b.ReportMetric(ms(tCopy), "copy-ms")
	b.ReportMetric(float64(tCSV)/float64(tCopy), "csv/copy")
	b.ReportMetric(float64(tJSON)/float64(tCopy), "json/copy")
	b.ReportMetric(float64(nCSV)/float64(nCopy), "csv-bytes/copy-bytes")
	_ = nJSON
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// BenchmarkMiddlewareChain measures what auth, the shared rate limiter and the credit header
// add to a request. The same trivial handler is served bare on chi and behind the full chain;
// 32 concurrent clients alternate between the two in rounds, and it reports both p50s and the
// difference. The bar is at most 1 ms added at p50.
//
// "reserved" runs with a lifted limit of 100,000/min, where each process reserves 0.5% of the
// limit ahead (see ratelimit.Limiter); "exact" runs with 199/min, under the reserve threshold,
// where every request waits for a coalesced Postgres round trip (most are refused with 429
// there, which runs the same chain).
func BenchmarkMiddlewareChain(b *testing.B) {
	for _, tc := range []struct {
		name  string
		limit int
	}{{"reserved", 100_000}, {"exact", 199}} {
		b.Run(tc.name, func(b *testing.B) { benchChain(b, tc.limit) })
	}
}

func benchChain(b *testing.B, limit int) {
	db := testenv.DB(b)
	chain := start(b, db, func(c *config.Config) { c.RateLimits[ratelimit.Sync] = limit })
	tn := testenv.NewTenant(b, db, 100)
	r := chi.NewRouter()
	r.Get("/v1/test/sync", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success":true,"status":"ok"}`)
	})
	bare := httptest.NewServer(r)
	defer bare.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}

	const clients, perClient = 32, 25
	round := func(url string, auth bool) []time.Duration {
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				mine := make([]time.Duration, 0, perClient)
				for range perClient {
					req, _ := http.NewRequest(http.MethodGet, url+"/v1/test/sync", nil)
					if auth {
						req.Header.Set("Authorization", "Bearer "+tn.Secret)
					}
					start := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mine = append(mine, time.Since(start))
					if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusTooManyRequests {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		return lat
	}
	round(bare.URL, false) // warm up connections on both
	round(chain.URL, true)
	var bareLat, chainLat []time.Duration
	b.ResetTimer()
	for range b.N {
		bareLat = append(bareLat, round(bare.URL, false)...)
		chainLat = append(chainLat, round(chain.URL, true)...)
	}
	b.StopTimer()
	p := func(l []time.Duration, q float64) float64 {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		return float64(l[int(q*float64(len(l)-1))]) / 1e6
	}
	b.ReportMetric(p(bareLat, 0.5), "bare-p50-ms")
	b.ReportMetric(p(chainLat, 0.5), "chain-p50-ms")
	b.ReportMetric(p(chainLat, 0.5)-p(bareLat, 0.5), "added-p50-ms")
	b.ReportMetric(p(bareLat, 0.99), "bare-p99-ms")
	b.ReportMetric(p(chainLat, 0.99), "chain-p99-ms")
}

// BenchmarkEnrichPhone compares POST /v1/enrich/phone through the whole API (auth, a lifted
// rate limit, the cache lookup that misses, the provider, the credit debit, the cache store)
// with a bare chi handler doing the same parse and encode, both at 32 concurrent clients in
// the same run. It reports each side's throughput and p50/p99, and their ratio; the issue's
// bar is a ratio of at least 0.5.
func BenchmarkEnrichPhone(b *testing.B) {
	db := testenv.DB(b)
	full := start(b, db, func(c *config.Config) { c.RateLimits[ratelimit.Sync] = 10_000_000 })
	tn := testenv.NewTenant(b, db, 100_000_000)
	r := chi.NewRouter()
	r.Post("/v1/enrich/phone", func(w http.ResponseWriter, req *http.Request) {
		var in struct {
			RecordID string `json:"record_id"`
			Phone    string `json:"phone"`
			Country  string `json:"country"`
		}
		if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		info, err := enrich.ParsePhone(in.Phone, in.Country)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"success": true, "data": map[string]any{"phone": info}})
	})
	bare := httptest.NewServer(r)
	defer bare.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}

	var seq atomic.Int64
	const clients, perClient = 32, 40
	round := func(url string, auth bool) ([]time.Duration, time.Duration) {
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		start := time.Now()
		for range clients {
			wg.Go(func() {
				mine := make([]time.Duration, 0, perClient)
				for range perClient {
					n := seq.Add(1)
					body := fmt.Sprintf(`{"record_id":"bench-%d","phone":"+1 650-253-%04d","country":"US"}`, n, n%10000)
					req, _ := http.NewRequest(http.MethodPost, url+"/v1/enrich/phone", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					if auth {
						req.Header.Set("Authorization", "Bearer "+tn.Secret)
					}
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mine = append(mine, time.Since(t0))
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		return lat, time.Since(start)
	}
	round(bare.URL, false)
	round(full.URL, true)
	var bareLat, fullLat []time.Duration
	var bareTime, fullTime time.Duration
	b.ResetTimer()
	for range b.N {
		l, d := round(bare.URL, false)
		bareLat, bareTime = append(bareLat, l...), bareTime+d
		l, d = round(full.URL, true)
		fullLat, fullTime = append(fullLat, l...), fullTime+d
	}
	b.StopTimer()
	p := func(l []time.Duration, q float64) float64 {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		return float64(l[int(q*float64(len(l)-1))]) / 1e6
	}
	bareRPS := float64(len(bareLat)) / bareTime.Seconds()
	fullRPS := float64(len(fullLat)) / fullTime.Seconds()
	b.ReportMetric(bareRPS, "bare-req/s")
	b.ReportMetric(fullRPS, "api-req/s")
	b.ReportMetric(fullRPS/bareRPS, "api/bare")
	b.ReportMetric(p(bareLat, 0.5), "bare-p50-ms")
	b.ReportMetric(p(bareLat, 0.99), "bare-p99-ms")
	b.ReportMetric(p(fullLat, 0.5), "api-p50-ms")
	b.ReportMetric(p(fullLat, 0.99), "api-p99-ms")
}
