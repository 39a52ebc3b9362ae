package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/testenv"
)

// seedDemo writes the demo CRM into an org and returns its records' ids by external id.
func seedDemo(t *testing.T, db *bun.DB, org uuid.UUID) map[string]string {
	t.Helper()
	ctx := context.Background()
	s := &crm.Local{DB: db, Region: "US"}
	if _, err := crm.SeedDemo(ctx, s, org); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, obj := range []string{crm.Account, crm.Contact, crm.Lead} {
		for after := ""; ; {
			p, err := s.Query(ctx, org, crm.Query{Object: obj, Limit: 1000, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Records {
				ids[r.ExternalID] = r.ID
			}
			if p.Next == "" {
				break
			}
			after = p.Next
		}
	}
	return ids
}

// matchResults posts a match request and returns its results, failing on anything but 200.
func matchResults(t *testing.T, ts *testServer, path, key, body string) (map[string]any, []map[string]any) {
	t.Helper()
	r := ts.call(t, http.MethodPost, path, key, body)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", path, r.StatusCode, r.body)
	}
	m := r.json(t)
	if m["success"] != true {
		t.Fatalf("success: %s", r.body)
	}
	var out []map[string]any
	for _, x := range m["results"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return m, out
}

func matchesOf(set map[string]any) []map[string]any {
	var out []map[string]any
	for _, x := range set["matches"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

func idsOf(ms []map[string]any) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m["id"].(string))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func explainedField(t *testing.T, m map[string]any, field string) map[string]any {
	t.Helper()
	for _, f := range m["explanation"].(map[string]any)["fields"].([]any) {
		if fm := f.(map[string]any); fm["field"] == field {
			return fm
		}
	}
	t.Fatalf("no explanation of %s in %v", field, m["explanation"])
	return nil
}

func TestMatchAccountsOverHTTP(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 0)
	ids := seedDemo(t, db, tn.OrgID)
	acme, acmeDup := ids["demo-acct-0"], ids["demo-acct-0-dup"] // "Acme Robotics" and "Acme Robotics, Inc."

	// Fuzzy (the default): a differently written name and the website find both Acme accounts.
	body, res := matchResults(t, ts, "/v1/match/accounts", tn.Secret,
		`{"records":[{"record_id":"in-1","fields":{"Name":"ACME Robotics Incorporated","Website":"https://acme-robotics.com/about"}},
		             {"fields":{"Name":"Zzyzx Quantum Bakery"}}]}`)
	if body["object"] != "Account" || body["mode"] != "fuzzy" || body["source"] != "crm" || body["credits_used"] != float64(0) {
		t.Fatalf("envelope: %v", body)
	}
	r0 := res[0]
	ms := matchesOf(r0)
	if r0["record_id"] != "in-1" || r0["matched"] != true || len(ms) < 2 || !contains(idsOf(ms[:2]), acme) || !contains(idsOf(ms[:2]), acmeDup) {
		t.Fatalf("acme: %v", r0)
	}
	best := r0["best"].(map[string]any)
	if best["decision"] != "match" || best["object"] != "Account" || best["decided_by"] != "rules" || best["confidence"].(float64) < 0.9 {
		t.Fatalf("best: %v", best)
	}
	name := explainedField(t, best, "Name")
	if name["input"] != "ACME Robotics Incorporated" || !strings.Contains(name["candidate"].(string), "Acme Robotics") ||
		name["method"] != "fuzzy" || name["score"].(float64) < 0.9 || name["weight"].(float64) <= 0 || name["contribution"].(float64) <= 0 {
		t.Fatalf("Name explanation: %v", name)
	}
	if r0["candidates_considered"].(float64) < 2 {
		t.Fatalf("considered %v", r0["candidates_considered"])
	}
	// A company the CRM does not hold: no match, best null.
	if res[1]["matched"] != false || res[1]["best"] != nil || len(matchesOf(res[1])) != 0 {
		t.Fatalf("unknown company: %v", res[1])
	}

	// Exact: equal normalised names match; a typo that fuzzy forgives does not.
	_, res = matchResults(t, ts, "/v1/match/accounts", tn.Secret,
		`{"records":[{"fields":{"Name":"acme robotics"}},{"fields":{"Name":"Acme Robotcs"}}],"options":{"mode":"exact"}}`)
	if got := idsOf(matchesOf(res[0])); len(got) < 2 || !contains(got, acme) || !contains(got, acmeDup) || res[0]["matched"] != true {
		t.Fatalf("exact acme: %v", res[0])
	}
	if res[0]["best"].(map[string]any)["explanation"].(map[string]any)["rule"] != "name" {
		t.Fatalf("exact rule: %v", res[0]["best"])
	}
	if len(matchesOf(res[1])) != 0 {
		t.Fatalf("exact mode matched a typo: %v", res[1])
	}
	_, res = matchResults(t, ts, "/v1/match/accounts", tn.Secret, `{"records":[{"fields":{"Name":"Acme Robotcs"}}],"options":{"mode":"fuzzy"}}`)
	if !contains(idsOf(matchesOf(res[0])), acme) {
		t.Fatalf("fuzzy mode missed a typo: %v", res[0])
	}

	// max_matches caps the list; a stored record is never its own match.
	_, res = matchResults(t, ts, "/v1/match/accounts", tn.Secret,
		fmt.Sprintf(`{"records":[{"record_id":%q,"fields":{"Name":"Acme Robotics","Website":"acme-robotics.com"}}],"options":{"max_matches":1}}`, acme))
	if got := idsOf(matchesOf(res[0])); len(got) != 1 || got[0] != acmeDup {
		t.Fatalf("self-excluded, capped: %v", got)
	}
}

func TestMatchContactsAndLeadsOverHTTP(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 0)
	ids := seedDemo(t, db, tn.OrgID)
	d := crm.DemoCRM()

	// A contact entered again with a nickname: the original and the stored duplicate.
	var orig, dup crm.Input
	for _, c := range d.Contacts {
		if strings.HasSuffix(c.ExternalID, "-dup") {
			dup = c
			for _, o := range d.Contacts {
				if o.ExternalID == strings.TrimSuffix(c.ExternalID, "-dup") {
					orig = o
				}
			}
			break
		}
	}
	in, _ := json.Marshal(map[string]any{"records": []any{map[string]any{"fields": map[string]any{
		"FirstName": dup.Fields["FirstName"], "LastName": dup.Fields["LastName"], "Email": dup.Fields["Email"]}}}})
	_, res := matchResults(t, ts, "/v1/match/contacts", tn.Secret, string(in))
	got := idsOf(matchesOf(res[0]))
	if res[0]["matched"] != true || !contains(got, ids[orig.ExternalID]) || !contains(got, ids[dup.ExternalID]) {
		t.Fatalf("contact %v/%v: %v", orig.Fields["FirstName"], dup.Fields["FirstName"], res[0])
	}
	for _, m := range matchesOf(res[0]) {
		if m["id"] == ids[orig.ExternalID] {
			if m["decision"] != "match" || m["object"] != "Contact" || explainedField(t, m, "Email")["score"] != float64(1) {
				t.Fatalf("original contact: %v", m)
			}
		}
	}

	// A web-form lead for someone who is already a contact: the stored lead and the contact in
	// matches, the company's account in accounts.
	var lead crm.Input
	for _, l := range d.Leads {
		if strings.HasPrefix(l.ExternalID, "demo-lead-") {
			lead = l
			break
		}
	}
	var company string // demo-lead-<i>-<j>: company i
	fmt.Sscanf(lead.ExternalID, "demo-lead-%s", &company)
	company = "demo-acct-" + strings.Split(company, "-")[0]
	in, _ = json.Marshal(map[string]any{"records": []any{map[string]any{"record_id": "form-1", "fields": map[string]any{
		"FirstName": lead.Fields["FirstName"], "LastName": lead.Fields["LastName"], "Email": lead.Fields["Email"],
		"Company": lead.Fields["Company"], "City": lead.Fields["City"]}}}})
	body, res := matchResults(t, ts, "/v1/match/leads", tn.Secret, string(in))
	if body["object"] != "Lead" {
		t.Fatalf("object %v", body["object"])
	}
	objects := map[string]string{}
	for _, m := range matchesOf(res[0]) {
		objects[m["id"].(string)] = m["object"].(string)
	}
	if objects[ids[lead.ExternalID]] != "Lead" || res[0]["matched"] != true {
		t.Fatalf("lead %s not matched to the stored lead: %v", lead.ExternalID, res[0])
	}
	sawContact := false
	for id, o := range objects {
		if o == "Contact" && strings.HasPrefix(id, "003") {
			sawContact = true
		}
	}
	if !sawContact {
		t.Fatalf("lead not matched to a contact: %v", objects)
	}
	acc := res[0]["accounts"].(map[string]any)
	if acc["matched"] != true || acc["best"].(map[string]any)["object"] != "Account" || !contains(idsOf(matchesOf(acc)), ids[company]) {
		t.Fatalf("lead-to-account (%s): %v", company, acc)
	}
}

func TestMatchInlineCandidatesAndRules(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 0) // an empty CRM: only the request's candidates exist
	cands := `"candidates":[
	  {"id":"a1","fields":{"Name":"Initech LLC","Website":"initech.com","Phone":"+1 512 555 0102"}},
	  {"id":"a2","fields":{"Name":"Initrode Global","Phone":"+1 512 555 0199"}},
	  {"id":"a3","fields":{"Name":"Penetrode Systems","Phone":"(650) 555-0100"}}]`
	body, res := matchResults(t, ts, "/v1/match/accounts", tn.Secret,
		`{"records":[{"fields":{"Name":"Initech","Website":"www.initech.com"}},{"fields":{"Name":"Chotchkies Restaurant","Phone":"650-555-0100"}}],`+cands+`}`)
	if body["source"] != "inline" || res[0]["best"].(map[string]any)["id"] != "a1" || res[0]["matched"] != true ||
		res[0]["candidates_considered"] != float64(3) {
		t.Fatalf("inline: %v / %v", body["source"], res[0])
	}
	// Same phone, different name: the default rules need a name too, so at most possible.
	for _, m := range matchesOf(res[1]) {
		if m["decision"] == "match" {
			t.Fatalf("default rules matched on phone alone: %v", m)
		}
	}
	// Rules in the request: the phone alone is enough.
	_, res = matchResults(t, ts, "/v1/match/accounts", tn.Secret,
		`{"records":[{"fields":{"Name":"Chotchkies Restaurant","Phone":"650-555-0100"}}],`+cands+`,
		  "options":{"threshold":0.5,"rules":{"any":[{"name":"same-phone","all":[{"field":"Phone","method":"phone","threshold":0.95}]}]}}}`)
	best, _ := res[0]["best"].(map[string]any)
	if best == nil || best["id"] != "a3" || best["decision"] != "match" || best["explanation"].(map[string]any)["rule"] != "same-phone" {
		t.Fatalf("custom rule: %v", res[0])
	}
	phone := explainedField(t, best, "Phone")
	if phone["score"] != float64(1) || phone["input"] != "650-555-0100" || phone["candidate"] != "(650) 555-0100" {
		t.Fatalf("phone explanation: %v", phone)
	}
	// Leads against inline leads, contacts and accounts, each in its place.
	_, res = matchResults(t, ts, "/v1/match/leads", tn.Secret, `{"records":[{"fields":{"FirstName":"Bob","LastName":"Smith","Email":"bob.smith@initech.com","Company":"Initech"}}],
	  "candidates":[{"id":"c1","object":"Contact","fields":{"FirstName":"Robert","LastName":"Smith","Email":"bob.smith@initech.com"}},
	                {"id":"l1","fields":{"FirstName":"Bob","LastName":"Smyth","Company":"Initech","Email":"bob.smith@initech.com"}},
	                {"id":"a1","object":"Account","fields":{"Name":"Initech LLC","Website":"initech.com"}}]}`)
	ms := matchesOf(res[0])
	objs := map[string]string{}
	for _, m := range ms {
		objs[m["id"].(string)] = m["object"].(string)
	}
	acc := res[0]["accounts"].(map[string]any)
	if objs["c1"] != "Contact" || objs["l1"] != "Lead" || acc["best"].(map[string]any)["id"] != "a1" || acc["matched"] != true {
		t.Fatalf("inline leads: %v / %v", ms, acc)
	}
}

