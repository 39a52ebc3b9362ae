package api

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/match"
	"github.com/lanternhq/lantern/internal/testenv"
	"github.com/lanternhq/lantern/schema"
)

// matchBenchAccounts is the size of the benchmark's CRM; LANTERN_BENCH_MATCH_ACCOUNTS
// overrides it (generating 1,000,000 takes a few minutes on a small machine).
const matchBenchAccounts = 1_000_000

// BenchmarkMatchAccounts matches accounts against a CRM of matchBenchAccounts generated
// companies (built once, with COPY, and shared by the sub-benchmarks), through the HTTP API
// with a real client. Each sub-benchmark also times the bare candidate query for the same
// inputs, interleaved with the API calls so both see the same machine, and reports the ratio.
// The bars: single-record p95 ≤ 25 ms, a 100-record request ≤ 1 s.
func BenchmarkMatchAccounts(b *testing.B) {
	n := matchBenchAccounts
	if v := os.Getenv("LANTERN_BENCH_MATCH_ACCOUNTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("LANTERN_BENCH_MATCH_ACCOUNTS=%q: want a number ≥ 1000", v)
		}
	}
	db := testenv.DB(b)
	tn := testenv.NewTenant(b, db, 0)
	start0 := time.Now()
	companies := generateAccounts(b, db, tn.OrgID, n)
	b.Logf("generated %d accounts in %s", n, time.Since(start0).Round(time.Second))
	ts := start(b, db, generous)
	queries := benchQueries(companies, 2000)
	ctx := context.Background()
	stmt, err := db.DB.PrepareContext(ctx, crm.MatchCandidatesSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	const k = 20 // the API's trigram candidates at the default max_matches
	// bareSQL is the API's candidate search with nothing around it: the same statement, in
	// the same read-only transaction with the same settings.
	bareSQL := func(b testing.TB, qs []map[string]any) time.Duration {
		var names, domains, emails, phones, births, words []string
		for _, q := range qs {
			sk := crm.KeysFor(crm.Account, q, "US")
			names, domains, emails, phones, births = append(names, sk.Name), append(domains, sk.Domain), append(emails, sk.Email),
				append(phones, sk.Phone), append(births, sk.Birthdate)
			words = append(words, match.SearchWord(q["Name"].(string)))
		}
		t0 := time.Now()
		tx, err := db.DB.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, crm.MatchSettings); err != nil {
			b.Fatal(err)
		}
		rows, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, tn.OrgID, crm.Account, schema.TextArray(names), schema.TextArray(domains),
			schema.TextArray(emails), schema.TextArray(phones), schema.TextArray(births), k, schema.TextArray(words))
		if err != nil {
			b.Fatal(err)
		}
		drain(b, rows)
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	viaAPI := func(b testing.TB, qs []map[string]any) (time.Duration, int) {
		recs := make([]map[string]any, len(qs))
		for i, q := range qs {
			recs[i] = map[string]any{"fields": q}
		}
		body, _ := json.Marshal(map[string]any{"records": recs})
		t0 := time.Now()
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/match/accounts", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+tn.Secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := ts.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(t0)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("match: %d %v %.300s", resp.StatusCode, err, out)
		}
		var m struct {
			Results []struct {
				Matched bool `json:"matched"`
			} `json:"results"`
		}
		if err := json.Unmarshal(out, &m); err != nil || len(m.Results) != len(qs) {
			b.Fatalf("answer: %v %.300s", err, out)
		}
		matched := 0
		for _, r := range m.Results {
			if r.Matched {
				matched++
			}
		}
		return took, matched
	}
	// Warm both paths (plans, caches, the key) before measuring.
	for i := range 20 {
		viaAPI(b, queries[i:i+1])
		bareSQL(b, queries[i:i+1])
	}

	run := func(b *testing.B, size int) {
		var api, base []time.Duration
		matched, total := 0, 0
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			off := (i * size) % (len(queries) - size)
			qs := queries[off : off+size]
			d, m := viaAPI(b, qs)
			api = append(api, d)
			base = append(base, bareSQL(b, qs))
			matched, total = matched+m, total+size
		}
		b.StopTimer()
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		p95, sql95 := percentile(api, 0.95), percentile(base, 0.95)
		b.ReportMetric(ms(percentile(api, 0.5)), "p50-ms")
		b.ReportMetric(ms(p95), "p95-ms")
		b.ReportMetric(ms(sql95), "sql-p95-ms")
		b.ReportMetric(float64(p95)/float64(sql95), "p95/sql")
		b.ReportMetric(ms(mean(api))/ms(mean(base)), "mean/sql")
		b.ReportMetric(float64(matched)/float64(total), "matched-share")
		b.ReportMetric(float64(n), "accounts")
	}
	b.Run("single", func(b *testing.B) { run(b, 1) })
	b.Run("batch100", func(b *testing.B) { run(b, 100) })
}

