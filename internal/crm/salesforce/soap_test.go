package salesforce

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
)

const soapPath = "POST /services/Soap/u/61.0"

// gotEnvelope is what the fake server reads out of a SOAP request, by namespace and name.
type gotEnvelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Header  struct {
		SessionID string `xml:"urn:partner.soap.sforce.com SessionHeader>sessionId"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	Body struct {
		Convert *struct {
			LC struct {
				AccountID       *string `xml:"accountId"`
				ContactID       *string `xml:"contactId"`
				ConvertedStatus string  `xml:"convertedStatus"`
				DoNotCreateOpp  string  `xml:"doNotCreateOpportunity"`
				LeadID          string  `xml:"leadId"`
				OppName         *string `xml:"opportunityName"`
				OwnerID         string  `xml:"ownerId"`
				SendEmail       string  `xml:"sendNotificationEmail"`
			} `xml:"urn:partner.soap.sforce.com leadConverts"`
		} `xml:"urn:partner.soap.sforce.com convertLead"`
		Merge *struct {
			Request struct {
				Master struct {
					Type         string   `xml:"urn:sobject.partner.soap.sforce.com type"`
					ID           string   `xml:"urn:sobject.partner.soap.sforce.com Id"`
					FieldsToNull []string `xml:"urn:sobject.partner.soap.sforce.com fieldsToNull"`
					Name         string   `xml:"Name"`
					Employees    string   `xml:"NumberOfEmployees"`
				} `xml:"urn:partner.soap.sforce.com masterRecord"`
				ToMerge []string `xml:"urn:partner.soap.sforce.com recordToMergeIds"`
			} `xml:"urn:partner.soap.sforce.com request"`
		} `xml:"urn:partner.soap.sforce.com merge"`
		Undelete *struct {
			IDs []string `xml:"urn:partner.soap.sforce.com ids"`
		} `xml:"urn:partner.soap.sforce.com undelete"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

func lastEnvelope(t *testing.T, f *fakeSF) gotEnvelope {
	t.Helper()
	reqs := f.requests()
	r := reqs[len(reqs)-1]
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") || r.Header.Get("SOAPAction") == "" {
		t.Fatalf("headers %v", r.Header)
	}
	var env gotEnvelope
	if err := xml.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("%v in\n%s", err, r.Body)
	}
	return env
}

func TestConvertLead(t *testing.T) {
	f := newFake(t)
	f.on(soapPath, reply200(200, fixture(t, "soap_convert_lead_response.xml")))
	c := f.client()
	lead, acct, owner := crm.NewID(crm.Lead), crm.NewID(crm.Account), crm.NewID(crm.User)
	res, err := c.ConvertLead(context.Background(), org, crm.LeadConvert{LeadID: lead, AccountID: acct, OwnerID: owner,
		ConvertedStatus: "Closed - Converted", OpportunityName: "Acme <renewal> & more"})
	if err != nil {
		t.Fatal(err)
	}
	want := crm.LeadConvertResult{LeadID: "00QDn00000Lead1IAA", AccountID: "001Dn00000Acct1IAA", ContactID: "003Dn00000Cont1IAA", OpportunityID: "006Dn00000Oppt1IAA"}
	if *res != want {
		t.Fatalf("result %+v", res)
	}
	env := lastEnvelope(t, f)
	if env.Header.SessionID != firstToken || env.Body.Convert == nil {
		t.Fatalf("envelope %+v", env)
	}
	lc := env.Body.Convert.LC
	if lc.LeadID != lead || lc.AccountID == nil || *lc.AccountID != acct || lc.ContactID != nil || lc.OwnerID != owner ||
		lc.ConvertedStatus != "Closed - Converted" || lc.DoNotCreateOpp != "false" || lc.OppName == nil ||
		*lc.OppName != "Acme <renewal> & more" || lc.SendEmail != "false" {
		t.Fatalf("leadConverts %+v", lc)
	}
	// The SOAP LimitInfoHeader is noted like Sforce-Limit-Info.
	if u, m := c.Usage(); u != 52 || m != 5000 {
		t.Fatalf("usage %d/%d", u, m)
	}
	raw := string(f.requests()[0].Body)
	if !strings.Contains(raw, "Acme &lt;renewal&gt; &amp; more") {
		t.Fatalf("opportunity name not escaped:\n%s", raw)
	}
}

