package match

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"testing"
)

// Quality on data we did not make (testdata/SOURCES.md). Run with
//
//	go test -run Quality -v ./internal/match/
//
// A pair counts as predicted when Compare's decision is "match" with default options.
// Precision, recall and F1 are over record pairs.

type prf struct {
	tp, fp, fn int
}

func (c prf) precision() float64 { return ratio(c.tp, c.tp+c.fp) }
func (c prf) recall() float64    { return ratio(c.tp, c.tp+c.fn) }
func (c prf) f1() float64 {
	p, r := c.precision(), c.recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}
func (c prf) String() string {
	return fmt.Sprintf("precision %.4f  recall %.4f  F1 %.4f  (tp %d, fp %d, fn %d)",
		c.precision(), c.recall(), c.f1(), c.tp, c.fp, c.fn)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// allPairs compares every pair of records (i < j) in parallel and counts decisions.
func allPairs(o *object, recs []Record, entity []string, opt Options, onPair func(i, j int, m Match)) prf {
	region := regionOf(opt)
	rules := rulesOf(o, opt)
	prep := make([]*record, len(recs))
	for i := range recs {
		prep[i] = prepare(o, &recs[i], region)
	}
	workers := runtime.GOMAXPROCS(0)
	var mu sync.Mutex
	var total prf
	var wg sync.WaitGroup
	next := make(chan int, len(recs))
	for i := range recs {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c prf
			for i := range next {
				for j := i + 1; j < len(recs); j++ {
					m := compare(o, prep[i], prep[j], opt, rules)
					same := entity[i] == entity[j]
					pred := m.Decision == DecisionMatch
					switch {
					case pred && same:
						c.tp++
					case pred && !same:
						c.fp++
					case same:
						c.fn++
					}
					if onPair != nil && (pred != same) {
						mu.Lock()
						onPair(i, j, m)
						mu.Unlock()
					}
				}
			}
			mu.Lock()
			total.tp += c.tp
			total.fp += c.fp
			total.fn += c.fn
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total
}

// errorLog collects the commonest misclassified pairs for -v output when asked.
type errorLog map[string]int

func (e errorLog) log(t *testing.T, title string, n int) {
	type kv struct {
		k string
		v int
	}
	var xs []kv
	for k, v := range e {
		xs = append(xs, kv{k, v})
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].v > xs[j].v || xs[i].v == xs[j].v && xs[i].k < xs[j].k })
	t.Logf("%s (%d distinct)", title, len(xs))
	for i := 0; i < n && i < len(xs); i++ {
		t.Logf("  %6d  %s", xs[i].v, xs[i].k)
	}
}

var showErrors = os.Getenv("LANTERN_SHOW_ERRORS") != ""

func TestQualityPatstat(t *testing.T) {
	recs, ent := loadPatstat(t)
	fps, fns := errorLog{}, errorLog{}
	var on func(i, j int, m Match)
	if showErrors {
		on = func(i, j int, m Match) {
			k := recs[i].Fields["Name"] + "  |  " + recs[j].Fields["Name"]
			if ent[i] == ent[j] {
				fns[k]++
			} else {
				fps[k]++
			}
		}
	}
	c := allPairs(objects[ObjectAccount], recs, ent, Options{}, on)
	t.Logf("PATSTAT company names, all %d pairs, default Account rules on Name only: %v",
		len(recs)*(len(recs)-1)/2, c)
	if showErrors {
		fps.log(t, "false positives", 25)
		fns.log(t, "false negatives", 25)
	}
	if c.precision() < 0.95 || c.recall() < 0.90 {
		t.Errorf("PATSTAT below floor (precision ≥ 0.95 at recall ≥ 0.90): %v", c)
	}
}

func TestQualityChicago(t *testing.T) {
	recs, ent := loadChicago(t)
	fps, fns := errorLog{}, errorLog{}
	var on func(i, j int, m Match)
	if showErrors {
		on = func(i, j int, m Match) {
			f := func(r Record) string {
				return fmt.Sprintf("%q %q %q %q", r.Fields["Name"], r.Fields["BillingStreet"], r.Fields["BillingPostalCode"], r.Fields["Phone"])
			}
			k := f(recs[i]) + "  |  " + f(recs[j]) + fmt.Sprintf("  conf %.3f rule %q", m.Confidence, m.Rule)
			if ent[i] == ent[j] {
				fns[k]++
			} else {
				fps[k]++
			}
		}
	}
	c := allPairs(objects[ObjectAccount], recs, ent, Options{DefaultRegion: "US"}, on)
	t.Logf("Chicago early-childhood sites, all %d pairs, default Account rules (name, street, ZIP, phone): %v",
		len(recs)*(len(recs)-1)/2, c)
	if showErrors {
		fps.log(t, "false positives", 80)
		fns.log(t, "false negatives", 30)
	}
}

