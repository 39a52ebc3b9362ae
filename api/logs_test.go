package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/routelog"
	"github.com/lanternhq/lantern/internal/testenv"
)

var logT0 = time.Date(2025, 9, 18, 0, 0, 0, 0, time.UTC)

// seedLogs writes n entries a minute apart from logT0, cycling through objects, actions and
// two pools; every third carries a diff.
func seedLogs(t testing.TB, db bun.IDB, org uuid.UUID, n int) []routelog.Entry {
	t.Helper()
	objects := []string{"Lead", "Contact", "Account", "Opportunity"}
	actions := []string{"assign", "convert", "merge", "enrich"}
	es := make([]routelog.Entry, n)
	for i := range es {
		e := routelog.Entry{Timestamp: logT0.Add(time.Duration(i) * time.Minute), Object: objects[i%4],
			ObjectID: fmt.Sprintf("00Qxx%010d", i), Action: actions[(i/4)%4], Reason: "round_robin",
			RequestID: fmt.Sprintf("req_%d", i), IdempotencyKey: fmt.Sprintf("key-%d", i)}
		if e.Action == "assign" {
			pool := []string{"SDR_WEST_01", "SDR_EAST_01"}[i%2]
			seq, user := int64(i), fmt.Sprintf("005xx%09d", i%5)
			e.Pool, e.Sequence, e.AssignedTo = &pool, &seq, &user
		}
		if i%3 == 0 {
			e.Diff = json.RawMessage(fmt.Sprintf(`{"Phone":{"old":null,"new":"+1415555%04d"}}`, i%10000))
		}
		es[i] = e
	}
	for i := 0; i < n; i += 5000 {
		if _, err := routelog.Write(context.Background(), db, org, es[i:min(i+5000, n)]...); err != nil {
			t.Fatal(err)
		}
	}
	return es
}

// generous lifts the export limits so a test can call many times.
func generous(c *config.Config) {
	for g := range c.RateLimits {
		c.RateLimits[g] = 10000
	}
}

func exportURL(q url.Values) string { return "/v1/logs/routing?" + q.Encode() }

