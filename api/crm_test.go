package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/testenv"
)

func TestCRMRecordsOverHTTP(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 0)
	r := ts.call(t, http.MethodPost, "/v1/crm/Account", tn.Secret, `{"external_id":"erp-1","fields":{"Name":"Acme Robotics, Inc.","Website":"acme-robotics.com","Phone":"(650) 253-0000"}}`)
	m := r.json(t)
	if r.StatusCode != http.StatusCreated || m["success"] != true || len(m["id"].(string)) != 18 || !strings.HasPrefix(m["id"].(string), "001") || m["version"] != float64(1) {
		t.Fatalf("create: %d %s", r.StatusCode, r.body)
	}
	id := m["id"].(string)
	if r := ts.get(t, "/v1/crm/Account/"+id, tn.Secret); r.json(t)["fields"].(map[string]any)["Name"] != "Acme Robotics, Inc." {
		t.Fatalf("get: %s", r.body)
	}
	// Upsert by external id: the same record, updated.
	r = ts.call(t, http.MethodPut, "/v1/crm/Account/external/erp-1", tn.Secret, `{"fields":{"Name":"Acme Robotics","Industry":"Robotics"}}`)
	if m := r.json(t); r.StatusCode != http.StatusOK || m["id"] != id || m["created"] != false || m["version"] != float64(2) {
		t.Fatalf("upsert: %d %s", r.StatusCode, r.body)
	}
	r = ts.call(t, http.MethodPut, "/v1/crm/Account/external/erp-2", tn.Secret, `{"fields":{"Name":"Globex"}}`)
	if m := r.json(t); r.StatusCode != http.StatusCreated || m["created"] != true {
		t.Fatalf("upsert new: %d %s", r.StatusCode, r.body)
	}
	// Patch with If-Match: the stale version is refused.
	r = ts.call(t, http.MethodPatch, "/v1/crm/Account/"+id, tn.Secret, `{"fields":{"Phone":null}}`)
	if m := r.json(t); r.StatusCode != http.StatusOK || m["version"] != float64(3) || m["fields"].(map[string]any)["Phone"] != nil {
		t.Fatalf("patch: %d %s", r.StatusCode, r.body)
	}
	req, _ := http.NewRequest(http.MethodPatch, ts.URL+"/v1/crm/Account/"+id, strings.NewReader(`{"fields":{"Industry":"x"}}`))
	req.Header.Set("Authorization", "Bearer "+tn.Secret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-Match", "2")
	resp, _ := ts.Client().Do(req)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("stale If-Match: %d", resp.StatusCode)
	}
	resp.Body.Close()

	// Bulk: 300 contacts, one refused, then list them in pages.
	var recs []string
	for i := range 300 {
		recs = append(recs, fmt.Sprintf(`{"external_id":"c-%d","fields":{"FirstName":"P","LastName":"Person %d","Email":"p%d@acme-robotics.com","AccountId":"%s"}}`, i, i, i, id))
	}
	recs = append(recs, `{"fields":{"FirstName":"No last name"}}`)
	r = ts.call(t, http.MethodPost, "/v1/crm/Contact/bulk", tn.Secret, `{"records":[`+strings.Join(recs, ",")+`]}`)
	m = r.json(t)
	if r.StatusCode != http.StatusOK || m["created"] != float64(300) || m["failed"] != float64(1) || m["success"] != false {
		t.Fatalf("bulk: %d %.300s", r.StatusCode, r.body)
	}
	if e := m["results"].([]any)[300].(map[string]any)["error"].(map[string]any); e["field"] != "body.records[300].fields.LastName" {
		t.Fatalf("bulk error: %v", e)
	}
	total, cursor := 0, ""
	for {
		q := "/v1/crm/Contact?account_id=" + id + "&limit=120"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		m := ts.get(t, q, tn.Secret).json(t)
		total += len(m["records"].([]any))
		next, _ := m["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if total != 300 {
		t.Fatalf("listed %d", total)
	}
	if m := ts.get(t, "/v1/crm/Contact?email=P7@ACME-robotics.com", tn.Secret).json(t); len(m["records"].([]any)) != 1 {
		t.Fatalf("email filter: %v", m)
	}
	// Another org sees none of it.
	other := testenv.NewTenant(t, db, 0)
	problem(t, ts.get(t, "/v1/crm/Account/"+id, other.Secret), http.StatusNotFound, "not_found")
	if m := ts.get(t, "/v1/crm/Contact?limit=1000", other.Secret).json(t); len(m["records"].([]any)) != 0 {
		t.Fatalf("other org lists %v", m["records"])
	}
	// Delete.
	if r := ts.call(t, http.MethodDelete, "/v1/crm/Account/"+id, tn.Secret, ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.StatusCode, r.body)
	}
	problem(t, ts.get(t, "/v1/crm/Account/"+id, tn.Secret), http.StatusNotFound, "not_found")

	for _, tc := range []struct{ method, path, body, field string }{
		{"POST", "/v1/crm/Case", `{"fields":{"Subject":"x"}}`, "path.object"},
		{"POST", "/v1/crm/Account", `{"fields":{}}`, "body.fields.Name"},
		{"POST", "/v1/crm/Account", `{"fields":{"Name":{"nested":1}}}`, "body.fields.Name"},
		{"GET", "/v1/crm/Account?limit=1001", ``, "query.limit"},
		{"GET", "/v1/crm/Account?cursor=zzz", ``, "query.cursor"},
		{"GET", "/v1/crm/Account?modified_since=yesterday", ``, "query.modified_since"},
		{"POST", "/v1/crm/Account/bulk", `{"records":[]}`, "body.records"},
	} {
		r := ts.call(t, tc.method, tc.path, tn.Secret, tc.body)
		m := problem(t, r, http.StatusUnprocessableEntity, "invalid_input")
		if !strings.Contains(m["detail"].(string), tc.field) {
			t.Errorf("%s %s: detail %q does not name %s", tc.method, tc.path, m["detail"], tc.field)
		}
	}
}