// candidateIndex simulates the database's candidate search: exact lookups on the blocking keys
// (email, phone, mobile phone, company domain, birth date) plus the top K records by pg_trgm similarity of
// the normalised name (ORDER BY similarity(name_key, $1) DESC LIMIT K, ties by id), skipping
// records that share no trigram.
type candidateIndex struct {
	keys  []BlockKeys
	tris  [][]trigram
	exact map[string][]int
}

func newCandidateIndex(object string, recs []Record) *candidateIndex {
	ix := &candidateIndex{exact: map[string][]int{}}
	for i, r := range recs {
		k := Keys(object, r, "US")
		ix.keys = append(ix.keys, k)
		ix.tris = append(ix.tris, trigrams(k.Name))
		for _, e := range exactKeys(k) {
			ix.exact[e] = append(ix.exact[e], i)
		}
	}
	return ix
}

func exactKeys(k BlockKeys) []string {
	var out []string
	if k.Email != "" {
		out = append(out, "e:"+k.Email)
	}
	if k.Domain != "" {
		out = append(out, "d:"+k.Domain)
	}
	if k.Birthdate != "" {
		out = append(out, "b:"+k.Birthdate)
	}
	for _, p := range []string{k.Phone, k.MobilePhone} {
		if p != "" {
			out = append(out, "p:"+p)
		}
	}
	return out
}

// candidates returns the indexes of the records retrieved for k, at most topK by name.
func (ix *candidateIndex) candidates(k BlockKeys, topK int, minSim float64) []int {
	seen := map[int]bool{}
	var out []int
	for _, e := range exactKeys(k) {
		for _, i := range ix.exact[e] {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	q := trigrams(k.Name)
	type hit struct {
		i int
		s float64
	}
	var hits []hit
	if len(q) > 0 {
		for i, t := range ix.tris {
			if len(t) == 0 {
				continue
			}
			if s := trigramJaccard(q, t); s > 0 && s >= minSim {
				hits = append(hits, hit{i, s})
			}
		}
	}
	sort.Slice(hits, func(a, b int) bool { return hits[a].s > hits[b].s || hits[a].s == hits[b].s && hits[a].i < hits[b].i })
	for n := 0; n < len(hits) && n < topK; n++ {
		if !seen[hits[n].i] {
			seen[hits[n].i] = true
			out = append(out, hits[n].i)
		}
	}
	return out
}

func TestQualityFebrl(t *testing.T) {
	const topK = 20
	a, ea := loadFebrl(t, "febrl_dataset4a.csv")
	b, eb := loadFebrl(t, "febrl_dataset4b.csv")
	ix := newCandidateIndex(ObjectContact, a)
	truePairs := 0
	inA := map[string]bool{}
	for _, e := range ea {
		inA[e] = true
	}
	for _, e := range eb {
		if inA[e] {
			truePairs++
		}
	}
	var c prf
	retrieved, retrievedTrue := 0, 0
	fps, fns := errorLog{}, errorLog{}
	opt := Options{}
	for i, in := range b {
		idx := ix.candidates(Keys(ObjectContact, in, "US"), topK, 0)
		cands := make([]Record, len(idx))
		truth := ""
		for n, j := range idx {
			cands[n] = a[j]
			if ea[j] == eb[i] {
				retrievedTrue++
				truth = a[j].ID
			}
		}
		retrieved += len(idx)
		found := false
		for _, m := range Rank(ObjectContact, in, cands, opt) {
			if m.Decision != DecisionMatch {
				continue
			}
			if m.CandidateID == truth {
				c.tp++
				found = true
			} else {
				c.fp++
				if showErrors {
					fps[in.ID+" → "+m.CandidateID+" rule "+m.Rule] = 1
				}
			}
		}
		if !found && inA[eb[i]] && showErrors {
			why := "not retrieved"
			if truth != "" {
				m := Compare(ObjectContact, in, a[indexOf(a, truth)], opt)
				why = fmt.Sprintf("conf %.3f rule %q veto %q  %v | %v", m.Confidence, m.Rule, m.Veto, in.Fields, a[indexOf(a, truth)].Fields)
			}
			fns[in.ID+": "+why] = 1
		}
	}
	c.fn = truePairs - c.tp
	t.Logf("Febrl 4a↔4b persons, default Contact rules; candidates = exact keys + top %d by pg_trgm name similarity "+
		"(%d compared pairs, %.1f per record; %d of %d true pairs retrieved, retrieval recall %.4f): %v",
		topK, retrieved, float64(retrieved)/float64(len(b)), retrievedTrue, truePairs,
		ratio(retrievedTrue, truePairs), c)
	if showErrors {
		fps.log(t, "false positives", 30)
		fns.log(t, "false negatives", 60)
	}
	if c.precision() < 0.98 || c.recall() < 0.95 {
		t.Errorf("Febrl below floor (precision ≥ 0.98, recall ≥ 0.95): %v", c)
	}
}

func indexOf(recs []Record, id string) int {
	for i, r := range recs {
		if r.ID == id {
			return i
		}
	}
	return -1
}