func TestMatchBadInput(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 0)
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprintf(`{"fields":{"Name":"Company %d"}}`, i))
	}
	ok := `"records":[{"fields":{"Name":"Acme"}}]`
	cases := []struct{ path, body, field string }{
		{"/v1/match/accounts", `{"records":[]}`, "body.records"},
		{"/v1/match/accounts", `{}`, "body.records"},
		{"/v1/match/accounts", `{"records":[` + strings.Join(many, ",") + `]}`, "body.records"},
		{"/v1/match/accounts", `{"records":[{"fields":{}}]}`, "body.records[0].fields"},
		{"/v1/match/accounts", `{"records":[{"fields":{"Name":"Acme"}},{"fields":{"Name":"  ","Colour":"red"}}]}`, "body.records[1].fields"},
		{"/v1/match/accounts", `{"records":[{}]}`, "body.records[0].fields"},
		{"/v1/match/accounts", `{"records":[{"fields":{"Name":{"first":"A"}}}]}`, "body.records[0].fields.Name"},
		{"/v1/match/contacts", `{"records":[{"fields":{"Colour":"red","Id":"003"}}]}`, "body.records[0].fields"},
		{"/v1/match/accounts", `{` + ok + `,"options":{"threshold":1.5}}`, "body.options.threshold"},
		{"/v1/match/accounts", `{` + ok + `,"options":{"threshold":-0.1}}`, "body.options.threshold"},
		{"/v1/match/accounts", `{` + ok + `,"options":{"mode":"magic"}}`, "body.options.mode"},
		{"/v1/match/accounts", `{` + ok + `,"options":{"max_matches":1000}}`, "body.options.max_matches"},
		{"/v1/match/accounts", `{` + ok + `,"options":{"tie_breakers":["age"]}}`, "body.options.tie_breakers[0]"},
		{"/v1/match/accounts", `{` + ok + `,"options":{"rules":{"any":[{"all":[{"field":"Colour","method":"exact","threshold":1}]}]}}}`, "body.options.rules.any[0].all[0].field"},
		{"/v1/match/accounts", `{` + ok + `,"options":{"rules":{"any":[{"all":[{"field":"Name","method":"vibes","threshold":1}]}]}}}`, "body.options.rules.any[0].all[0].method"},
		{"/v1/match/accounts", `{` + ok + `,"options":{"rules":{"any":[{"all":[{"field":"Name","method":"phone","threshold":1}]}]}}}`, "body.options.rules.any[0].all[0].method"},
		{"/v1/match/accounts", `{` + ok + `,"options":{"rules":{"any":[{"all":[{"field":"Name","method":"fuzzy","threshold":2}]}]}}}`, "body.options.rules.any[0].all[0].threshold"},
		{"/v1/match/accounts", `{` + ok + `,"options":{"rules":{"any":[]}}}`, "body.options.rules.any"},
		{"/v1/match/accounts", `{` + ok + `,"options":{"rules":{"any":[{"all":[{"field":"Name","method":"fuzzy","threshold":0.9}]}],"veto":[{"field":"Email","method":"exact","threshold":1}]}}}`, "body.options.rules.veto[0].field"},
		{"/v1/match/accounts", `{` + ok + `,"options":{"account_rules":{"any":[{"all":[{"field":"Name","method":"fuzzy","threshold":0.9}]}]}}}`, "body.options.account_rules"},
		{"/v1/match/leads", `{"records":[{"fields":{"LastName":"Smith"}}],"options":{"account_rules":{"any":[{"all":[{"field":"Email","method":"exact","threshold":1}]}]}}}`, "body.options.account_rules.any[0].all[0].field"},
		{"/v1/match/accounts", `{` + ok + `,"candidates":[]}`, "body.candidates"},
		{"/v1/match/accounts", `{` + ok + `,"candidates":[{"id":"x","object":"Opportunity","fields":{"Name":"A"}}]}`, "body.candidates[0].object"},
		{"/v1/match/accounts", `{` + ok + `,"candidates":[{"id":"x","object":"Contact","fields":{"LastName":"A"}}]}`, "body.candidates[0].object"},
		{"/v1/match/accounts", `{` + ok + `,"candidates":[{"id":"x","fields":{"Name":"A"}},{"id":"x","fields":{"Name":"B"}}]}`, "body.candidates[1].id"},
		{"/v1/match/accounts", `{` + ok + `,"candidates":[{"id":"","fields":{"Name":"A"}}]}`, "body.candidates[0].id"},
		{"/v1/match/opportunities", `{` + ok + `}`, "path.object"},
	}
	for _, tc := range cases {
		r := ts.call(t, http.MethodPost, tc.path, tn.Secret, tc.body)
		if r.StatusCode >= 500 || r.StatusCode < 400 {
			t.Errorf("%s %.120s: status %d %s", tc.path, tc.body, r.StatusCode, r.body)
			continue
		}
		m := problem(t, r, http.StatusUnprocessableEntity, "invalid_input")
		if !strings.Contains(m["detail"].(string), tc.field) {
			t.Errorf("%.120s: detail %q does not name %s", tc.body, m["detail"], tc.field)
		}
	}
	// No key: 401, like every /v1 operation.
	problem(t, ts.call(t, http.MethodPost, "/v1/match/accounts", "", `{`+ok+`}`), http.StatusUnauthorized, "unauthorized")
}

