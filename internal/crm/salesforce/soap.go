package salesforce

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
)

// The SOAP partner API's namespaces.
const (
	nsEnvelope = "http://schemas.xmlsoap.org/soap/envelope/"
	nsPartner  = "urn:partner.soap.sforce.com"
	nsSObject  = "urn:sobject.partner.soap.sforce.com"
	nsXSI      = "http://www.w3.org/2001/XMLSchema-instance"
)

// xmlWriter writes a SOAP request through encoding/xml, which escapes every text and
// attribute. Names are written with their prefix ("urn:leadId"), declared on the envelope.
type xmlWriter struct {
	buf bytes.Buffer
	enc *xml.Encoder
	err error
}

func newXMLWriter() *xmlWriter {
	w := &xmlWriter{}
	w.buf.WriteString(xml.Header)
	w.enc = xml.NewEncoder(&w.buf)
	return w
}

func (w *xmlWriter) start(name string, attrs ...xml.Attr) {
	if w.err == nil {
		w.err = w.enc.EncodeToken(xml.StartElement{Name: xml.Name{Local: name}, Attr: attrs})
	}
}

func (w *xmlWriter) end(name string) {
	if w.err == nil {
		w.err = w.enc.EncodeToken(xml.EndElement{Name: xml.Name{Local: name}})
	}
}

func (w *xmlWriter) text(name, value string) {
	w.start(name)
	if w.err == nil {
		w.err = w.enc.EncodeToken(xml.CharData(value))
	}
	w.end(name)
}

// optional writes the element only when value is set.
func (w *xmlWriter) optional(name, value string) {
	if value != "" {
		w.text(name, value)
	}
}

func (w *xmlWriter) bytes() ([]byte, error) {
	if w.err == nil {
		w.err = w.enc.Flush()
	}
	return w.buf.Bytes(), w.err
}

func attr(name, value string) xml.Attr { return xml.Attr{Name: xml.Name{Local: name}, Value: value} }

// envelope writes the SOAP envelope with the SessionHeader around body.
func envelope(token string, body func(w *xmlWriter)) ([]byte, error) {
	w := newXMLWriter()
	w.start("soapenv:Envelope", attr("xmlns:soapenv", nsEnvelope), attr("xmlns:urn", nsPartner),
		attr("xmlns:urn1", nsSObject), attr("xmlns:xsi", nsXSI))
	w.start("soapenv:Header")
	w.start("urn:SessionHeader")
	w.text("urn:sessionId", token)
	w.end("urn:SessionHeader")
	w.end("soapenv:Header")
	w.start("soapenv:Body")
	body(w)
	w.end("soapenv:Body")
	w.end("soapenv:Envelope")
	return w.bytes()
}

// soapFault is a SOAP 1.1 fault; Salesforce puts its exception code in the detail.
type soapFault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Detail struct {
		Inner []struct {
			ExceptionCode    string `xml:"exceptionCode"`
			ExceptionMessage string `xml:"exceptionMessage"`
		} `xml:",any"`
	} `xml:"detail"`
}

func (f *soapFault) code() string {
	for _, d := range f.Detail.Inner {
		if d.ExceptionCode != "" {
			return d.ExceptionCode
		}
	}
	c := f.Code
	if i := strings.LastIndexByte(c, ':'); i >= 0 {
		c = c[i+1:]
	}
	// soapenv:Client / soapenv:Server carry no Salesforce code; the fault string starts with it.
	if c == "Client" || c == "Server" {
		if head, _, ok := strings.Cut(f.String, ":"); ok && safeCode(head) == head {
			return head
		}
	}
	return c
}

// faultOnly reads just the fault of an envelope, if any.
type faultOnly struct {
	Body struct {
		Fault *soapFault `xml:"Fault"`
	} `xml:"Body"`
}

func parseFault(body []byte) *soapFault {
	var env faultOnly
	if xml.Unmarshal(body, &env) != nil {
		return nil
	}
	return env.Body.Fault
}