func TestConvertLeadRefusals(t *testing.T) {
	f := newFake(t)
	f.on(soapPath, reply200(200, fixture(t, "soap_convert_lead_error_response.xml")))
	c := f.client()
	lead := crm.NewID(crm.Lead)
	_, err := c.ConvertLead(context.Background(), org, crm.LeadConvert{LeadID: lead, ConvertedStatus: "Closed", DoNotCreateOpportunity: true})
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Invalid || e.Field != "ConvertedStatus" || strings.Contains(e.Message, "invalid convertedStatus") {
		t.Fatalf("err %#v", err)
	}
	env := lastEnvelope(t, f)
	if env.Body.Convert.LC.DoNotCreateOpp != "true" || env.Body.Convert.LC.OppName != nil || env.Body.Convert.LC.AccountID != nil {
		t.Fatalf("leadConverts %+v", env.Body.Convert.LC)
	}
	// Refused before any call.
	n := len(f.requests())
	for _, in := range []crm.LeadConvert{
		{LeadID: crm.NewID(crm.Account), ConvertedStatus: "x"},
		{LeadID: lead, ConvertedStatus: "x", ContactID: crm.NewID(crm.Contact)},
		{LeadID: lead, ConvertedStatus: "x", OwnerID: crm.NewID(crm.Account)},
	} {
		if _, err := c.ConvertLead(context.Background(), org, in); err == nil {
			t.Errorf("%+v accepted", in)
		}
	}
	if len(f.requests()) != n {
		t.Fatal("refused input reached Salesforce")
	}
}