func TestExportFiltersOverHTTP(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 0)
	es := seedLogs(t, db, tn.OrgID, 64)
	all := url.Values{"from": {"2025-09-18T00:00:00Z"}, "to": {"2025-09-19T00:00:00Z"}}
	count := func(q url.Values, want func(routelog.Entry) bool) {
		t.Helper()
		r := ts.get(t, exportURL(q), tn.Secret)
		if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%v: %d %s", q, r.StatusCode, r.body)
		}
		var got []routelog.Entry
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatalf("%v: not a JSON array: %v", q, err)
		}
		var expect []string
		for _, e := range es {
			if want(e) {
				expect = append(expect, e.ObjectID)
			}
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.ObjectID)
		}
		if strings.Join(ids, ",") != strings.Join(expect, ",") {
			t.Fatalf("%v:\n got %v\nwant %v", q, ids, expect)
		}
	}
	with := func(kv ...string) url.Values {
		q := url.Values{}
		for k, v := range all {
			q[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	count(with(), func(routelog.Entry) bool { return true })
	count(with("pool", "SDR_WEST_01"), func(e routelog.Entry) bool { return e.Pool != nil && *e.Pool == "SDR_WEST_01" })
	count(with("object", "Account"), func(e routelog.Entry) bool { return e.Object == "Account" })
	count(with("action", "merge"), func(e routelog.Entry) bool { return e.Action == "merge" })
	count(with("action", "assign", "object", "Lead"), func(e routelog.Entry) bool { return e.Action == "assign" && e.Object == "Lead" })
	count(with("limit", "5"), func(e routelog.Entry) bool { return e.Timestamp.Before(logT0.Add(5 * time.Minute)) })
	// The seed's own spelling: from_date and to_date.
	seedStyle := url.Values{"from_date": {"2025-09-18T00:10:00Z"}, "to_date": {"2025-09-18T00:20:00Z"}}
	count(seedStyle, func(e routelog.Entry) bool {
		return !e.Timestamp.Before(logT0.Add(10*time.Minute)) && e.Timestamp.Before(logT0.Add(20*time.Minute))
	})
	// A bare date as "to" includes that whole day; offsets are honoured.
	count(url.Values{"from": {"2025-09-18"}, "to": {"2025-09-18"}}, func(routelog.Entry) bool { return true })
	count(url.Values{"from": {"2025-09-18T02:30:00+02:00"}, "to": {"2025-09-18T00:40:00Z"}}, func(e routelog.Entry) bool {
		return !e.Timestamp.Before(logT0.Add(30*time.Minute)) && e.Timestamp.Before(logT0.Add(40*time.Minute))
	})
	// include_diff=false leaves diff out.
	r := ts.get(t, exportURL(with("include_diff", "false")), tn.Secret)
	if strings.Contains(string(r.body), `"diff"`) {
		t.Fatal("diff exported with include_diff=false")
	}
	if r := ts.get(t, exportURL(with()), tn.Secret); !strings.Contains(string(r.body), `"diff":{"Phone"`) {
		t.Fatal("diff missing by default")
	}
}

func TestExportCSVOverHTTP(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 0)
	seedLogs(t, db, tn.OrgID, 12)
	evil := routelog.Entry{Timestamp: logT0.Add(time.Hour), Object: "Lead", ObjectID: "00Qevil", Action: "enrich",
		Reason: "=cmd|' /C calc'!A0", RequestID: "a,b\"c", IdempotencyKey: "evil",
		Diff: json.RawMessage(`{"Note":{"old":"line1\nline2","new":"+SUM(1,2)"}}`)}
	if _, err := routelog.Write(context.Background(), db, tn.OrgID, evil); err != nil {
		t.Fatal(err)
	}
	r := ts.get(t, "/v1/logs/routing?from_date=2025-09-18&to_date=2025-09-18&format=csv", tn.Secret)
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("%d %q %s", r.StatusCode, r.Header.Get("Content-Type"), r.body)
	}
	if !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("Content-Disposition %q", r.Header.Get("Content-Disposition"))
	}
	recs, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v", err)
	}
	if strings.Join(recs[0], ",") != "timestamp,object,object_id,action,pool,assigned_to,prev_owner,sequence,reason,request_id,idempotency_key,diff" {
		t.Fatalf("header %v", recs[0])
	}
	if len(recs) != 14 {
		t.Fatalf("%d records, want header + 13", len(recs))
	}
	last := recs[13]
	if last[8] != "'=cmd|' /C calc'!A0" || last[9] != `a,b"c` {
		t.Fatalf("escaping: reason %q request_id %q", last[8], last[9])
	}
	var diff map[string]map[string]string
	if err := json.Unmarshal([]byte(last[11]), &diff); err != nil || diff["Note"]["old"] != "line1\nline2" {
		t.Fatalf("diff cell %q: %v", last[11], err)
	}
	if first := recs[1]; first[0] != "2025-09-18T00:00:00Z" || first[4] != "SDR_WEST_01" || first[7] != "0" {
		t.Fatalf("first row %v", first)
	}
	r = ts.get(t, "/v1/logs/routing?from=2025-09-18&to=2025-09-18&format=csv&include_diff=false", tn.Secret)
	recs, _ = csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	for _, rec := range recs[1:] {
		if rec[11] != "" {
			t.Fatalf("diff with include_diff=false: %v", rec)
		}
	}
}