// soapCode is the Salesforce code of a SOAP fault answer, for exchange's retry decisions.
func soapCode(status int, body []byte) string {
	if status < 300 {
		return ""
	}
	if f := parseFault(body); f != nil {
		return f.code()
	}
	return ""
}

// soap posts one partner API call and decodes the envelope into out.
func (c *Client) soap(ctx context.Context, action string, body func(w *xmlWriter), out any) error {
	ver := strings.TrimPrefix(c.cfg.APIVersion, "v")
	r, err := c.exchange(ctx, false, func(s session) (*http.Request, error) {
		payload, err := envelope(s.token, body)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequest(http.MethodPost, s.instance+"/services/Soap/u/"+ver, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "text/xml; charset=UTF-8")
		req.Header.Set("SOAPAction", `""`)
		return req, nil
	}, soapCode)
	if err != nil {
		return err
	}
	if f := parseFault(r.body); f != nil {
		return faultErr(r.status, f, action)
	}
	if r.status != http.StatusOK {
		return statusErr(r.status, fmt.Errorf("salesforce soap %s: HTTP %d", action, r.status), action)
	}
	if err := xml.Unmarshal(r.body, out); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "Salesforce answered a %s result Lantern cannot read", action)
	}
	var lim limitInfoHeader
	if xml.Unmarshal(r.body, &lim) == nil {
		for _, li := range lim.Header.Infos {
			if li.Type == "API REQUESTS" && li.Limit > 0 {
				c.noteUsage(li.Current, li.Limit)
			}
		}
	}
	return nil
}

// limitInfoHeader is the SOAP answer's LimitInfoHeader, the SOAP twin of Sforce-Limit-Info.
type limitInfoHeader struct {
	Header struct {
		Infos []struct {
			Current int    `xml:"current"`
			Limit   int    `xml:"limit"`
			Type    string `xml:"type"`
		} `xml:"LimitInfoHeader>limitInfo"`
	} `xml:"Header"`
}

func faultErr(status int, f *soapFault, action string) error {
	code := f.code()
	e := sfError{StatusCode: code, Message: f.String}
	if notFoundCodes[code] || invalidCodes[code] != "" || conflictCodes[code] || accessCodes[code] || transientCodes[code] {
		return toAppErr(status, e, op{object: action})
	}
	return apperr.Wrap(apperr.Unavailable, fmt.Errorf("salesforce soap fault %s: %s", code, f.String),
		"Salesforce could not run %s (%s)", action, safeCode(code))
}

// soapError is one entry of a SOAP result's errors.
type soapError = sfError

func resultErr(errs []soapError, o op) error {
	e := sfError{StatusCode: "UNKNOWN_EXCEPTION"}
	if len(errs) > 0 {
		e = errs[0]
	}
	return toAppErr(http.StatusBadRequest, e, o)
}

// leadConvertResult is the partner API's LeadConvertResult.
type leadConvertResult struct {
	AccountID     string      `xml:"accountId"`
	ContactID     string      `xml:"contactId"`
	LeadID        string      `xml:"leadId"`
	OpportunityID string      `xml:"opportunityId"`
	Success       bool        `xml:"success"`
	Errors        []soapError `xml:"errors"`
}

type convertLeadEnvelope struct {
	Body struct {
		Results []leadConvertResult `xml:"convertLeadResponse>result"`
	} `xml:"Body"`
}

