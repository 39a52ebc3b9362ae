package web

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sort"
	"testing"
	"time"
)

// BenchmarkCompany enriches the JSON-LD fixture site (home, about, contact over https) and, in
// the same run, GETs the same three pages with a plain net/http client that does no robots.txt,
// SSRF checks or parsing. It reports p50/p90 of both and the ratio of the p50s. The site's
// robots.txt is cached after the first call, as it is in steady state.
func BenchmarkCompany(b *testing.B) {
	w := newWorld(b)
	w.handle("acme.test", fixture(b, "acme"))
	f := w.fetcher()
	site := w.tlsHost("acme.test")
	ctx := context.Background()

	// A plain client that trusts the test root and keeps connections alive like the Fetcher; it
	// dials the server directly instead of resolving acme.test.
	addr := w.tls.Listener.Addr().String()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: w.pool},
	}}
	defer client.CloseIdleConnections()
	urls := []string{w.httpsURL("acme.test", "/"), w.httpsURL("acme.test", "/about"), w.httpsURL("acme.test", "/contact")}
	baseline := func() {
		for _, u := range urls {
			resp, err := client.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("%s: %d", u, resp.StatusCode)
			}
		}
	}
	enrich := func() {
		c, err := f.Company(ctx, site, "Acme")
		if err != nil {
			b.Fatal(err)
		}
		if !c.Verification.Verified || c.Name == nil {
			b.Fatalf("unexpected result: %+v", c.Verification)
		}
	}
	enrich() // warm up: robots.txt, connections
	baseline()

	var companyLat, baseLat []time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		enrich()
		companyLat = append(companyLat, time.Since(start))
		b.StopTimer()
		start = time.Now()
		baseline()
		baseLat = append(baseLat, time.Since(start))
		b.StartTimer()
	}
	b.StopTimer()
	p := func(l []time.Duration, q float64) float64 {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		return float64(l[int(q*float64(len(l)-1))]) / 1e6
	}
	b.ReportMetric(p(companyLat, 0.5), "company-p50-ms")
	b.ReportMetric(p(companyLat, 0.9), "company-p90-ms")
	b.ReportMetric(p(baseLat, 0.5), "get3-p50-ms")
	b.ReportMetric(p(baseLat, 0.9), "get3-p90-ms")
	b.ReportMetric(p(companyLat, 0.5)/p(baseLat, 0.5), "company/get3")
}

// BenchmarkExtract is the parsing cost alone, per page of the JSON-LD fixture home page.
func BenchmarkExtract(b *testing.B) {
	body := []byte(mustRead(b, "testdata/acme/index.html"))
	p := &Page{URL: "https://acme.test/", Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: body}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		Extract(p)
	}
}