func TestMatchTenantIsolation(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	a, b := testenv.NewTenant(t, db, 0), testenv.NewTenant(t, db, 0)
	idsA, idsB := seedDemo(t, db, a.OrgID), seedDemo(t, db, b.OrgID)
	ownA, ownB := map[string]bool{}, map[string]bool{}
	for _, id := range idsA {
		ownA[id] = true
	}
	for _, id := range idsB {
		ownB[id] = true
	}
	// Only b holds this company.
	if _, err := (&crm.Local{DB: db, Region: "US"}).Create(context.Background(), b.OrgID, crm.Account,
		crm.Input{Fields: map[string]any{"Name": "Zanzibar Widget Works", "Website": "zanzibar-widgets.com", "Phone": "+1 415 555 0199"}}); err != nil {
		t.Fatal(err)
	}
	req := `{"records":[{"fields":{"Name":"Zanzibar Widget Works","Website":"zanzibar-widgets.com","Phone":"+1 415 555 0199"}},
	  {"fields":{"Name":"Acme Robotics","Website":"acme-robotics.com"}}]}`
	_, resA := matchResults(t, ts, "/v1/match/accounts", a.Secret, req)
	_, resB := matchResults(t, ts, "/v1/match/accounts", b.Secret, req)
	if len(matchesOf(resA[0])) != 0 || resB[0]["matched"] != true {
		t.Fatalf("zanzibar: a %v; b %v", resA[0], resB[0])
	}
	for _, m := range matchesOf(resA[1]) {
		if !ownA[m["id"].(string)] || ownB[m["id"].(string)] {
			t.Fatalf("org a got a record that is not its own: %v", m["id"])
		}
	}
	for _, m := range matchesOf(resB[1]) {
		if !ownB[m["id"].(string)] {
			t.Fatalf("org b got a record that is not its own: %v", m["id"])
		}
	}
	if len(matchesOf(resA[1])) < 2 || len(matchesOf(resB[1])) < 2 {
		t.Fatalf("acme: a %d, b %d matches", len(matchesOf(resA[1])), len(matchesOf(resB[1])))
	}
	// Leads search leads, contacts and accounts: all of them the caller's own.
	_, resA = matchResults(t, ts, "/v1/match/leads", a.Secret, `{"records":[{"fields":{"FirstName":"Bob","LastName":"Smith","Company":"Acme Robotics","Email":"robert.smith@acme-robotics.com"}}]}`)
	all := append(matchesOf(resA[0]), matchesOf(resA[0]["accounts"].(map[string]any))...)
	if len(all) == 0 {
		t.Fatal("lead matched nothing")
	}
	for _, m := range all {
		if !ownA[m["id"].(string)] {
			t.Fatalf("lead match %v is not org a's", m["id"])
		}
	}
}