// ConvertLead converts a lead with the SOAP convertLead call.
func (c *Client) ConvertLead(ctx context.Context, _ uuid.UUID, in crm.LeadConvert) (*crm.LeadConvertResult, error) {
	lead, err := checkID(crm.Lead, in.LeadID)
	if err != nil {
		return nil, err
	}
	refs := []struct{ field, object, id string }{
		{"account_id", crm.Account, in.AccountID}, {"contact_id", crm.Contact, in.ContactID}, {"owner_id", crm.User, in.OwnerID},
	}
	for _, r := range refs {
		if r.id == "" {
			continue
		}
		if id, ok := crm.To18(r.id); !ok || crm.ObjectOf(id) != r.object {
			return nil, apperr.Field(r.field, "%q is not a %s id", r.id, r.object)
		}
	}
	if in.ContactID != "" && in.AccountID == "" {
		return nil, apperr.Field("account_id", "is required with contact_id (the contact's account)")
	}
	status := strings.TrimSpace(in.ConvertedStatus)
	if status == "" {
		if status, err = c.defaultConvertedStatus(ctx); err != nil {
			return nil, err
		}
	}
	var env convertLeadEnvelope
	err = c.soap(ctx, "convertLead", func(w *xmlWriter) {
		w.start("urn:convertLead")
		w.start("urn:leadConverts")
		w.optional("urn:accountId", in.AccountID)
		w.optional("urn:contactId", in.ContactID)
		w.text("urn:convertedStatus", status)
		w.text("urn:doNotCreateOpportunity", strconv.FormatBool(in.DoNotCreateOpportunity))
		w.text("urn:leadId", lead)
		if !in.DoNotCreateOpportunity {
			w.optional("urn:opportunityName", in.OpportunityName)
		}
		w.text("urn:overwriteLeadSource", "false")
		w.optional("urn:ownerId", in.OwnerID)
		w.text("urn:sendNotificationEmail", "false")
		w.end("urn:leadConverts")
		w.end("urn:convertLead")
	}, &env)
	if err != nil {
		return nil, err
	}
	if len(env.Body.Results) != 1 {
		return nil, apperr.New(apperr.Unavailable, "Salesforce answered %d convertLead results for one lead", len(env.Body.Results))
	}
	res := env.Body.Results[0]
	if !res.Success {
		return nil, resultErr(res.Errors, op{object: crm.Lead, id: in.LeadID})
	}
	return &crm.LeadConvertResult{LeadID: res.LeadID, AccountID: res.AccountID, ContactID: res.ContactID, OpportunityID: res.OpportunityID}, nil
}

// defaultConvertedStatus is the org's first lead status that marks a lead converted, as
// Salesforce's own convert page offers it.
func (c *Client) defaultConvertedStatus(ctx context.Context) (string, error) {
	recs, err := c.SOQL(ctx, "SELECT MasterLabel FROM LeadStatus WHERE IsConverted = true ORDER BY SortOrder ASC LIMIT 1", 1)
	if err != nil {
		return "", err
	}
	if len(recs) == 0 {
		return "", apperr.Field("converted_status", "is required: the Salesforce org has no converted lead status")
	}
	label, _ := recs[0]["MasterLabel"].(string)
	if label == "" {
		return "", apperr.Field("converted_status", "is required: the Salesforce org's converted lead status has no label")
	}
	return label, nil
}

// mergeResult is the partner API's MergeResult.
type mergeResult struct {
	ID                string      `xml:"id"`
	MergedRecordIDs   []string    `xml:"mergedRecordIds"`
	UpdatedRelatedIDs []string    `xml:"updatedRelatedIds"`
	Success           bool        `xml:"success"`
	Errors            []soapError `xml:"errors"`
}

type mergeEnvelope struct {
	Body struct {
		Results []mergeResult `xml:"mergeResponse>result"`
	} `xml:"Body"`
}

