package routelog

import (
	"context"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Count is the number of entries with one value of a dimension.
type Count struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// Stats counts one org's entries over [From, To) along each dimension.
type Stats struct {
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Total      int64     `json:"total"`
	ByAction   []Count   `json:"by_action"`
	ByObject   []Count   `json:"by_object"`
	ByPool     []Count   `json:"by_pool" doc:"Entries without a pool are left out"`
	ByAssignee []Count   `json:"by_assignee" doc:"Entries without an assignee are left out"`
	ByDay      []Count   `json:"by_day" doc:"UTC days, YYYY-MM-DD"`
}

// ComputeStats counts in one pass over the range, with GROUPING SETS.
func ComputeStats(ctx context.Context, db bun.IDB, orgID uuid.UUID, from, to time.Time) (Stats, error) {
	var rows []struct {
		Dim   string `bun:"dim"`
		Key   string `bun:"key"`
		Count int64  `bun:"count"`
	}
	err := db.NewRaw(`
SELECT CASE
         WHEN GROUPING(action) = 0 THEN 'action'
         WHEN GROUPING(object) = 0 THEN 'object'
         WHEN GROUPING(pool) = 0 THEN 'pool'
         WHEN GROUPING(assigned_to) = 0 THEN 'assignee'
         WHEN GROUPING(day) = 0 THEN 'day'
         ELSE 'total'
       END AS dim,
       coalesce(action, object, pool, assigned_to, day, '') AS key,
       count(*) AS count
FROM (SELECT action, object, pool, assigned_to,
             to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day
      FROM route_logs
      WHERE org_id = ? AND "timestamp" >= ? AND "timestamp" < ?) AS r
GROUP BY GROUPING SETS ((action), (object), (pool), (assigned_to), (day), ())
ORDER BY dim, count DESC, key`, orgID, from, to).Scan(ctx, &rows)
	if err != nil {
		return Stats{}, err
	}
	s := Stats{From: from, To: to, ByAction: []Count{}, ByObject: []Count{}, ByPool: []Count{},
		ByAssignee: []Count{}, ByDay: []Count{}}
	for _, r := range rows {
		c := Count{Key: r.Key, Count: r.Count}
		switch r.Dim {
		case "total":
			s.Total = r.Count
		case "action":
			s.ByAction = append(s.ByAction, c)
		case "object":
			s.ByObject = append(s.ByObject, c)
		case "pool":
			if r.Key != "" {
				s.ByPool = append(s.ByPool, c)
			}
		case "assignee":
			if r.Key != "" {
				s.ByAssignee = append(s.ByAssignee, c)
			}
		case "day":
			s.ByDay = append(s.ByDay, c)
		}
	}
	sort.Slice(s.ByDay, func(i, j int) bool { return s.ByDay[i].Key < s.ByDay[j].Key })
	return s, nil
}