func TestExportCapsAtTenThousand(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 0)
	seedLogs(t, db, tn.OrgID, 10050)
	q := "/v1/logs/routing?from=2025-09-01&to=2025-10-31"
	if r := ts.get(t, q, tn.Secret); strings.Count(string(r.body), `"object_id"`) != 1000 {
		t.Fatalf("default limit: %d entries", strings.Count(string(r.body), `"object_id"`))
	}
	r := ts.get(t, q+"&limit=10000&format=csv", tn.Secret)
	if n := bytes.Count(r.body, []byte("\n")); n != 10001 {
		t.Fatalf("limit=10000: %d lines, want 10001", n)
	}
	m := problem(t, ts.get(t, q+"&limit=10001", tn.Secret), http.StatusUnprocessableEntity, "invalid_input")
	if !strings.Contains(m["detail"].(string), "query.limit") {
		t.Fatalf("detail does not name the field: %v", m["detail"])
	}
}

func TestLargeExportsHaveTheirOwnLimit(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, nil) // the seed's limits: 10/min, 2/min over 5,000 records
	tn := testenv.NewTenant(t, db, 0)
	withinOneMinute(t, 5)
	q := "/v1/logs/routing?from=2025-09-01&to=2025-10-01"
	for i := range 2 {
		if r := ts.get(t, q+"&limit=5001", tn.Secret); r.StatusCode != http.StatusOK || r.Header.Get("X-RateLimit-Limit") != "2" {
			t.Fatalf("large export %d: %d limit %q", i, r.StatusCode, r.Header.Get("X-RateLimit-Limit"))
		}
	}
	problem(t, ts.get(t, q+"&limit=5001", tn.Secret), http.StatusTooManyRequests, "rate_limited")
	// Ordinary exports still go through: 2 of their 10 were used by the large ones.
	for i := range 8 {
		if r := ts.get(t, q+"&limit=5000", tn.Secret); r.StatusCode != http.StatusOK {
			t.Fatalf("export %d: %d", i, r.StatusCode)
		}
	}
	problem(t, ts.get(t, q, tn.Secret), http.StatusTooManyRequests, "rate_limited")
}

func TestStatsAndRetentionOverHTTP(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 0)
	seedLogs(t, db, tn.OrgID, 32)
	r := ts.get(t, "/v1/logs/stats?from_date=2025-09-18&to_date=2025-09-18", tn.Secret)
	m := r.json(t)
	if r.StatusCode != http.StatusOK || m["success"] != true || m["total"] != float64(32) {
		t.Fatalf("stats: %d %s", r.StatusCode, r.body)
	}
	if by := m["by_action"].([]any); len(by) != 4 {
		t.Fatalf("by_action: %v", by)
	}
	if by := m["by_pool"].([]any); len(by) != 2 {
		t.Fatalf("by_pool: %v", by)
	}

	if m := ts.get(t, "/v1/logs/retention", tn.Secret).json(t); m["retention_days"] != float64(365) || m["auto_cleanup"] != true || m["is_default"] != true {
		t.Fatalf("default retention: %v", m)
	}
	put := func(key, body string) reply {
		req, _ := http.NewRequest(http.MethodPut, ts.URL+"/v1/logs/retention", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tn.Secret)
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		return reply{resp, buf.Bytes()}
	}
	first := put("k1", `{"retention_days": 90, "auto_cleanup": false}`)
	if m := first.json(t); first.StatusCode != http.StatusOK || m["retention_days"] != float64(90) || m["auto_cleanup"] != false || m["success"] != true {
		t.Fatalf("put: %d %s", first.StatusCode, first.body)
	}
	// Another write in between; the replay still answers what the first call answered.
	if r := put("", `{"retention_days": 60}`); r.StatusCode != http.StatusOK {
		t.Fatalf("second put: %d", r.StatusCode)
	}
	replay := put("k1", `{"retention_days": 90, "auto_cleanup": false}`)
	if replay.StatusCode != http.StatusOK || string(replay.body) != string(first.body) {
		t.Fatalf("replay: %d %s, want %s", replay.StatusCode, replay.body, first.body)
	}
	problem(t, put("k1", `{"retention_days": 91}`), http.StatusConflict, "conflict")
	if m := ts.get(t, "/v1/logs/retention", tn.Secret).json(t); m["retention_days"] != float64(60) {
		t.Fatalf("retention after replay: %v", m)
	}
}