// aiCandidates: the same company at another street (vetoed: possible), and its European arm.
const aiRequest = `{"records":[{"record_id":"r1","fields":{"Name":"Acme Robotics","BillingStreet":"99 Harbor Road","BillingCity":"Palo Alto","BillingCountry":"US"}}],
  "candidates":[{"id":"same","fields":{"Name":"Acme Robotics Inc","BillingStreet":"1 Main Street","BillingCity":"Palo Alto","BillingCountry":"US"}},
                {"id":"arm","fields":{"Name":"Acme Robotics Europe","BillingStreet":"5 Rue de Rivoli","BillingCity":"Palo Alto","BillingCountry":"US"}}],
  "options":{"mode":"ai"}}`

func TestMatchAIMode(t *testing.T) {
	db := testenv.DB(t)
	tn := testenv.NewTenant(t, db, 100)

	// Without a model: a clear 501 naming the setting, before any work.
	bare := start(t, db, generous)
	m := problem(t, bare.call(t, http.MethodPost, "/v1/match/accounts", tn.Secret, aiRequest), http.StatusNotImplemented, "not_configured")
	if !strings.Contains(m["detail"].(string), "LANTERN_LLM_BASE_URL") {
		t.Fatalf("detail %q", m["detail"])
	}

	llmSrv := testenv.NewLLM(t, 1000, func(req testenv.LLMRequest) any {
		if strings.Contains(req.User(), "Europe") {
			return map[string]any{"same_entity": false, "confidence": 0.9, "reason": "A European subsidiary is a separate legal entity."}
		}
		return map[string]any{"same_entity": true, "confidence": 0.95, "reason": "Same name and city; the office moved."}
	})
	ts := start(t, db, func(c *config.Config) { generous(c); withLLM(llmSrv)(c) })

	// Fuzzy first: both candidates are only possible (the street differs).
	_, res := matchResults(t, ts, "/v1/match/accounts", tn.Secret, strings.Replace(aiRequest, `"mode":"ai"`, `"mode":"fuzzy"`, 1))
	fuzzy := matchesOf(res[0])
	if len(fuzzy) != 2 || fuzzy[0]["decision"] != "possible" || fuzzy[1]["decision"] != "possible" || res[0]["matched"] != false {
		t.Fatalf("fuzzy: %v", fuzzy)
	}

	send := func(requestID string) (reply, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/match/accounts", strings.NewReader(aiRequest))
		req.Header.Set("Authorization", "Bearer "+tn.Secret)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-ID", requestID)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		r := reply{resp, b}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("ai: %d %s", resp.StatusCode, b)
		}
		return r, r.json(t)
	}
	r, body := send("match-ai-test-1")
	// Two verdicts of 1,000 tokens at 2 credits per 1,000 tokens: 4 credits.
	if body["mode"] != "ai" || body["credits_used"] != float64(4) || r.Header.Get("X-Credits-Remaining") != "96" {
		t.Fatalf("credits %v, header %q", body["credits_used"], r.Header.Get("X-Credits-Remaining"))
	}
	res0 := body["results"].([]any)[0].(map[string]any)
	ms := matchesOf(res0)
	if len(ms) != 2 || ms[0]["id"] != "same" || ms[0]["decision"] != "match" || ms[0]["decided_by"] != "ai" || res0["matched"] != true {
		t.Fatalf("ai: %v", ms)
	}
	if ms[1]["id"] != "arm" || ms[1]["decision"] != "no_match" || ms[1]["decided_by"] != "ai" {
		t.Fatalf("ai rejected: %v", ms[1])
	}
	ex := ms[0]["explanation"].(map[string]any)
	ai := ex["ai"].(map[string]any)
	if ai["same_entity"] != true || ai["confidence"] != 0.95 || !strings.Contains(ai["reason"].(string), "office moved") ||
		ai["model"] != "gpt-4o-mini-2024-07-18" || ai["credits_used"] != float64(2) {
		t.Fatalf("ai verdict: %v", ai)
	}
	// The deterministic evidence is still there, unchanged, beside the verdict.
	if ex["veto"] == "" || explainedField(t, ms[0], "Name")["score"].(float64) < 0.9 || ms[0]["confidence"] != fuzzy[0]["confidence"] {
		t.Fatalf("evidence: %v (fuzzy confidence %v)", ex, fuzzy[0]["confidence"])
	}
	// The records went to the model fenced as data, with the verdict schema.
	reqs := llmSrv.Requests()
	if len(reqs) != 2 || reqs[0].SchemaName() != "match_verdict" || !strings.Contains(reqs[0].User(), "<<<DATA input") ||
		!strings.Contains(reqs[0].User(), "<<<DATA candidate") {
		t.Fatalf("requests: %d %v", len(reqs), reqs)
	}
	// The same request id again: the model is asked again, but nothing is charged twice.
	r, body = send("match-ai-test-1")
	if body["credits_used"] != float64(0) || r.Header.Get("X-Credits-Remaining") != "96" {
		t.Fatalf("retry charged: %v, header %q", body["credits_used"], r.Header.Get("X-Credits-Remaining"))
	}
	// ai_max_candidates 1: only the best possible candidate is judged.
	_, res = matchResults(t, ts, "/v1/match/accounts", tn.Secret, strings.Replace(aiRequest, `"mode":"ai"`, `"mode":"ai","ai_max_candidates":1`, 1))
	judged := 0
	for _, m := range matchesOf(res[0]) {
		if m["explanation"].(map[string]any)["ai"] != nil {
			judged++
		} else if m["decided_by"] != "rules" || m["decision"] != "possible" {
			t.Fatalf("unjudged candidate: %v", m)
		}
	}
	if judged != 1 {
		t.Fatalf("ai_max_candidates 1: %d judged", judged)
	}

	// An org without credits is refused before the model is called.
	poor := testenv.NewTenant(t, db, 0)
	before := len(llmSrv.Requests())
	problem(t, ts.call(t, http.MethodPost, "/v1/match/accounts", poor.Secret, aiRequest), http.StatusPaymentRequired, "insufficient_credits")
	if len(llmSrv.Requests()) != before {
		t.Fatal("the model was called for an org without credits")
	}
}

