package routing

import (
	"strings"
	"testing"
	"time"
)

// run steps the rotation n times and returns who was chosen, in order.
func run(cands []Candidate, n int, catchUp bool) []string {
	var out []string
	for range n {
		d := Next(cands, catchUp)
		if d.Chosen < 0 {
			out = append(out, "-")
			continue
		}
		out = append(out, cands[d.Chosen].UserID)
		for i := range cands {
			cands[i].Current = d.After[i]
		}
	}
	return out
}

func weighted(weights ...int64) []Candidate {
	var cs []Candidate
	for i, w := range weights {
		cs = append(cs, Candidate{UserID: string(rune('A' + i)), Weight: w, Position: int64(i)})
	}
	return cs
}

func TestNextIsNginxSmoothWeightedRoundRobin(t *testing.T) {
	// The sequence nginx documents for weights 5, 1, 1.
	got := strings.Join(run(weighted(5, 1, 1), 7, false), "")
	if got != "AABACAA" {
		t.Fatalf("got %s, want AABACAA", got)
	}
	// Equal weights: plain rotation in join order.
	if got := strings.Join(run(weighted(1, 1, 1), 6, false), ""); got != "ABCABC" {
		t.Fatalf("equal weights: %s", got)
	}
}

func TestNextSharesAreExact(t *testing.T) {
	cs := weighted(3, 2, 1, 1)
	counts := map[string]int{}
	for i, who := range run(cs, 7*100+3, false) {
		counts[who]++
		// After every step each member is within one assignment of their ideal share.
		n := float64(i + 1)
		for j, c := range cs {
			ideal := n * float64(c.Weight) / 7
			if d := float64(counts[c.UserID]) - ideal; d > 1 || d < -1 {
				t.Fatalf("step %d: member %d has %d, ideal %.2f", i, j, counts[c.UserID], ideal)
			}
		}
	}
}

func TestNextSkipsAndKeepsPlace(t *testing.T) {
	cs := weighted(1, 1, 1)
	cs[1].Skip, cs[1].Away = "paused", true
	if got := strings.Join(run(cs, 4, false), ""); got != "ACAC" {
		t.Fatalf("with B paused: %s", got)
	}
	if cs[1].Current != 0 {
		t.Fatalf("paused member's score moved to %d", cs[1].Current)
	}
	// B returns where it left off: one turn each, no burst.
	cs[1].Skip, cs[1].Away = "", false
	if got := strings.Join(run(cs, 6, false), ""); got != "BACBAC" && got != "ABCABC" {
		t.Fatalf("after return: %s", got)
	}
}

func TestNextCatchUp(t *testing.T) {
	cs := weighted(1, 1, 1)
	cs[1].Skip, cs[1].Away = "paused", true
	run(cs, 4, true) // A and C get two each
	cs[1].Skip, cs[1].Away = "", false
	got := run(cs, 3, true)
	// B missed two assignments, so B gets the next two, then the rotation goes on.
	if got[0] != "B" || got[1] != "B" {
		t.Fatalf("catch up: %v", got)
	}
	// A capped member earns nothing, even with catch-up.
	cs = weighted(1, 1)
	cs[0].Skip = "daily cap reached"
	run(cs, 4, true)
	if cs[0].Current != 0 {
		t.Fatalf("capped member earned %d", cs[0].Current)
	}
}

func TestNextNobodyAvailable(t *testing.T) {
	cs := weighted(1, 2)
	cs[0].Skip, cs[1].Skip = "paused", "daily cap reached (3 of 3 in the last 24 hours)"
	d := Next(cs, true)
	if d.Chosen != -1 || d.After[0] != 0 || d.After[1] != 0 || !strings.Contains(d.Why, "nobody is available") || !strings.Contains(d.Why, "daily cap") {
		t.Fatalf("%+v", d)
	}
	if d := Next(nil, false); d.Chosen != -1 || !strings.Contains(d.Why, "no members") {
		t.Fatalf("empty pool: %+v", d)
	}
}

func TestNextExplains(t *testing.T) {
	cs := weighted(2, 1)
	cs[1].Skip = "paused"
	d := Next(cs, false)
	if d.Chosen != 0 || !strings.Contains(d.Why, "A has the highest score of the 1 available member(s): 0 + weight 2 = 2") || !strings.Contains(d.Why, "skipped: B (paused)") {
		t.Fatalf("why: %s", d.Why)
	}
}

func TestAvailability(t *testing.T) {
	// Wednesday 2026-12-02 15:30 UTC is 10:30 in New York.
	now := time.Date(2026, 12, 2, 15, 30, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	two := 2
	wh := &WorkingHours{TimeZone: "America/New_York", Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}
	for _, tc := range []struct {
		m    Member
		u    CapUsage
		skip string
		away bool
	}{
		{Member{Status: Active}, CapUsage{}, "", false},
		{Member{Status: Paused}, CapUsage{}, "paused", true},
		{Member{Status: OutOfOffice, OutOfOfficeUntil: &later}, CapUsage{}, "out of office until", true},
		{Member{Status: OutOfOffice, OutOfOfficeUntil: &now}, CapUsage{}, "", false}, // back now
		{Member{Status: Active, WorkingHours: wh}, CapUsage{}, "", false},
		{Member{Status: Active, WorkingHours: &WorkingHours{TimeZone: "Asia/Tokyo", Days: wh.Days, Start: "09:00", End: "17:00"}}, CapUsage{}, "outside working hours", true},
		{Member{Status: Active, CapDay: &two}, CapUsage{Day: 2, Week: 2}, "daily cap reached", false},
		{Member{Status: Active, CapWeek: &two}, CapUsage{Day: 0, Week: 2}, "weekly cap reached", false},
		{Member{Status: Active, CapDay: &two}, CapUsage{Day: 1, Week: 9}, "", false},
	} {
		skip, away := availability(&tc.m, now, tc.u)
		if (tc.skip == "") != (skip == "") || !strings.Contains(skip, tc.skip) || away != tc.away {
			t.Errorf("%+v %+v: skip %q away %v, want %q %v", tc.m, tc.u, skip, away, tc.skip, tc.away)
		}
	}
	for _, tc := range []struct {
		wh    WorkingHours
		field string
	}{
		{WorkingHours{TimeZone: "Mars/Olympus", Days: []string{"mon"}, Start: "09:00", End: "17:00"}, "time_zone"},
		{WorkingHours{TimeZone: "UTC", Days: []string{"monday"}, Start: "09:00", End: "17:00"}, "days"},
		{WorkingHours{TimeZone: "UTC", Days: []string{"mon"}, Start: "9am", End: "17:00"}, "start"},
		{WorkingHours{TimeZone: "UTC", Days: []string{"mon"}, Start: "17:00", End: "09:00"}, "end"},
	} {
		if err := tc.wh.check("body.working_hours"); err == nil || !strings.Contains(err.Error(), "body.working_hours."+tc.field) {
			t.Errorf("%+v: %v", tc.wh, err)
		}
	}
}