func TestBadInputIsA4xxNamingTheField(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 0)
	for _, tc := range []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"GET", "/v1/logs/routing?to=2025-01-02", "", 422, "query.from"},
		{"GET", "/v1/logs/routing?from=2025-01-02", "", 422, "query.to"},
		{"GET", "/v1/logs/routing?from=yesterday&to=2025-01-02", "", 422, "query.from"},
		{"GET", "/v1/logs/routing?from=2025-13-01&to=2025-12-02", "", 422, "query.from"},
		{"GET", "/v1/logs/routing?from=2025-01-02&to=2025-01-01T00:00:00Z", "", 422, "query.to"},
		{"GET", "/v1/logs/routing?from_date=2025-01-02&to_date=2025-01-01T12:00:00Z", "", 422, "query.to_date"},
		{"GET", "/v1/logs/routing?from=2025-01-01&from_date=2025-02-01&to=2025-03-01", "", 422, "query.from"},
		{"GET", "/v1/logs/routing?from=2025-01-01&to=2025-01-02&limit=0", "", 422, "query.limit"},
		{"GET", "/v1/logs/routing?from=2025-01-01&to=2025-01-02&limit=10001", "", 422, "query.limit"},
		{"GET", "/v1/logs/routing?from=2025-01-01&to=2025-01-02&limit=ten", "", 422, "query.limit"},
		{"GET", "/v1/logs/routing?from=2025-01-01&to=2025-01-02&object=Case", "", 422, "query.object"},
		{"GET", "/v1/logs/routing?from=2025-01-01&to=2025-01-02&action=delete", "", 422, "query.action"},
		{"GET", "/v1/logs/routing?from=2025-01-01&to=2025-01-02&format=xml", "", 422, "query.format"},
		{"GET", "/v1/logs/routing?from=2025-01-01&to=2025-01-02&include_diff=maybe", "", 422, "query.include_diff"},
		{"GET", "/v1/logs/stats?from=2025-01-02&to=2025-01-01", "", 422, "query.to"},
		{"GET", "/v1/credits/usage?from=2025-01-01&to=2025-01-02&group_by=week", "", 422, "query.group_by"},
		{"GET", "/v1/credits/usage?to=2025-01-02", "", 422, "query.from"},
		{"PUT", "/v1/logs/retention", `{"retention_days": 30`, 400, ""},
		{"PUT", "/v1/logs/retention", `{"retention_days": "thirty"}`, 422, "body.retention_days"},
		{"PUT", "/v1/logs/retention", `{"retention_days": 1096}`, 422, "body.retention_days"},
		{"PUT", "/v1/logs/retention", `{"retention_days": 0}`, 422, "body.retention_days"},
		{"PUT", "/v1/logs/retention", `{"retention_days": 30, "auto_cleanup": "yes"}`, 422, "body.auto_cleanup"},
		{"PUT", "/v1/logs/retention", `{"retention_days": 30, "retention": 5}`, 422, "body.retention"},
		{"PUT", "/v1/logs/retention", `[]`, 422, "body"},
		{"PUT", "/v1/logs/retention", ``, 400, ""},
	} {
		r := ts.call(t, tc.method, tc.path, tn.Secret, tc.body)
		if r.StatusCode != tc.status {
			t.Errorf("%s %s %s: %d, want %d: %s", tc.method, tc.path, tc.body, r.StatusCode, tc.status, r.body)
			continue
		}
		m := problem(t, r, tc.status, "invalid_input")
		if !strings.Contains(m["detail"].(string), tc.field) {
			t.Errorf("%s %s %s: detail %q does not name %s", tc.method, tc.path, tc.body, m["detail"], tc.field)
		}
	}
}
