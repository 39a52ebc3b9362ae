package api

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/testenv"
)

// crmRecord creates a record over the API and returns its id.
func crmRecord(t *testing.T, ts *testServer, key, object, fields string) string {
	t.Helper()
	r := ts.call(t, http.MethodPost, "/v1/crm/"+object, key, `{"fields":`+fields+`}`)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create %s: %d %s", object, r.StatusCode, r.body)
	}
	return r.json(t)["id"].(string)
}

func TestRoutingOverHTTP(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 0)
	k := tn.Secret
	var users []string
	for i := range 3 {
		users = append(users, crmRecord(t, ts, k, "User", fmt.Sprintf(`{"LastName":"Rep %d","Email":"rep%d@example.com","IsActive":true}`, i, i)))
	}
	inactive := crmRecord(t, ts, k, "User", `{"LastName":"Gone","Email":"gone@example.com","IsActive":false}`)
	lead := crmRecord(t, ts, k, "Lead", `{"LastName":"Doe","Company":"Acme","OwnerId":"`+users[2]+`"}`)
	lead2 := crmRecord(t, ts, k, "Lead", `{"LastName":"Roe","Company":"Globex"}`)

	// Pools.
	r := ts.call(t, http.MethodPost, "/v1/routing/pools", k, `{"name":"SDR_WEST_01","objects":["Lead"]}`)
	if m := r.json(t); r.StatusCode != http.StatusCreated || m["success"] != true || m["on_return"] != "keep_place" || m["last_sequence"] != float64(0) {
		t.Fatalf("create pool: %d %s", r.StatusCode, r.body)
	}
	m := problem(t, ts.call(t, http.MethodPost, "/v1/routing/pools", k, `{"name":"SDR_WEST_01","objects":["Lead"]}`), http.StatusConflict, "conflict")
	if !strings.Contains(m["detail"].(string), "body.name") {
		t.Fatalf("duplicate detail: %v", m["detail"])
	}
	ts.call(t, http.MethodPost, "/v1/routing/pools", k, `{"name":"TEMP","objects":["Contact"]}`)
	r = ts.call(t, http.MethodPut, "/v1/routing/pools/TEMP", k, `{"name":"TEMP2","objects":["Contact","Account"],"on_return":"catch_up"}`)
	if m := r.json(t); r.StatusCode != http.StatusOK || m["name"] != "TEMP2" || m["on_return"] != "catch_up" {
		t.Fatalf("put pool: %d %s", r.StatusCode, r.body)
	}
	if m := ts.get(t, "/v1/routing/pools", k).json(t); len(m["pools"].([]any)) != 2 {
		t.Fatalf("list pools: %v", m)
	}
	if r := ts.call(t, http.MethodDelete, "/v1/routing/pools/TEMP2", k, ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete pool: %d %s", r.StatusCode, r.body)
	}
	problem(t, ts.get(t, "/v1/routing/pools/TEMP2", k), http.StatusNotFound, "not_found")

	// Members.
	for i, u := range users {
		r := ts.call(t, http.MethodPost, "/v1/routing/pools/SDR_WEST_01/members", k, fmt.Sprintf(`{"user_id":"%s","weight":%d}`, u, 2-min(i, 1)))
		if m := r.json(t); r.StatusCode != http.StatusCreated || m["user_id"] != u || m["status"] != "active" {
			t.Fatalf("add member: %d %s", r.StatusCode, r.body)
		}
	}
	r = ts.call(t, http.MethodPut, "/v1/routing/pools/SDR_WEST_01/members/"+users[2], k,
		`{"weight":1,"cap_week":100,"working_hours":{"time_zone":"UTC","days":["mon","tue","wed","thu","fri","sat","sun"],"start":"00:00","end":"23:59"}}`)
	if m := r.json(t); r.StatusCode != http.StatusOK || m["cap_week"] != float64(100) || m["working_hours"] == nil {
		t.Fatalf("put member: %d %s", r.StatusCode, r.body)
	}
	if m := ts.get(t, "/v1/routing/pools/SDR_WEST_01/members", k).json(t); len(m["members"].([]any)) != 3 {
		t.Fatalf("list members: %v", m)
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"POST", "/v1/routing/pools/SDR_WEST_01/members", `{"user_id":"005000000000001AAA","weight":1}`, 422, "body.user_id"},
		{"POST", "/v1/routing/pools/SDR_WEST_01/members", `{"user_id":"` + inactive + `","weight":1}`, 422, "body.user_id"},
		{"POST", "/v1/routing/pools/SDR_WEST_01/members", `{"user_id":"` + lead + `","weight":1}`, 422, "body.user_id"},
		{"POST", "/v1/routing/pools/SDR_WEST_01/members", `{"user_id":"` + inactive + `","weight":0}`, 422, "body.weight"},
		{"POST", "/v1/routing/pools/SDR_WEST_01/members", `{"user_id":"` + users[0] + `","weight":1}`, 409, "body.user_id"},
		{"POST", "/v1/routing/pools/NOPE/members", `{"user_id":"` + users[0] + `","weight":1}`, 404, "pool"},
		{"PUT", "/v1/routing/pools/SDR_WEST_01/members/" + users[0], `{"weight":1,"working_hours":{"time_zone":"Mars/Base","days":["mon"],"start":"09:00","end":"17:00"}}`, 422, "body.working_hours.time_zone"},
		{"PUT", "/v1/routing/pools/SDR_WEST_01/members/" + users[0], `{"weight":-1}`, 422, "body.weight"},
		{"POST", "/v1/routing/pools", `{"name":"X","objects":["User"]}`, 422, "body.objects"},
		{"POST", "/v1/routing/assign", `{"object":"Lead","object_id":"` + lead + `","pool":"NOPE"}`, 404, "pool"},
		{"POST", "/v1/routing/assign", `{"object":"Lead","object_id":"` + users[0] + `","pool":"SDR_WEST_01"}`, 422, "body.object_id"},
		{"POST", "/v1/routing/pools/SDR_WEST_01/reset", `{"mode":"restart","reason":""}`, 422, "body.reason"},
		{"POST", "/v1/routing/pools/SDR_WEST_01/reset", `{"mode":"shuffle","reason":"x"}`, 422, "body.mode"},
	} {
		r := ts.call(t, tc.method, tc.path, k, tc.body)
		m := problem(t, r, tc.status, map[int]string{404: "not_found", 409: "conflict", 422: "invalid_input"}[tc.status])
		if !strings.Contains(fmt.Sprint(m["detail"], m["errors"]), tc.field) {
			t.Errorf("%s %s: %v does not name %s", tc.method, tc.path, m["detail"], tc.field)
		}
	}

	// Dry run, then assign twice with one key, then another record.
	r = ts.call(t, http.MethodPost, "/v1/routing/assign", k, `{"object":"Lead","object_id":"`+lead+`","pool":"SDR_WEST_01","dry_run":true}`)
	if m := r.json(t); r.StatusCode != http.StatusOK || m["assigned_to"] != users[0] || m["dry_run"] != true || m["sequence"] != float64(1) || !strings.Contains(m["why"].(string), "highest score") {
		t.Fatalf("dry run: %d %s", r.StatusCode, r.body)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/routing/assign", strings.NewReader(`{"object":"Lead","object_id":"`+lead+`","pool":"SDR_WEST_01","reason":"inbound"}`))
	req.Header.Set("Authorization", "Bearer "+k)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "c1f2-lead-1")
	for i := range 2 {
		req.Body, _ = req.GetBody()
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		body := reply{resp, b}
		m := body.json(t)
		if resp.StatusCode != http.StatusOK || m["success"] != true || m["assigned_to"] != users[0] || m["sequence"] != float64(1) ||
			m["prev_owner"] != users[2] || m["replayed"] != (i == 1) {
			t.Fatalf("assign %d: %d %s", i, resp.StatusCode, body.body)
		}
	}
	if m := ts.get(t, "/v1/crm/Lead/"+lead, k).json(t); m["fields"].(map[string]any)["OwnerId"] != users[0] {
		t.Fatalf("owner not set: %v", m["fields"])
	}
	r = ts.call(t, http.MethodPost, "/v1/routing/assign", k, `{"object":"Lead","object_id":"`+lead2+`","pool":"SDR_WEST_01","idempotency_key":"k2"}`)
	if m := r.json(t); m["assigned_to"] != users[1] || m["sequence"] != float64(2) {
		t.Fatalf("second assign: %s", r.body)
	}

	// State, reset, state.
	st := ts.get(t, "/v1/routing/pools/SDR_WEST_01/state", k).json(t)
	next := st["next"].(map[string]any)
	if next["user_id"] != users[2] || next["sequence"] != float64(3) || st["pool"].(map[string]any)["last_sequence"] != float64(2) {
		t.Fatalf("state: %v", st)
	}
	if m := st["members"].([]any)[2].(map[string]any); m["cap_usage"].(map[string]any)["week"] != float64(0) || m["cap_week"] != float64(100) {
		t.Fatalf("member state: %v", m)
	}
	r = ts.call(t, http.MethodPost, "/v1/routing/pools/SDR_WEST_01/reset", k, `{"mode":"restart","reason":"territory change"}`)
	if m := r.json(t); r.StatusCode != http.StatusOK || m["mode"] != "restart" || m["sequence"] != float64(2) || m["request_id"] != r.Header.Get("X-Request-ID") {
		t.Fatalf("reset: %d %s", r.StatusCode, r.body)
	}
	st = ts.get(t, "/v1/routing/pools/SDR_WEST_01/state", k).json(t)
	if st["next"].(map[string]any)["user_id"] != users[0] || st["resets"].([]any)[0].(map[string]any)["reason"] != "territory change" {
		t.Fatalf("state after reset: %v", st)
	}

	// The route log export carries the assignments with the seed's fields.
	day := time.Now().UTC().Format("2006-01-02")
	r = ts.get(t, "/v1/logs/routing?from="+day+"&to="+day+"&pool=SDR_WEST_01&action=assign&format=csv", k)
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], ",Lead,"+lead+",assign,SDR_WEST_01,"+users[0]+","+users[2]+",1,inbound,") || !strings.Contains(lines[1], ",c1f2-lead-1,") {
		t.Fatalf("export: %s", r.body)
	}

	// Another org sees nothing.
	other := testenv.NewTenant(t, db, 0)
	problem(t, ts.get(t, "/v1/routing/pools/SDR_WEST_01/state", other.Secret), http.StatusNotFound, "not_found")
}

