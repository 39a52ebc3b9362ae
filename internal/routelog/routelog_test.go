package routelog_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/routelog"
	"github.com/lanternhq/lantern/internal/testenv"
)

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2025, 9, 18, 16, 12, 0, 0, time.UTC)

func sample() []routelog.Entry {
	return []routelog.Entry{
		{Timestamp: t0, Object: "Lead", ObjectID: "00Qxx0000Lm789U", Action: "assign", Pool: ptr("SDR_WEST_01"),
			AssignedTo: ptr("005xx0002ABCDE"), PrevOwner: ptr("005xx0001ZZZZZ"), Sequence: ptr(int64(1245)),
			Reason: "round_robin", RequestID: "req_abc123", IdempotencyKey: "c1f2"},
		{Timestamp: t0.Add(3 * time.Minute), Object: "Lead", ObjectID: "00Qxx0000Lm78AA", Action: "enrich",
			Reason: "auto_enrichment", RequestID: "req_def456", IdempotencyKey: "a3b4",
			Diff: json.RawMessage(`{"Phone":{"old":null,"new":"+14155550100"}}`)},
		{Timestamp: t0.Add(time.Hour), Object: "Contact", ObjectID: "003xx0000AAAAAA", Action: "merge",
			Reason: `=HYPERLINK("http://evil","x"), "quoted"` + "\nnext line", RequestID: "req_m", IdempotencyKey: "m1",
			Diff: json.RawMessage(`{"Title":{"old":"","new":"-1+2"}}`)},
		{Timestamp: t0.Add(2 * time.Hour), Object: "Account", ObjectID: "001xx0000BBBBBB", Action: "assign",
			Pool: ptr("@AE_POOL"), AssignedTo: ptr("005xx0003FFFFF"), Sequence: ptr(int64(7)), Reason: "round_robin",
			RequestID: "req_a2", IdempotencyKey: "k-a2"},
	}
}

func TestWriteDeduplicatesOnIdempotencyKey(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	n, err := routelog.Write(ctx, db, org, sample()...)
	if err != nil || n != 4 {
		t.Fatalf("first write: %d %v", n, err)
	}
	n, err = routelog.Write(ctx, db, org, sample()...)
	if err != nil || n != 0 {
		t.Fatalf("repeat write: %d %v, want 0 new", n, err)
	}
	// The same key twice in one call, and an entry without a key, which is always written.
	e := sample()[0]
	e.IdempotencyKey = "fresh"
	noKey := sample()[1]
	noKey.IdempotencyKey = ""
	n, err = routelog.Write(ctx, db, org, e, e, noKey, noKey)
	if err != nil || n != 3 {
		t.Fatalf("mixed write: %d %v, want 3", n, err)
	}
	// Another org's identical keys are its own.
	other := testenv.NewTenant(t, db, 0).OrgID
	if n, err := routelog.Write(ctx, db, other, sample()...); err != nil || n != 4 {
		t.Fatalf("other org: %d %v", n, err)
	}
}