// A model that fails keeps the deterministic decision and says why, without leaking its text.
func TestMatchAIModelFailure(t *testing.T) {
	db := testenv.DB(t)
	tn := testenv.NewTenant(t, db, 100)
	llmSrv := testenv.NewLLM(t, 100, func(req testenv.LLMRequest) any { return `not json at all` })
	ts := start(t, db, func(c *config.Config) { generous(c); withLLM(llmSrv)(c) })
	_, res := matchResults(t, ts, "/v1/match/accounts", tn.Secret, aiRequest)
	for _, m := range matchesOf(res[0]) {
		ai := m["explanation"].(map[string]any)["ai"].(map[string]any)
		if m["decision"] != "possible" || m["decided_by"] != "rules" || ai["error"] == "" || strings.Contains(ai["error"].(string), "not json") {
			t.Fatalf("failed verdict: %v", m)
		}
	}
}

// TestMatchAIMaxCredits: max_credits caps what a request spends on the model. A comparison whose
// worst case (prompt and a full answer, about 2-3 credits here) does not fit what is left is
// not asked, and its candidate keeps the deterministic decision with the reason.
func TestMatchAIMaxCredits(t *testing.T) {
	db := testenv.DB(t)
	tn := testenv.NewTenant(t, db, 100)
	llmSrv := testenv.NewLLM(t, 1000, func(req testenv.LLMRequest) any {
		return map[string]any{"same_entity": true, "confidence": 0.95, "reason": "Same name and city."}
	})
	ts := start(t, db, func(c *config.Config) { generous(c); withLLM(llmSrv)(c) })
	capped := strings.Replace(aiRequest, `"records"`, `"max_credits":3,"records"`, 1)
	r := ts.call(t, http.MethodPost, "/v1/match/accounts", tn.Secret, capped)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	body := r.json(t)
	asked, skipped := 0, 0
	for _, m := range matchesOf(body["results"].([]any)[0].(map[string]any)) {
		ai, _ := m["explanation"].(map[string]any)["ai"].(map[string]any)
		switch {
		case ai == nil:
			t.Fatalf("a possible candidate was neither judged nor skipped: %v", m)
		case ai["error"] == nil || ai["error"] == "":
			asked++
		case strings.Contains(ai["error"].(string), "max_credits 3") && m["decided_by"] == "rules" && m["decision"] == "possible":
			skipped++
		default:
			t.Fatalf("verdict: %v", m)
		}
	}
	if asked != 1 || skipped != 1 || len(llmSrv.Requests()) != 1 {
		t.Fatalf("asked %d, skipped %d, model calls %d", asked, skipped, len(llmSrv.Requests()))
	}
	if used := body["credits_used"].(float64); used < 1 || used > 3 {
		t.Fatalf("credits_used %v with max_credits 3", used)
	}
	problem(t, ts.call(t, http.MethodPost, "/v1/match/accounts", tn.Secret,
		strings.Replace(aiRequest, `"records"`, `"max_credits":-1,"records"`, 1)), http.StatusUnprocessableEntity, "invalid_input")
}

