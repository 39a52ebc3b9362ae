package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
)

func soqlOf(t *testing.T, s seen) string {
	t.Helper()
	q, err := url.ParseQuery(s.Query)
	if err != nil {
		t.Fatal(err)
	}
	return q.Get("q")
}

func TestQueryFollowsNextRecordsURL(t *testing.T) {
	f := newFake(t)
	f.on("GET "+v+"query", reply200(200, fixture(t, "query_paginated_first_page_response.json")))
	f.on("GET /services/data/v26.0/query/01gD", reply200(200, fixture(t, "query_paginated_last_page_response.json")))
	c := f.client()
	p, err := c.Query(context.Background(), org, crm.Query{Object: crm.Account, Limit: 10, Filters: map[string]string{"name": "O'Brien & Co"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 2 || p.Records[0].Str("Text_Label") != "First Page" || p.Records[1].Str("Text_Label") != "Last Page" || p.Next != "" {
		t.Fatalf("page %+v", p)
	}
	if _, ok := p.Records[0].Fields["attributes"]; ok {
		t.Fatal("attributes kept in fields")
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[1].Path != "/services/data/v26.0/query/01gD" {
		t.Fatalf("requests %+v", reqs)
	}
	want := `SELECT FIELDS(STANDARD), Lantern_External_Id__c FROM Account WHERE Name = 'O\'Brien & Co' ORDER BY Id ASC LIMIT 11`
	if got := soqlOf(t, reqs[0]); got != want {
		t.Fatalf("soql\n got %s\nwant %s", got, want)
	}
}

func TestQueryPagesByID(t *testing.T) {
	f := newFake(t)
	ids := []string{crm.NewID(crm.Contact), crm.NewID(crm.Contact), crm.NewID(crm.Contact)}
	var recs []map[string]any
	for i, id := range ids {
		recs = append(recs, map[string]any{"attributes": map[string]string{"type": "Contact"}, "Id": id, "LastName": fmt.Sprint("L", i),
			"SystemModstamp": "2026-12-01T10:00:00.250+0000", "LastModifiedDate": "2026-12-01T10:00:00.000+0000", "CreatedDate": "2026-11-01T09:00:00.000+0000"})
	}
	body, _ := json.Marshal(map[string]any{"totalSize": 3, "done": true, "records": recs})
	f.on("GET "+v+"query", reply200(200, body))
	c := f.client()
	after := crm.NewID(crm.Contact)
	owner := crm.NewID(crm.User)
	p, err := c.Query(context.Background(), org, crm.Query{Object: crm.Contact, Limit: 2, After: after,
		Since:   time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		Filters: map[string]string{"domain": "https://www.Acme_100%.com/", "owner_id": owner, "city": "Köln"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 2 || p.Next != ids[1] {
		t.Fatalf("page next %q, %d records", p.Next, len(p.Records))
	}
	r := p.Records[0]
	wantVersion := time.Date(2026, 12, 1, 10, 0, 0, 250e6, time.UTC).UnixMilli()
	if r.Version != wantVersion || !r.CreatedAt.Equal(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)) || r.Fields["SystemModstamp"] != nil {
		t.Fatalf("record %+v", r)
	}
	want := "SELECT FIELDS(STANDARD), Lantern_External_Id__c FROM Contact WHERE MailingCity = 'Köln' AND Email LIKE '%@acme\\_100\\%.com' AND OwnerId = '" +
		owner + "' AND SystemModstamp >= 2026-11-30T00:00:00Z AND Id > '" + after + "' ORDER BY Id ASC LIMIT 3"
	if got := soqlOf(t, f.requests()[0]); got != want {
		t.Fatalf("soql\n got %s\nwant %s", got, want)
	}
}

func TestQueryRefusesBadInput(t *testing.T) {
	c := newFake(t).client()
	for _, q := range []crm.Query{
		{Object: "Case", Limit: 1},
		{Object: crm.Account, Limit: 0},
		{Object: crm.Account, Limit: 1001},
		{Object: crm.Account, Limit: 10, Filters: map[string]string{"colour": "red"}},
		{Object: crm.Account, Limit: 10, Filters: map[string]string{"account_id": "001x"}},
		{Object: crm.Contact, Limit: 10, Filters: map[string]string{"owner_id": "' OR Name != '"}},
		{Object: crm.Account, Limit: 10, After: "001' OR Id != '"},
		{Object: crm.Opportunity, Limit: 10, Filters: map[string]string{"email": "a@b.c"}},
	} {
		if _, err := c.Query(context.Background(), org, q); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%+v: %v", q, err)
		}
	}
}

func TestQueryEmptyAndError(t *testing.T) {
	f := newFake(t)
	f.on("GET "+v+"query", reply200(200, fixture(t, "query_empty_response.json")))
	c := f.client()
	p, err := c.Query(context.Background(), org, crm.Query{Object: crm.Lead, Limit: 5})
	if err != nil || len(p.Records) != 0 || p.Next != "" {
		t.Fatalf("%+v %v", p, err)
	}
	f.on("GET "+v+"query", reply200(400, fixture(t, "query_error_response.json")))
	_, err = c.Query(context.Background(), org, crm.Query{Object: crm.Lead, Limit: 5})
	if !apperr.Is(err, apperr.Invalid) || strings.Contains(err.(*apperr.Error).Message, "error_message") {
		t.Fatalf("err %#v", err)
	}
}

func TestGetRecordFields(t *testing.T) {
	f := newFake(t)
	id := crm.NewID(crm.Account)
	f.on("GET "+v+"sobjects/Account/"+id, reply200(200, fixture(t, "sobject_find_success_response.json")))
	c := f.client()
	rec, err := c.Get(context.Background(), org, crm.Account, id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Object != crm.Account || rec.Fields["Currency_Label"] != 23.0 || rec.Fields["Checkbox_Label"] != true || rec.Fields["Id"] != "23foo" {
		t.Fatalf("record %+v", rec)
	}
	if _, ok := rec.Fields["attributes"]; ok {
		t.Fatal("attributes kept")
	}
	// Malformed ids and ids of another object read as not found without a call.
	for _, bad := range []string{"23foo", crm.NewID(crm.Lead)} {
		if _, err := c.Get(context.Background(), org, crm.Account, bad); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if n := len(f.requests()); n != 1 {
		t.Fatalf("%d requests", n)
	}
}

func TestCreate(t *testing.T) {
	f := newFake(t)
	f.on("POST "+v+"sobjects/Lead", reply200(201, fixture(t, "create_success_response.json")))
	f.on("GET "+v+"sobjects/Lead/some_id", reply200(200, fixture(t, "sobject_find_success_response.json")))
	c := f.client()
	rec, err := c.Create(context.Background(), org, crm.Lead, crm.Input{ExternalID: "ext-9", Fields: map[string]any{"LastName": "Doe", "Company": "Acme"}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != "23foo" || rec.Str("Name") != "My First Whizbang" {
		t.Fatalf("record %+v", rec)
	}
	var sent map[string]any
	json.Unmarshal(f.requests()[0].Body, &sent)
	if sent["LastName"] != "Doe" || sent["Company"] != "Acme" || sent["Lantern_External_Id__c"] != "ext-9" || len(sent) != 3 {
		t.Fatalf("sent %v", sent)
	}
	// Read-only fields and bad names are refused before any call.
	for _, fields := range []map[string]any{{"Id": "x"}, {"SystemModstamp": "x"}, {"bad name": 1}, {"Nested": map[string]any{}}} {
		if _, err := c.Create(context.Background(), org, crm.Lead, crm.Input{Fields: fields}); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%v: %v", fields, err)
		}
	}
	if n := len(f.requests()); n != 2 {
		t.Fatalf("%d requests", n)
	}
}

func TestCreateValidationError(t *testing.T) {
	f := newFake(t)
	f.on("POST "+v+"sobjects/Account", reply200(400, fixture(t, "write_error_response.json")))
	c := f.client()
	_, err := c.Create(context.Background(), org, crm.Account, crm.Input{Fields: map[string]any{"foo": "x"}})
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Invalid || e.Field != "body.fields.foo" || strings.Contains(e.Message, "No such column") {
		t.Fatalf("err %#v", err)
	}
}

func TestUpsertCreatedAndUpdated(t *testing.T) {
	f := newFake(t)
	path := v + "sobjects/Account/Lantern_External_Id__c/"
	f.on("PATCH "+path+"new-1", reply200(201, fixture(t, "upsert_created_success_response.json")))
	f.on("GET "+v+"sobjects/Account/foo", reply200(200, fixture(t, "sobject_find_success_response.json")))
	f.on("PATCH "+path+"old 1/2", reply200(204, fixture(t, "upsert_updated_success_response.json")))
	f.on("GET "+path+"old 1/2", reply200(200, fixture(t, "sobject_find_success_response.json")))
	c := f.client()
	rec, created, err := c.Upsert(context.Background(), org, crm.Account, crm.Input{ExternalID: "new-1", Fields: map[string]any{"Name": "Acme"}})
	if err != nil || !created || rec.ID != "23foo" {
		t.Fatalf("created: %+v %v %v", rec, created, err)
	}
	var sent map[string]any
	json.Unmarshal(f.requests()[0].Body, &sent)
	if sent["Name"] != "Acme" || len(sent) != 1 {
		t.Fatalf("sent %v", sent)
	}
	rec, created, err = c.Upsert(context.Background(), org, crm.Account, crm.Input{ExternalID: "old 1/2", Fields: map[string]any{"Name": "Acme"}})
	if err != nil || created || rec.ID != "23foo" {
		t.Fatalf("updated: %+v %v %v", rec, created, err)
	}
}

func TestUpsertErrors(t *testing.T) {
	f := newFake(t)
	path := v + "sobjects/Account/Lantern_External_Id__c/"
	f.on("PATCH "+path+"x", reply200(404, fixture(t, "upsert_error_response.json")))
	f.on("PATCH "+path+"many", reply200(300, fixture(t, "upsert_multiple_error_response.json")))
	c := f.client()
	_, _, err := c.Upsert(context.Background(), org, crm.Account, crm.Input{ExternalID: "x", Fields: map[string]any{"Name": "A"}})
	// An upsert creates what it does not find: NOT_FOUND means the external id field is missing.
	if e, ok := apperr.As(err); !ok || e.Code != apperr.NotConfigured || !strings.Contains(e.Message, "LANTERN_SALESFORCE_EXTERNAL_ID_FIELD") ||
		strings.Contains(e.Message, "Namez") {
		t.Fatalf("NOT_FOUND: %v", err)
	}
	_, _, err = c.Upsert(context.Background(), org, crm.Account, crm.Input{ExternalID: "many", Fields: map[string]any{"Name": "A"}})
	if !apperr.Is(err, apperr.Conflict) || strings.Contains(err.(*apperr.Error).Message, "/services/") {
		t.Fatalf("300: %v", err)
	}
}

func TestUpdateWithVersion(t *testing.T) {
	f := newFake(t)
	id := crm.NewID(crm.Contact)
	rec := `{"attributes":{"type":"Contact"},"Id":"` + id + `","LastName":"Doe","LastModifiedDate":"2026-12-01T10:00:00.400+0000","SystemModstamp":"2026-12-01T10:00:00.500+0000"}`
	f.on("GET "+v+"sobjects/Contact/"+id, reply200(200, []byte(rec)))
	var patches atomic.Int32
	f.on("PATCH "+v+"sobjects/Contact/"+id, func(w http.ResponseWriter, r *http.Request) {
		patches.Add(1)
		if r.Header.Get("If-Unmodified-Since") == "Tue, 01 Dec 2026 10:00:01 GMT" && patches.Load() > 1 {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c := f.client()
	version := time.Date(2026, 12, 1, 10, 0, 0, 500e6, time.UTC).UnixMilli()
	got, err := c.Update(context.Background(), org, crm.Contact, id, map[string]any{"Email": "d@example.com", "Phone": nil}, version)
	if err != nil || got.Version != version {
		t.Fatalf("%+v %v", got, err)
	}
	reqs := f.requests()
	if len(reqs) != 3 || reqs[1].Method != http.MethodPatch || reqs[1].Header.Get("If-Unmodified-Since") != "Tue, 01 Dec 2026 10:00:01 GMT" {
		t.Fatalf("requests %+v", reqs)
	}
	if string(reqs[1].Body) != `{"Email":"d@example.com","Phone":null}` {
		t.Fatalf("patch body %s", reqs[1].Body)
	}
	// A stale version is refused before the PATCH.
	if _, err := c.Update(context.Background(), org, crm.Contact, id, map[string]any{"Email": "x@example.com"}, version-1); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("stale: %v", err)
	}
	if patches.Load() != 1 {
		t.Fatalf("%d patches", patches.Load())
	}
	// Salesforce's 412 (changed between the read and the write) is a conflict too.
	if _, err := c.Update(context.Background(), org, crm.Contact, id, map[string]any{"Email": "x@example.com"}, version); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("412: %v", err)
	}
}

func TestDelete(t *testing.T) {
	f := newFake(t)
	id, gone := crm.NewID(crm.Account), crm.NewID(crm.Account)
	f.on("DELETE "+v+"sobjects/Account/"+id, reply200(204, nil))
	f.on("DELETE "+v+"sobjects/Account/"+gone, reply200(404, fixture(t, "delete_error_response.json")))
	c := f.client()
	if err := c.Delete(context.Background(), org, crm.Account, id); err != nil {
		t.Fatal(err)
	}
	err := c.Delete(context.Background(), org, crm.Account, gone)
	if !apperr.Is(err, apperr.NotFound) || strings.Contains(err.(*apperr.Error).Message, "rid") {
		t.Fatalf("err %v", err)
	}
	f.on("DELETE "+v+"sobjects/Account/"+gone, reply200(404, []byte(`[{"message":"entity is deleted","errorCode":"ENTITY_IS_DELETED","fields":[]}]`)))
	if err := c.Delete(context.Background(), org, crm.Account, gone); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("ENTITY_IS_DELETED: %v", err)
	}
}

// TestBulkUpsertChunks sends 450 records with external ids and 10 without: three upsert
// requests of 200, 200 and 50, one create request of 10; per-record errors land in their
// results.
func TestBulkUpsertChunks(t *testing.T) {
	f := newFake(t)
	var sizes []int
	handler := func(upsert bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				AllOrNone bool             `json:"allOrNone"`
				Records   []map[string]any `json:"records"`
			}
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.AllOrNone {
				t.Errorf("body: %v allOrNone=%v", err, req.AllOrNone)
			}
			sizes = append(sizes, len(req.Records))
			var out []map[string]any
			for _, rec := range req.Records {
				attrs, _ := rec["attributes"].(map[string]any)
				if attrs["type"] != "Lead" {
					t.Errorf("attributes %v", rec["attributes"])
				}
				ext, _ := rec["Lantern_External_Id__c"].(string)
				switch {
				case ext == "e5":
					out = append(out, map[string]any{"success": false, "errors": []map[string]any{{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName]", "fields": []string{"LastName"}}}})
				case ext == "e7":
					out = append(out, map[string]any{"id": nil, "success": false, "errors": []map[string]any{{"statusCode": "DUPLICATES_DETECTED", "message": "dup", "fields": []string{}}}})
				case upsert:
					n := len(out)
					out = append(out, map[string]any{"id": "00Q" + ext, "success": true, "errors": []any{}, "created": n%2 == 0})
				default:
					out = append(out, map[string]any{"id": "00Qnew", "success": true, "errors": []any{}})
				}
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(out)
		}
	}
	f.on("PATCH "+v+"composite/sobjects/Lead/Lantern_External_Id__c", handler(true))
	f.on("POST "+v+"composite/sobjects", handler(false))
	c := f.client()
	var ins []crm.Input
	for i := 0; i < 450; i++ {
		ins = append(ins, crm.Input{ExternalID: fmt.Sprint("e", i), Fields: map[string]any{"LastName": "L", "Company": "C"}})
	}
	for i := 0; i < 10; i++ {
		ins = append(ins, crm.Input{Fields: map[string]any{"LastName": "N", "Company": "C"}})
	}
	ins = append(ins, crm.Input{ExternalID: "e3", Fields: map[string]any{"LastName": "again"}}) // repeats records[3]
	res, err := c.BulkUpsert(context.Background(), org, crm.Lead, ins)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sizes) != "[200 200 50 10]" {
		t.Fatalf("request sizes %v", sizes)
	}
	if len(res) != len(ins) {
		t.Fatalf("%d results", len(res))
	}
	if e, ok := apperr.As(res[5].Err); !ok || e.Code != apperr.Invalid || e.Field != "body.records[5].fields.LastName" {
		t.Fatalf("records[5]: %#v", res[5].Err)
	}
	if !apperr.Is(res[7].Err, apperr.Conflict) {
		t.Fatalf("records[7]: %v", res[7].Err)
	}
	if e, ok := apperr.As(res[460].Err); !ok || e.Field != "body.records[460].external_id" {
		t.Fatalf("records[460]: %v", res[460].Err)
	}
	if res[0].Err != nil || res[0].Record.ID != "00Qe0" || res[0].Record.ExternalID != "e0" || !res[0].Created || res[0].Record.Str("LastName") != "L" {
		t.Fatalf("records[0]: %+v %+v", res[0], res[0].Record)
	}
	if res[1].Created {
		t.Fatal("records[1] reported created")
	}
	if res[455].Err != nil || !res[455].Created || res[455].Record.ID != "00Qnew" {
		t.Fatalf("records[455]: %+v", res[455])
	}
	ok := 0
	for _, r := range res {
		if r.Err == nil {
			ok++
		}
	}
	if ok != len(ins)-3 {
		t.Fatalf("%d succeeded", ok)
	}
	if _, err := c.BulkUpsert(context.Background(), org, crm.Lead, make([]crm.Input, crm.MaxBulk+1)); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("too many: %v", err)
	}
}

// TestBulkUpsertStopsWhenUnavailable: once a chunk meets an outage, later chunks are not sent.
func TestBulkUpsertStopsWhenUnavailable(t *testing.T) {
	f := newFake(t)
	var calls atomic.Int32
	f.on("PATCH "+v+"composite/sobjects/Account/Lantern_External_Id__c", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("<html>maintenance</html>"))
	})
	c := f.client()
	ins := make([]crm.Input, 450)
	for i := range ins {
		ins[i] = crm.Input{ExternalID: fmt.Sprint(i), Fields: map[string]any{"Name": "A"}}
	}
	res, err := c.BulkUpsert(context.Background(), org, crm.Account, ins)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls", calls.Load())
	}
	for i, r := range res {
		if !apperr.Is(r.Err, apperr.Unavailable) {
			t.Fatalf("records[%d]: %v", i, r.Err)
		}
	}
	if strings.Contains(res[0].Err.(*apperr.Error).Message, "maintenance") {
		t.Fatal("upstream body in message")
	}
}

func TestToRecordVersionFallsBackToLastModified(t *testing.T) {
	c := newFake(t).client()
	r := c.toRecord(crm.Account, map[string]any{"Id": "001", "LastModifiedDate": "2026-01-02T03:04:05.006+0000", "Lantern_External_Id__c": "x-1"})
	if r.Version != time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC).UnixMilli() || r.ExternalID != "x-1" || r.Fields["Lantern_External_Id__c"] != nil {
		t.Fatalf("%+v", r)
	}
}