func TestWriteCreatesMissingMonths(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	old := routelog.Entry{Timestamp: time.Date(2019, 8, 24, 14, 15, 22, 0, time.UTC), Object: "Lead",
		ObjectID: "00Q1", Action: "convert", Reason: "import"}
	future := old
	future.Timestamp = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if n, err := routelog.Write(ctx, db, org, old, future); err != nil || n != 2 {
		t.Fatalf("write: %d %v", n, err)
	}
	parts, err := routelog.Partitions(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range parts {
		names[p.Name] = true
	}
	if !names["route_logs_p2019_08"] || !names["route_logs_p2031_01"] {
		t.Fatalf("partitions: %v", names)
	}
}

func TestWriteRejectsBadEntries(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	for field, e := range map[string]routelog.Entry{
		"entries[0].object":    {Timestamp: t0, Object: "Case", ObjectID: "x", Action: "assign"},
		"entries[0].action":    {Timestamp: t0, Object: "Lead", ObjectID: "x", Action: "delete"},
		"entries[0].timestamp": {Object: "Lead", ObjectID: "x", Action: "assign"},
		"entries[0].diff":      {Timestamp: t0, Object: "Lead", ObjectID: "x", Action: "enrich", Diff: json.RawMessage(`{`)},
	} {
		_, err := routelog.Write(ctx, db, org, e)
		ae, ok := apperr.As(err)
		if !ok || ae.Code != apperr.Invalid || ae.Field != field {
			t.Errorf("want invalid %s, got %v", field, err)
		}
	}
}

func filter(mod func(*routelog.Filter)) routelog.Filter {
	f := routelog.Filter{From: t0.Add(-time.Hour), To: t0.Add(24 * time.Hour), Limit: 1000, IncludeDiff: true}
	if mod != nil {
		mod(&f)
	}
	return f
}

func TestExportFilters(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	other := testenv.NewTenant(t, db, 0).OrgID
	if _, err := routelog.Write(ctx, db, org, sample()...); err != nil {
		t.Fatal(err)
	}
	if _, err := routelog.Write(ctx, db, other, sample()...); err != nil {
		t.Fatal(err)
	}
	ids := func(f routelog.Filter) string {
		t.Helper()
		es, err := routelog.List(ctx, db, org, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.ObjectID)
		}
		return strings.Join(out, ",")
	}
	for name, tc := range map[string]struct {
		f    routelog.Filter
		want string
	}{
		"all, oldest first": {filter(nil), "00Qxx0000Lm789U,00Qxx0000Lm78AA,003xx0000AAAAAA,001xx0000BBBBBB"},
		"pool":              {filter(func(f *routelog.Filter) { f.Pool = "SDR_WEST_01" }), "00Qxx0000Lm789U"},
		"object":            {filter(func(f *routelog.Filter) { f.Object = "Lead" }), "00Qxx0000Lm789U,00Qxx0000Lm78AA"},
		"action":            {filter(func(f *routelog.Filter) { f.Action = "assign" }), "00Qxx0000Lm789U,001xx0000BBBBBB"},
		"combined":          {filter(func(f *routelog.Filter) { f.Action = "assign"; f.Object = "Account" }), "001xx0000BBBBBB"},
		"from inclusive":    {filter(func(f *routelog.Filter) { f.From = t0.Add(time.Hour) }), "003xx0000AAAAAA,001xx0000BBBBBB"},
		"to exclusive":      {filter(func(f *routelog.Filter) { f.To = t0.Add(time.Hour) }), "00Qxx0000Lm789U,00Qxx0000Lm78AA"},
		"limit":             {filter(func(f *routelog.Filter) { f.Limit = 2 }), "00Qxx0000Lm789U,00Qxx0000Lm78AA"},
		"no match":          {filter(func(f *routelog.Filter) { f.Pool = "nope" }), ""},
	} {
		if got := ids(tc.f); got != tc.want {
			t.Errorf("%s: got %s, want %s", name, got, tc.want)
		}
	}
}

func TestExportJSONIsTheSeedShape(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	if _, err := routelog.Write(ctx, db, org, sample()...); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := routelog.ExportJSON(ctx, db, org, filter(nil), &buf); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	if len(got) != 4 {
		t.Fatalf("%d entries", len(got))
	}
	want := map[string]any{"timestamp": "2025-09-18T16:12:00Z", "object": "Lead", "object_id": "00Qxx0000Lm789U",
		"action": "assign", "pool": "SDR_WEST_01", "assigned_to": "005xx0002ABCDE", "prev_owner": "005xx0001ZZZZZ",
		"sequence": float64(1245), "reason": "round_robin", "request_id": "req_abc123", "idempotency_key": "c1f2"}
	if fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("assign entry:\n got %v\nwant %v", got[0], want)
	}
	// Absent optional fields are left out; the diff is the stored JSON.
	if _, ok := got[1]["pool"]; ok {
		t.Fatal("enrich entry has a pool")
	}
	if d, _ := json.Marshal(got[1]["diff"]); string(d) != `{"Phone":{"new":"+14155550100","old":null}}` {
		t.Fatalf("diff = %s", d)
	}
	if got[2]["reason"] != sample()[2].Reason {
		t.Fatalf("reason did not round-trip: %q", got[2]["reason"])
	}
	// include_diff=false drops the diff.
	buf.Reset()
	if err := routelog.ExportJSON(ctx, db, org, filter(func(f *routelog.Filter) { f.IncludeDiff = false }), &buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `"diff"`) {
		t.Fatalf("diff exported with include_diff=false: %s", buf.String())
	}
	// No rows is an empty array, not null.
	buf.Reset()
	if err := routelog.ExportJSON(ctx, db, uuid.New(), filter(nil), &buf); err != nil || buf.String() != "[]" {
		t.Fatalf("empty export = %q %v", buf.String(), err)
	}
}