func TestMerge(t *testing.T) {
	f := newFake(t)
	f.on(soapPath, reply200(200, fixture(t, "soap_merge_response.xml")))
	c := f.client()
	master, d1, d2 := crm.NewID(crm.Account), crm.NewID(crm.Account), crm.NewID(crm.Account)
	res, err := c.Merge(context.Background(), org, crm.MergeRequest{Object: crm.Account, MasterID: master, DuplicateIDs: []string{d1, d2},
		MasterFields: map[string]any{"Name": `Smith & "Sons" <Ltd>`, "NumberOfEmployees": float64(120), "Fax": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if res.MasterID != "001Dn00000Mast1IAA" || strings.Join(res.MergedIDs, ",") != "001Dn00000Dup01IAA,001Dn00000Dup02IAA" ||
		strings.Join(res.UpdatedRelatedIDs, ",") != "003Dn00000Kid01IAA,006Dn00000Kid02IAA" {
		t.Fatalf("result %+v", res)
	}
	env := lastEnvelope(t, f)
	m := env.Body.Merge.Request
	if m.Master.Type != "Account" || m.Master.ID != master || m.Master.Name != `Smith & "Sons" <Ltd>` || m.Master.Employees != "120" ||
		strings.Join(m.Master.FieldsToNull, ",") != "Fax" || strings.Join(m.ToMerge, ",") != d1+","+d2 {
		t.Fatalf("merge request %+v", m)
	}
	for _, in := range []crm.MergeRequest{
		{Object: crm.Account, MasterID: master, DuplicateIDs: []string{d1, d2, crm.NewID(crm.Account)}},
		{Object: crm.Account, MasterID: master},
		{Object: crm.Opportunity, MasterID: crm.NewID(crm.Opportunity), DuplicateIDs: []string{crm.NewID(crm.Opportunity)}},
		{Object: crm.Account, MasterID: master, DuplicateIDs: []string{crm.NewID(crm.Contact)}},
		{Object: crm.Account, MasterID: master, DuplicateIDs: []string{master}},
	} {
		if _, err := c.Merge(context.Background(), org, in); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%+v: %v", in, err)
		}
	}
}

func TestUndelete(t *testing.T) {
	f := newFake(t)
	f.on(soapPath, reply200(200, fixture(t, "soap_undelete_response.xml")))
	c := f.client()
	ids := []string{crm.NewID(crm.Account), crm.NewID(crm.Account)}
	err := c.Undelete(context.Background(), org, crm.Account, ids)
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Conflict || !strings.Contains(e.Message, ids[1]) || strings.Contains(e.Message, "recycle bin") {
		t.Fatalf("err %#v", err)
	}
	if got := lastEnvelope(t, f).Body.Undelete; got == nil || strings.Join(got.IDs, ",") != strings.Join(ids, ",") {
		t.Fatalf("undelete ids %+v", got)
	}
	// All restored.
	ok1 := strings.Replace(string(fixture(t, "soap_undelete_response.xml")), "<success>false</success>", "<success>true</success>", 1)
	f.on(soapPath, reply200(200, []byte(ok1)))
	if err := c.Undelete(context.Background(), org, crm.Account, ids); err != nil {
		t.Fatal(err)
	}
	if err := c.Undelete(context.Background(), org, crm.Account, []string{crm.NewID(crm.Lead)}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("wrong object: %v", err)
	}
}

func TestSOAPFaults(t *testing.T) {
	f := newFake(t)
	fault := `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault><faultcode>sf:MALFORMED_ID</faultcode><faultstring>MALFORMED_ID: bad id 001x</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`
	f.on(soapPath, reply200(500, []byte(fault)))
	c := f.client()
	err := c.Undelete(context.Background(), org, crm.Account, []string{crm.NewID(crm.Account)})
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || strings.Contains(e.Message, "bad id") {
		t.Fatalf("err %#v", err)
	}
	// A fault that is not Salesforce's: upstream unavailable, and one refresh on invalid session at most.
	f.on(soapPath, reply200(500, fixture(t, "soap_invalid_session_fault.xml")))
	err = c.Undelete(context.Background(), org, crm.Account, []string{crm.NewID(crm.Account)})
	if !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("err %v", err)
	}
	if fl := parseFault(fixture(t, "soap_invalid_session_fault.xml")); fl == nil || fl.code() != "INVALID_SESSION_ID" {
		t.Fatalf("fault %+v", fl)
	}
}

func FuzzSOAPFault(f *testing.F) {
	f.Add([]byte(`<Envelope><Body><Fault><faultcode>sf:X</faultcode></Fault></Body></Envelope>`))
	f.Add([]byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>INVALID_FIELD: x</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if fl := parseFault(b); fl != nil {
			// Any fault becomes one of Lantern's errors, never a raw one a handler would call internal.
			if _, ok := apperr.As(faultErr(500, fl, "merge")); !ok {
				t.Fatalf("fault %+v is not an apperr", fl)
			}
		}
		var env mergeEnvelope
		_ = xml.Unmarshal(b, &env)
	})
}

// TestConvertLeadDefaultStatus: without a converted status, the org's first converted
// LeadStatus is used.
func TestConvertLeadDefaultStatus(t *testing.T) {
	f := newFake(t)
	f.on("GET "+v+"query", reply200(200, []byte(`{"totalSize":1,"done":true,"records":[{"attributes":{"type":"LeadStatus","url":"/services/data/v61.0/sobjects/LeadStatus/01J5e00000AbCdE"},"MasterLabel":"Qualified - Won"}]}`)))
	f.on(soapPath, reply200(200, fixture(t, "soap_convert_lead_response.xml")))
	c := f.client()
	if _, err := c.ConvertLead(context.Background(), org, crm.LeadConvert{LeadID: crm.NewID(crm.Lead)}); err != nil {
		t.Fatal(err)
	}
	if q := soqlOf(t, f.requests()[0]); q != "SELECT MasterLabel FROM LeadStatus WHERE IsConverted = true ORDER BY SortOrder ASC LIMIT 1" {
		t.Fatalf("soql %s", q)
	}
	if got := lastEnvelope(t, f).Body.Convert.LC.ConvertedStatus; got != "Qualified - Won" {
		t.Fatalf("convertedStatus %q", got)
	}
	f.on("GET "+v+"query", reply200(200, fixture(t, "query_empty_response.json")))
	if _, err := c.ConvertLead(context.Background(), org, crm.LeadConvert{LeadID: crm.NewID(crm.Lead)}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("no status: %v", err)
	}
}
