package routing

import (
	"fmt"
	"strings"
)

// Candidate is one pool member as the rotation sees it for one assignment.
type Candidate struct {
	UserID   string
	Weight   int64
	Current  int64 // the running score of smooth weighted round robin
	Position int64 // join order; the earlier member wins a tie
	// Skip says why the member cannot take this assignment ("" when they can).
	Skip string
	// Away is set for a skip that earns catch-up credit (paused, out of office, off hours);
	// a capped member never earns credit, or the cap would only postpone a burst.
	Away bool
}

// Decision is the outcome of one step of the rotation.
type Decision struct {
	Chosen int     // index into the candidates; -1 when nobody is available
	After  []int64 // every candidate's running score after the step
	Total  int64   // the weight subtracted from the chosen member
	Why    string  // the decision in words
}

// Next runs one step of smooth weighted round robin (the nginx rule), which spreads each
// member's picks evenly instead of in runs:
//
//  1. every member who takes part adds their weight to their score;
//  2. the available member with the highest score is chosen (ties: the earliest to join);
//  3. the chosen member's score drops by the sum of the weights that were added.
//
// Available members always take part. Unavailable members are skipped; with catchUp, those
// who are away (not capped) still take part in step 1, so their score grows while they are
// gone and they are chosen more often when they return until their share is made up.
// Without catchUp their score is frozen: they come back to their old place in the rotation.
// The sum of all scores stays constant, so the rotation neither drifts nor needs a reset.
func Next(cands []Candidate, catchUp bool) Decision {
	d := Decision{Chosen: -1, After: make([]int64, len(cands))}
	for i, c := range cands {
		d.After[i] = c.Current
		if c.Skip == "" || (catchUp && c.Away) {
			d.After[i] += c.Weight
			d.Total += c.Weight
		}
	}
	available := 0
	for i, c := range cands {
		if c.Skip != "" {
			continue
		}
		available++
		if d.Chosen < 0 || d.After[i] > d.After[d.Chosen] ||
			(d.After[i] == d.After[d.Chosen] && c.Position < cands[d.Chosen].Position) {
			d.Chosen = i
		}
	}
	var skipped []string
	for _, c := range cands {
		if c.Skip != "" {
			skipped = append(skipped, c.UserID+" ("+c.Skip+")")
		}
	}
	if d.Chosen < 0 {
		// Nothing changes when nobody can take the assignment.
		for i, c := range cands {
			d.After[i] = c.Current
		}
		d.Total = 0
		if len(cands) == 0 {
			d.Why = "nobody is available: the pool has no members"
		} else {
			d.Why = "nobody is available: " + strings.Join(skipped, ", ")
		}
		return d
	}
	c := cands[d.Chosen]
	d.Why = fmt.Sprintf("%s has the highest score of the %d available member(s): %d + weight %d = %d; it then drops by the total weight %d to %d",
		c.UserID, available, c.Current, c.Weight, d.After[d.Chosen], d.Total, d.After[d.Chosen]-d.Total)
	if len(skipped) > 0 {
		d.Why += "; skipped: " + strings.Join(skipped, ", ")
	}
	d.After[d.Chosen] -= d.Total
	return d
}
