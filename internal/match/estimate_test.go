package match

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// TestEstimateWeights prints, for each scored field, how comparator scores are distributed over
// true pairs (m) and random non-matching pairs (u) in the outside data. weights.go was set
// from this output (rounded, see the notes there). It only runs on request:
//
//	LANTERN_ESTIMATE_WEIGHTS=1 go test -run EstimateWeights -v ./internal/match/
func TestEstimateWeights(t *testing.T) {
	if os.Getenv("LANTERN_ESTIMATE_WEIGHTS") == "" {
		t.Skip("set LANTERN_ESTIMATE_WEIGHTS=1 to print m/u estimates")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	bins := []float64{1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.5, 0}

	type pair struct{ a, b *record }
	histogram := func(o *object, fieldName string, pairs []pair) (hist []float64, missing float64) {
		idx := o.byName[fieldName]
		k := o.fields[idx].kind
		hist = make([]float64, len(bins))
		for _, p := range pairs {
			av, bv := p.a.vals[idx], p.b.vals[idx]
			if !av.present() || !bv.present() {
				missing++
				continue
			}
			s := fuzzy(k, av, bv)
			for i, b := range bins {
				if s >= b {
					hist[i]++
					break
				}
			}
		}
		n := float64(len(pairs)) - missing
		for i := range hist {
			hist[i] /= max(n, 1)
		}
		return hist, missing / float64(len(pairs))
	}
	report := func(name string, o *object, fields []string, truePairs, randPairs []pair) {
		t.Logf("== %s: %d true pairs, %d random pairs", name, len(truePairs), len(randPairs))
		var hdr []string
		for _, b := range bins {
			hdr = append(hdr, fmt.Sprintf("≥%.2f", b))
		}
		t.Logf("%-18s %-2s %s  missing", "field", "", strings.Join(hdr, "  "))
		for _, f := range fields {
			hm, mm := histogram(o, f, truePairs)
			hu, mu := histogram(o, f, randPairs)
			row := func(h []float64) string {
				var s []string
				for _, x := range h {
					s = append(s, fmt.Sprintf("%.4f", x))
				}
				return strings.Join(s, " ")
			}
			t.Logf("%-18s m  %s  %.3f", f, row(hm), mm)
			t.Logf("%-18s u  %s  %.3f", f, row(hu), mu)
		}
	}
	// entityPairs samples at most perEntity true pairs from each entity so that one huge
	// entity (Philips in PATSTAT) does not decide m alone.
	entityPairs := func(p []*record, ent []string, perEntity int) []pair {
		groups := map[string][]int{}
		for i, e := range ent {
			groups[e] = append(groups[e], i)
		}
		var out []pair
		for _, g := range groups {
			var all []pair
			for x := 0; x < len(g); x++ {
				for y := x + 1; y < len(g); y++ {
					all = append(all, pair{p[g[x]], p[g[y]]})
				}
			}
			rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			if len(all) > perEntity {
				all = all[:perEntity]
			}
			out = append(out, all...)
		}
		return out
	}
	randomPairs := func(p []*record, ent []string, n int) []pair {
		var out []pair
		for len(out) < n {
			i, j := rng.IntN(len(p)), rng.IntN(len(p))
			if ent[i] != ent[j] {
				out = append(out, pair{p[i], p[j]})
			}
		}
		return out
	}
	acct := objects[ObjectAccount]
	prep := func(o *object, recs []Record) []*record {
		out := make([]*record, len(recs))
		for i := range recs {
			out[i] = prepare(o, &recs[i], "US")
		}
		return out
	}

	recs, ent := loadPatstat(t)
	p := prep(acct, recs)
	report("PATSTAT (Account)", acct, []string{"Name"}, entityPairs(p, ent, 300), randomPairs(p, ent, 200000))

	recs, ent = loadChicago(t)
	p = prep(acct, recs)
	report("Chicago (Account)", acct, []string{"Name", "Phone", "BillingStreet", "BillingPostalCode"},
		entityPairs(p, ent, 1000), randomPairs(p, ent, 200000))

	con := objects[ObjectContact]
	ra, ea := loadFebrl(t, "febrl_dataset4a.csv")
	rb, eb := loadFebrl(t, "febrl_dataset4b.csv")
	pa, pb := prep(con, ra), prep(con, rb)
	byEnt := map[string]*record{}
	for i, e := range ea {
		byEnt[e] = pa[i]
	}
	var tp, rp []pair
	for i, e := range eb {
		if a, ok := byEnt[e]; ok {
			tp = append(tp, pair{a, pb[i]})
		}
	}
	for len(rp) < 200000 {
		i, j := rng.IntN(len(pa)), rng.IntN(len(pb))
		if ea[i] != eb[j] {
			rp = append(rp, pair{pa[i], pb[j]})
		}
	}
	report("Febrl (Contact)", con, []string{"FirstName", "LastName", "MailingStreet", "MailingCity",
		"MailingPostalCode", "MailingState", "Birthdate"}, tp, rp)
}