// Two accounts the matcher cannot tell apart: the contact_count and owner_active tie-breakers
// order them from the CRM's own facts, and the explanation shows those facts.
func TestMatchTieBreakersFromCRM(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 0)
	ctx := context.Background()
	s := &crm.Local{DB: db, Region: "US"}
	create := func(object string, fields map[string]any) string {
		r, err := s.Create(ctx, tn.OrgID, object, crm.Input{Fields: fields})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	active := create(crm.User, map[string]any{"FirstName": "Ada", "LastName": "Active", "Email": "ada@lantern.test", "IsActive": true})
	gone := create(crm.User, map[string]any{"FirstName": "Ian", "LastName": "Inactive", "Email": "ian@lantern.test", "IsActive": false})
	account := map[string]any{"Name": "Globex Dynamics", "Website": "globex-dynamics.com", "BillingCity": "Springfield"}
	busy := create(crm.Account, crm.WithChanges(account, map[string]any{"OwnerId": gone}))
	owned := create(crm.Account, crm.WithChanges(account, map[string]any{"OwnerId": active}))
	for i := range 3 {
		create(crm.Contact, map[string]any{"FirstName": "C", "LastName": fmt.Sprint("Number", i), "AccountId": busy})
	}

	rank := func(tieBreakers string) []map[string]any {
		t.Helper()
		_, res := matchResults(t, ts, "/v1/match/accounts", tn.Secret,
			`{"records":[{"fields":{"Name":"Globex Dynamics","Website":"globex-dynamics.com"}}],"options":{"tie_breakers":`+tieBreakers+`}}`)
		ms := matchesOf(res[0])
		if len(ms) != 2 || ms[0]["confidence"] != ms[1]["confidence"] {
			t.Fatalf("want two equally confident matches: %v", ms)
		}
		return ms
	}
	facts := func(m map[string]any) map[string]any {
		return m["explanation"].(map[string]any)["tie_break"].(map[string]any)
	}

	ms := rank(`["contact_count"]`)
	if ms[0]["id"] != busy || facts(ms[0])["contact_count"] != float64(3) || facts(ms[1])["contact_count"] != float64(0) {
		t.Fatalf("contact_count: %v then %v", ms[0], ms[1])
	}
	ms = rank(`["owner_active"]`)
	if ms[0]["id"] != owned || facts(ms[0])["owner_active"] != true || facts(ms[1])["owner_active"] != false {
		t.Fatalf("owner_active: %v then %v", ms[0], ms[1])
	}
	if facts(ms[0])["last_modified"] == nil {
		t.Fatalf("last_modified missing: %v", facts(ms[0]))
	}
}