func drain(b testing.TB, rows *sql.Rows) {
	defer rows.Close()
	for rows.Next() {
		var (
			idx            int
			id             string
			ext            *string
			fields         []byte
			version        int64
			created, modif time.Time
		)
		if err := rows.Scan(&idx, &id, &ext, &fields, &version, &created, &modif); err != nil {
			b.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func mean(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t / time.Duration(len(ds))
}

// benchCompany is one generated account.
type benchCompany struct{ name, domain, phone, city, zip string }

// Company names: an invented brand word (two or three syllables: about three million
// possible, so most names are distinct, as in a real CRM), sometimes a second word, usually a
// generic word that thousands of companies share ("Analytics", "Global"), and a legal suffix.
var (
	benchOnsets  = strings.Fields("b c d f g h k l m n p r s t v w z br cr dr fr gr pr tr st sp pl cl bl qu sh th ch")
	benchVowels  = strings.Fields("a e i o u ai ea io ou y")
	benchCodas   = append([]string{"", "", ""}, strings.Fields("n r x l s m t k")...)
	benchGeneric = strings.Fields(`Analytics Logistics Software Health Capital Foods Energy Media Labs Security Systems
	Robotics Dynamics Networks Solutions Partners Consulting Ventures Industries Pharma Biotech Materials Motors
	Aerospace Insurance Realty Apparel Brewing Studios Telecom Devices Semiconductors Chemicals Textiles Minerals
	Global International Technologies Services Digital Financial Medical Manufacturing Construction Marketing`)
	benchSuffix = []string{"", "", "Inc", "Inc.", "LLC", "Ltd", "Corp", "Corporation", "Co", "GmbH", "Group", "Company"}
	benchCities = []struct{ city, zip, area string }{{"Chicago", "60602", "312"}, {"Denver", "80203", "303"},
		{"Atlanta", "30303", "404"}, {"Miami", "33101", "305"}, {"Portland", "97201", "503"}, {"Austin", "73301", "512"},
		{"Boston", "02108", "617"}, {"Seattle", "98101", "206"}, {"San Francisco", "94105", "415"}, {"New York", "10001", "212"},
		{"Los Angeles", "90001", "213"}, {"Houston", "77001", "713"}, {"Phoenix", "85001", "602"}, {"Dallas", "75201", "214"}}
)

func benchBrand(rng *rand.Rand) string {
	var b strings.Builder
	for range 2 + rng.IntN(2) {
		b.WriteString(benchOnsets[rng.IntN(len(benchOnsets))] + benchVowels[rng.IntN(len(benchVowels))] + benchCodas[rng.IntN(len(benchCodas))])
	}
	w := b.String()
	return strings.ToUpper(w[:1]) + w[1:]
}

// generateAccounts writes n accounts into org with COPY, the way a CRM mirror is loaded: the
// table's secondary indexes are dropped first and rebuilt after (as pg_restore does), then
// the table is analysed. It returns the generated companies, for queries that find them.
func generateAccounts(b *testing.B, db *bun.DB, org uuid.UUID, n int) []benchCompany {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 42))
	companies := make([]benchCompany, n)
	for i := range companies {
		words := []string{benchBrand(rng)}
		if rng.IntN(10) < 3 {
			words = append(words, benchBrand(rng))
		}
		if rng.IntN(10) < 7 {
			words = append(words, benchGeneric[rng.IntN(len(benchGeneric))])
		}
		c := benchCities[rng.IntN(len(benchCities))]
		name := strings.Join(words, " ")
		if s := benchSuffix[rng.IntN(len(benchSuffix))]; s != "" {
			name += " " + s
		}
		companies[i] = benchCompany{name: name, domain: strings.ToLower(strings.Join(words, "")) + ".com",
			phone: fmt.Sprintf("+1 %s %03d %04d", c.area, 200+rng.IntN(800), rng.IntN(10000)), city: c.city, zip: c.zip}
	}
	var defs []string
	if err := db.NewRaw(`SELECT indexdef FROM pg_indexes WHERE tablename = 'crm_records' AND indexname <> 'crm_records_pkey'`).
		Scan(ctx, &defs); err != nil {
		b.Fatal(err)
	}
	for _, d := range defs {
		name := strings.Fields(strings.SplitN(d, " INDEX ", 2)[1])[0]
		if _, err := db.ExecContext(ctx, "DROP INDEX "+name); err != nil {
			b.Fatal(err)
		}
	}
	pr, pw := io.Pipe()
	go func() {
		now := time.Now().UTC().Format(time.RFC3339Nano)
		var line strings.Builder
		for i, c := range companies {
			fields := map[string]any{"Name": c.name, "Website": "https://www." + c.domain, "Phone": c.phone,
				"BillingCity": c.city, "BillingPostalCode": c.zip, "Industry": "Generated"}
			k := crm.KeysFor(crm.Account, fields, "US")
			fj, _ := json.Marshal(fields)
			line.Reset()
			for j, col := range []string{org.String(), crm.NewID(crm.Account), crm.Account, "bench-" + strconv.Itoa(i), string(fj), k.Name,
				k.Domain, "", k.Phone, strings.ToLower(c.city), c.zip, "", "", "", "1", now, now} {
				if j > 0 {
					line.WriteByte('\t')
				}
				line.WriteString(strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`).Replace(col))
			}
			line.WriteByte('\n')
			if _, err := io.WriteString(pw, line.String()); err != nil {
				return
			}
		}
		pw.Close()
	}()
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if _, err := pgdriver.CopyFrom(ctx, conn, pr, `COPY crm_records (org_id, id, object, external_id, fields, name_norm, domain,
		email, phone, city, postal_code, owner_id, account_id, birthdate, version, created_at, last_modified_at) FROM STDIN`); err != nil {
		pr.CloseWithError(err)
		b.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "SET maintenance_work_mem = '256MB'"); err != nil {
		b.Fatal(err)
	}
	for _, d := range defs {
		if _, err := conn.ExecContext(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, "ANALYZE crm_records"); err != nil {
		b.Fatal(err)
	}
	return companies
}

// benchQueries are records to match: existing companies as another system would write them
// (other case, suffix or a typo; with or without the website), and a share of new ones.
func benchQueries(cs []benchCompany, n int) []map[string]any {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]map[string]any, n)
	for i := range out {
		c := cs[rng.IntN(len(cs))]
		name := c.name
		switch i % 5 {
		case 0:
			name = strings.ToUpper(name)
		case 1:
			name = strings.TrimSuffix(strings.TrimSuffix(name, " Inc"), " LLC") + ", Inc."
		case 2: // a typo: two letters swapped
			if len(name) > 6 {
				r := []byte(name)
				r[4], r[5] = r[5], r[4]
				name = string(r)
			}
		case 3: // a company the CRM does not hold
			name = benchBrand(rng) + " " + benchGeneric[rng.IntN(len(benchGeneric))]
		}
		f := map[string]any{"Name": name, "BillingCity": c.city}
		if i%2 == 0 && i%5 != 3 {
			f["Website"] = c.domain
		}
		out[i] = f
	}
	return out
}