func TestExportCSVHeaderQuotingAndFormulas(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	if _, err := routelog.Write(ctx, db, org, sample()...); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := routelog.ExportCSV(ctx, db, org, filter(nil), &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "timestamp,object,object_id,action,pool,assigned_to,prev_owner,sequence,reason,request_id,idempotency_key,diff\n") {
		t.Fatalf("header: %q", strings.SplitN(buf.String(), "\n", 2)[0])
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v", err)
	}
	if len(recs) != 5 {
		t.Fatalf("%d records", len(recs))
	}
	first := strings.Join(recs[1], "|")
	if first != "2025-09-18T16:12:00Z|Lead|00Qxx0000Lm789U|assign|SDR_WEST_01|005xx0002ABCDE|005xx0001ZZZZZ|1245|round_robin|req_abc123|c1f2|" {
		t.Fatalf("first row: %s", first)
	}
	var diff map[string]any
	if err := json.Unmarshal([]byte(recs[2][11]), &diff); err != nil {
		t.Fatalf("diff cell is not JSON: %q", recs[2][11])
	}
	// A formula, quotes, a comma and a newline survive as text, defused.
	if want := "'" + sample()[2].Reason; recs[3][8] != want {
		t.Fatalf("reason cell = %q, want %q", recs[3][8], want)
	}
	if recs[4][4] != "'@AE_POOL" {
		t.Fatalf("pool cell = %q", recs[4][4])
	}
	buf.Reset()
	if err := routelog.ExportCSV(ctx, db, org, filter(func(f *routelog.Filter) { f.IncludeDiff = false }), &buf); err != nil {
		t.Fatal(err)
	}
	recs, _ = csv.NewReader(&buf).ReadAll()
	for _, r := range recs[1:] {
		if len(r) != 12 || r[11] != "" {
			t.Fatalf("include_diff=false row: %q", r)
		}
	}
}

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"plain": "plain", "": "", "1-1": "1-1", "a=b": "a=b",
	} {
		if got := routelog.SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFilterValidate(t *testing.T) {
	for field, f := range map[string]routelog.Filter{
		"query.from":   {To: t0, Limit: 1},
		"query.to":     {From: t0, To: t0.Add(-time.Second), Limit: 1},
		"query.limit":  {From: t0, To: t0.Add(time.Hour), Limit: 10001},
		"query.object": {From: t0, To: t0.Add(time.Hour), Limit: 1, Object: "Case"},
		"query.action": {From: t0, To: t0.Add(time.Hour), Limit: 1, Action: "x"},
	} {
		ae, ok := apperr.As(f.Validate())
		if !ok || ae.Field != field {
			t.Errorf("want error on %s, got %v", field, f.Validate())
		}
	}
}

func TestStats(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	if _, err := routelog.Write(ctx, db, org, sample()...); err != nil {
		t.Fatal(err)
	}
	if _, err := routelog.Write(ctx, db, testenv.NewTenant(t, db, 0).OrgID, sample()...); err != nil {
		t.Fatal(err)
	}
	s, err := routelog.ComputeStats(ctx, db, org, t0.Add(-time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(s.Total, s.ByAction, s.ByObject, s.ByPool, s.ByAssignee, s.ByDay)
	want := "4 [{assign 2} {enrich 1} {merge 1}] [{Lead 2} {Account 1} {Contact 1}] [{@AE_POOL 1} {SDR_WEST_01 1}] [{005xx0002ABCDE 1} {005xx0003FFFFF 1}] [{2025-09-18 4}]"
	if got != want {
		t.Fatalf("stats:\n got %s\nwant %s", got, want)
	}
}