// Merge merges up to two duplicates into the master with the SOAP merge call. MasterFields
// are written on the master (a nil value goes in fieldsToNull).
func (c *Client) Merge(ctx context.Context, _ uuid.UUID, in crm.MergeRequest) (*crm.MergeResult, error) {
	switch in.Object {
	case crm.Account, crm.Contact, crm.Lead:
	default:
		return nil, apperr.Field("object", "must be Account, Contact or Lead")
	}
	master, err := checkID(in.Object, in.MasterID)
	if err != nil {
		return nil, err
	}
	if len(in.DuplicateIDs) == 0 || len(in.DuplicateIDs) > 2 {
		return nil, apperr.Field("duplicate_ids", "must hold 1 or 2 ids (Salesforce merges at most 3 records at once)")
	}
	dups := make([]string, len(in.DuplicateIDs))
	for i, d := range in.DuplicateIDs {
		id, ok := crm.To18(d)
		if !ok || crm.ObjectOf(id) != in.Object {
			return nil, apperr.Field(fmt.Sprintf("duplicate_ids[%d]", i), "%q is not a %s id", d, in.Object)
		}
		if id == master {
			return nil, apperr.Field(fmt.Sprintf("duplicate_ids[%d]", i), "is the master itself")
		}
		dups[i] = id
	}
	if err := checkWrite(in.MasterFields, "master_fields"); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(in.MasterFields))
	for k := range in.MasterFields {
		names = append(names, k)
	}
	slices.Sort(names)
	var env mergeEnvelope
	err = c.soap(ctx, "merge", func(w *xmlWriter) {
		w.start("urn:merge")
		w.start("urn:request")
		w.start("urn:masterRecord")
		w.text("urn1:type", in.Object)
		for _, k := range names {
			if in.MasterFields[k] == nil {
				w.text("urn1:fieldsToNull", k)
			}
		}
		w.text("urn1:Id", master)
		for _, k := range names {
			if v := in.MasterFields[k]; v != nil {
				w.text(k, scalarText(v))
			}
		}
		w.end("urn:masterRecord")
		for _, d := range dups {
			w.text("urn:recordToMergeIds", d)
		}
		w.end("urn:request")
		w.end("urn:merge")
	}, &env)
	if err != nil {
		return nil, err
	}
	if len(env.Body.Results) != 1 {
		return nil, apperr.New(apperr.Unavailable, "Salesforce answered %d merge results for one merge", len(env.Body.Results))
	}
	res := env.Body.Results[0]
	if !res.Success {
		return nil, resultErr(res.Errors, op{object: in.Object, id: in.MasterID, prefix: "master_fields"})
	}
	return &crm.MergeResult{MasterID: res.ID, MergedIDs: res.MergedRecordIDs, UpdatedRelatedIDs: res.UpdatedRelatedIDs}, nil
}

// scalarText writes a field value as the partner API reads it.
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	}
	return fmt.Sprint(v)
}

// undeleteResult is the partner API's UndeleteResult.
type undeleteResult struct {
	ID      string      `xml:"id"`
	Success bool        `xml:"success"`
	Errors  []soapError `xml:"errors"`
}

type undeleteEnvelope struct {
	Body struct {
		Results []undeleteResult `xml:"undeleteResponse>result"`
	} `xml:"Body"`
}

// Undelete restores records from the recycle bin with the SOAP undelete call (up to 200).
// It fails, naming the first id, when any record could not be restored.
func (c *Client) Undelete(ctx context.Context, _ uuid.UUID, object string, ids []string) error {
	if err := crm.CheckObject(object); err != nil {
		return err
	}
	if len(ids) == 0 || len(ids) > ChunkSize {
		return apperr.Field("ids", "must hold 1 to %d ids", ChunkSize)
	}
	clean := make([]string, len(ids))
	for i, id := range ids {
		id18, ok := crm.To18(id)
		if !ok || crm.ObjectOf(id18) != object {
			return apperr.Field(fmt.Sprintf("ids[%d]", i), "%q is not a %s id", id, object)
		}
		clean[i] = id18
	}
	var env undeleteEnvelope
	err := c.soap(ctx, "undelete", func(w *xmlWriter) {
		w.start("urn:undelete")
		for _, id := range clean {
			w.text("urn:ids", id)
		}
		w.end("urn:undelete")
	}, &env)
	if err != nil {
		return err
	}
	if len(env.Body.Results) != len(clean) {
		return apperr.New(apperr.Unavailable, "Salesforce answered %d undelete results for %d ids", len(env.Body.Results), len(clean))
	}
	for i, res := range env.Body.Results {
		if !res.Success {
			return resultErr(res.Errors, op{object: object, id: clean[i]})
		}
	}
	return nil
}