func TestRoutingAssignConcurrentlyOnTwoServers(t *testing.T) {
	db := testenv.DB(t)
	servers := []*testServer{start(t, db, generous), start(t, db, generous)}
	tn := testenv.NewTenant(t, db, 0)
	k := tn.Secret
	ts := servers[0]
	var users []string
	for i := range 4 {
		users = append(users, crmRecord(t, ts, k, "User", fmt.Sprintf(`{"LastName":"Rep %d","Email":"rep%d@example.com"}`, i, i)))
	}
	ts.call(t, http.MethodPost, "/v1/routing/pools", k, `{"name":"P","objects":["Lead"]}`)
	for _, u := range users {
		ts.call(t, http.MethodPost, "/v1/routing/pools/P/members", k, `{"user_id":"`+u+`"}`)
	}
	var recs []string
	for i := range 200 {
		recs = append(recs, fmt.Sprintf(`{"fields":{"LastName":"L%d","Company":"C"}}`, i))
	}
	var leads []string
	for _, res := range ts.call(t, http.MethodPost, "/v1/crm/Lead/bulk", k, `{"records":[`+strings.Join(recs, ",")+`]}`).json(t)["results"].([]any) {
		leads = append(leads, res.(map[string]any)["id"].(string))
	}
	// Each lead is sent twice with its key, to either server: 200 assignments, 400 calls.
	var mu sync.Mutex
	byKey := map[string]string{}
	seqs := map[float64]bool{}
	var wg sync.WaitGroup
	work := make(chan int, 400)
	for i := range 400 {
		work <- i
	}
	close(work)
	for c := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				lead := leads[i%200]
				r := servers[(c+i)%2].call(t, http.MethodPost, "/v1/routing/assign", k,
					`{"object":"Lead","object_id":"`+lead+`","pool":"P","idempotency_key":"key-`+lead+`"}`)
				m := r.json(t)
				if r.StatusCode != http.StatusOK || m["assigned"] != true {
					t.Errorf("assign: %d %s", r.StatusCode, r.body)
					return
				}
				mu.Lock()
				who := fmt.Sprint(m["assigned_to"], "#", m["sequence"])
				if prev, ok := byKey[lead]; ok && prev != who {
					t.Errorf("key for %s answered %s and %s", lead, prev, who)
				}
				byKey[lead] = who
				seqs[m["sequence"].(float64)] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seqs) != 200 {
		t.Fatalf("%d distinct sequences, want 200", len(seqs))
	}
	for s := 1; s <= 200; s++ {
		if !seqs[float64(s)] {
			t.Fatalf("sequence %d missing", s)
		}
	}
	st := ts.get(t, "/v1/routing/pools/P/state", k).json(t)
	for _, m := range st["members"].([]any) {
		if n := m.(map[string]any)["assigned"]; n != float64(50) {
			t.Fatalf("equal weights, 200 assignments over 4: member has %v", n)
		}
	}
}
