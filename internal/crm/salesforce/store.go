package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
)

// ChunkSize is the most records one sObject Collections request takes.
const ChunkSize = 200

// systemFields are set by Salesforce; they become Record's timestamps, not Fields.
var systemFields = map[string]bool{"CreatedDate": true, "LastModifiedDate": true, "SystemModstamp": true}

// readOnly are fields a write may not set.
var readOnly = map[string]bool{"Id": true, "CreatedDate": true, "LastModifiedDate": true, "SystemModstamp": true,
	"IsDeleted": true, "CreatedById": true, "LastModifiedById": true}

// toRecord maps a Salesforce record (attributes, Id, fields, CreatedDate, LastModifiedDate,
// SystemModstamp) onto a crm.Record. Version is SystemModstamp (else LastModifiedDate) in Unix
// milliseconds.
func (c *Client) toRecord(object string, m map[string]any) *crm.Record {
	if attrs, ok := m["attributes"].(map[string]any); ok && object == "" {
		object, _ = attrs["type"].(string)
	}
	r := &crm.Record{Object: object, Fields: make(map[string]any, len(m))}
	r.ID, _ = m["Id"].(string)
	r.CreatedAt = parseTime(m["CreatedDate"])
	r.LastModifiedAt = parseTime(m["LastModifiedDate"])
	stamp := parseTime(m["SystemModstamp"])
	if stamp.IsZero() {
		stamp = r.LastModifiedAt
	}
	if !stamp.IsZero() {
		r.Version = stamp.UnixMilli()
	}
	if ext, ok := m[c.cfg.ExternalIDField].(string); ok {
		r.ExternalID = ext
	}
	for k, v := range m {
		// The external id is Record.ExternalID, not a field, as in the local store.
		if k != "attributes" && !systemFields[k] && k != c.cfg.ExternalIDField {
			r.Fields[k] = v
		}
	}
	return r
}

// checkWrite refuses field names that are not API names, read-only fields and values that
// are not JSON scalars, before anything is sent.
func checkWrite(fields map[string]any, prefix string) error {
	for k, v := range fields {
		if !crm.IsFieldName(k) {
			return apperr.Field(prefix+"."+k, "is not a field name (letters, digits and _, starting with a letter)")
		}
		if readOnly[k] {
			return apperr.Field(prefix+"."+k, "is set by Salesforce and cannot be written")
		}
		switch v.(type) {
		case nil, string, bool, float64, float32, int, int64, int32, json.Number:
		default:
			return apperr.Field(prefix+"."+k, "must be a string, number, boolean or null")
		}
	}
	return nil
}

// checkID refuses an id that is not a well-formed id of object (as the local store does, it
// reads as not found).
func checkID(object, id string) (string, error) {
	if err := crm.CheckObject(object); err != nil {
		return "", err
	}
	id18, ok := crm.To18(id)
	if !ok || crm.ObjectOf(id18) != object {
		return "", apperr.New(apperr.NotFound, "no %s %s", object, id)
	}
	return id18, nil
}

func (c *Client) sobjectPath(object string, parts ...string) string {
	p := "sobjects/" + object
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// getRecord reads the record at path.
func (c *Client) getRecord(ctx context.Context, object, path string, o op) (*crm.Record, error) {
	r, err := c.rest(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, replyErr(r, o)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "Salesforce answered a record Lantern cannot read")
	}
	return c.toRecord(object, m), nil
}

// Get reads one record with every field.
func (c *Client) Get(ctx context.Context, _ uuid.UUID, object, id string) (*crm.Record, error) {
	id18, err := checkID(object, id)
	if err != nil {
		return nil, err
	}
	return c.getRecord(ctx, object, c.sobjectPath(object, id18), op{object: object, id: id})
}

type queryResult struct {
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl"`
	Records        []map[string]any `json:"records"`
}

// Query lists records of one object in id order, with their standard fields and the external
// id field (Get reads every field). It follows nextRecordsUrl until the page is full.
func (c *Client) Query(ctx context.Context, _ uuid.UUID, q crm.Query) (crm.Page, error) {
	soql, err := c.buildQuery(q)
	if err != nil {
		return crm.Page{}, err
	}
	recs, err := c.SOQL(ctx, soql, q.Limit+1)
	if err != nil {
		return crm.Page{}, err
	}
	p := crm.Page{Records: make([]crm.Record, 0, min(len(recs), q.Limit))}
	for i, m := range recs {
		if i == q.Limit {
			p.Next = p.Records[i-1].ID
			break
		}
		p.Records = append(p.Records, *c.toRecord(q.Object, m))
	}
	return p, nil
}

// SOQL runs a query built with Quote/EscapeSOQL and returns up to max raw records (max <= 0:
// all), following nextRecordsUrl.
func (c *Client) SOQL(ctx context.Context, soql string, max int) ([]map[string]any, error) {
	path := "query?q=" + url.QueryEscape(soql)
	var out []map[string]any
	for path != "" {
		r, err := c.rest(ctx, http.MethodGet, path, nil, nil)
		if err != nil {
			return nil, err
		}
		if r.status != http.StatusOK {
			return nil, replyErr(r, op{object: "query", prefix: "query"})
		}
		var qr queryResult
		if err := json.Unmarshal(r.body, &qr); err != nil {
			return nil, apperr.Wrap(apperr.Unavailable, err, "Salesforce answered a query result Lantern cannot read")
		}
		out = append(out, qr.Records...)
		if max > 0 && len(out) >= max {
			return out[:max], nil
		}
		path = ""
		if !qr.Done && qr.NextRecordsURL != "" {
			u, err := url.Parse(qr.NextRecordsURL)
			if err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, "/services/data/") {
				return nil, apperr.New(apperr.Unavailable, "Salesforce answered an unusable nextRecordsUrl")
			}
			path = qr.NextRecordsURL
		}
	}
	return out, nil
}

type saveResult struct {
	ID      string    `json:"id"`
	Success bool      `json:"success"`
	Created *bool     `json:"created"`
	Errors  []sfError `json:"errors"`
}

func (c *Client) body(object string, in crm.Input) map[string]any {
	b := make(map[string]any, len(in.Fields)+1)
	for k, v := range in.Fields {
		if k != "Id" {
			b[k] = v
		}
	}
	if in.ExternalID != "" {
		b[c.cfg.ExternalIDField] = in.ExternalID
	}
	return b
}

// Create adds a record and reads it back (a record whose read fails after a successful create
// is returned as written, without timestamps).
func (c *Client) Create(ctx context.Context, _ uuid.UUID, object string, in crm.Input) (*crm.Record, error) {
	if err := crm.CheckObject(object); err != nil {
		return nil, err
	}
	if err := checkWrite(in.Fields, "body.fields"); err != nil {
		return nil, err
	}
	o := op{object: object, prefix: "body.fields"}
	r, err := c.rest(ctx, http.MethodPost, c.sobjectPath(object), c.body(object, in), nil)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		return nil, replyErr(r, o)
	}
	var sr saveResult
	if err := json.Unmarshal(r.body, &sr); err != nil || sr.ID == "" {
		return nil, apperr.Wrap(apperr.Unavailable, err, "Salesforce answered a create result Lantern cannot read")
	}
	return c.readBack(ctx, object, sr.ID, in), nil
}

func (c *Client) readBack(ctx context.Context, object, id string, in crm.Input) *crm.Record {
	if rec, err := c.getRecord(ctx, object, c.sobjectPath(object, id), op{object: object, id: id}); err == nil {
		return rec
	}
	return c.written(object, id, in)
}

// written is the record a write produced, from what was sent.
func (c *Client) written(object, id string, in crm.Input) *crm.Record {
	f := c.body(object, in)
	delete(f, c.cfg.ExternalIDField)
	for k, v := range f {
		if v == nil {
			delete(f, k)
		}
	}
	f["Id"] = id
	return &crm.Record{ID: id, Object: object, ExternalID: in.ExternalID, Fields: f}
}

// Upsert creates or updates the record whose external id field holds in.ExternalID
// (PATCH /sobjects/{Object}/{field}/{value}: 201 created, 200 or 204 updated). Without an
// external id it creates. More than one match (300) is a conflict.
func (c *Client) Upsert(ctx context.Context, org uuid.UUID, object string, in crm.Input) (*crm.Record, bool, error) {
	if in.ExternalID == "" {
		rec, err := c.Create(ctx, org, object, in)
		return rec, err == nil, err
	}
	if err := crm.CheckObject(object); err != nil {
		return nil, false, err
	}
	if object == crm.User {
		return nil, false, apperr.Field("body.external_id", "Users cannot be upserted by external id")
	}
	if err := checkWrite(in.Fields, "body.fields"); err != nil {
		return nil, false, err
	}
	body := c.body(object, in)
	delete(body, c.cfg.ExternalIDField) // the URL carries it
	path := c.sobjectPath(object, c.cfg.ExternalIDField, in.ExternalID)
	o := op{object: object, id: "with external id " + in.ExternalID, prefix: "body.fields"}
	r, err := c.rest(ctx, http.MethodPatch, path, body, nil)
	if err != nil {
		return nil, false, err
	}
	var created bool
	switch r.status {
	case http.StatusCreated:
		created = true
	case http.StatusOK, http.StatusNoContent:
	default:
		return nil, false, c.extFieldErr(replyErr(r, o), object)
	}
	var sr saveResult
	if len(r.body) > 0 {
		_ = json.Unmarshal(r.body, &sr)
	}
	if sr.Created != nil {
		created = *sr.Created
	}
	if sr.ID != "" {
		return c.readBack(ctx, object, sr.ID, in), created, nil
	}
	// 204 carries no id: read the record by its external id.
	rec, err := c.getRecord(ctx, object, path, o)
	if err != nil {
		return nil, false, err
	}
	return rec, created, nil
}

// extFieldErr: an upsert creates what it does not find, so Salesforce's NOT_FOUND on one
// means the external id field itself is missing or hidden from the integration user.
func (c *Client) extFieldErr(err error, object string) error {
	if !apperr.Is(err, apperr.NotFound) {
		return err
	}
	return apperr.Wrap(apperr.NotConfigured, err, "Salesforce has no external id field %s on %s that Lantern may use; create it or set LANTERN_SALESFORCE_EXTERNAL_ID_FIELD",
		c.cfg.ExternalIDField, object)
}

// Update changes the given fields (nil clears one). With ifVersion > 0 the record must still
// be at that version: it is read and compared, and the PATCH carries If-Unmodified-Since (the
// record's LastModifiedDate rounded up to the second), so Salesforce answers 412 for a change
// made after that.
func (c *Client) Update(ctx context.Context, _ uuid.UUID, object, id string, fields map[string]any, ifVersion int64) (*crm.Record, error) {
	id18, err := checkID(object, id)
	if err != nil {
		return nil, err
	}
	if err := checkWrite(fields, "body.fields"); err != nil {
		return nil, err
	}
	o := op{object: object, id: id, prefix: "body.fields"}
	path := c.sobjectPath(object, id18)
	var hdr http.Header
	if ifVersion > 0 {
		cur, err := c.getRecord(ctx, object, path, o)
		if err != nil {
			return nil, err
		}
		if cur.Version != ifVersion {
			return nil, apperr.New(apperr.Conflict, "%s %s is at version %d, not %d", object, id, cur.Version, ifVersion)
		}
		if !cur.LastModifiedAt.IsZero() {
			since := cur.LastModifiedAt.Truncate(1e9)
			if since.Before(cur.LastModifiedAt) {
				since = since.Add(1e9)
			}
			hdr = http.Header{"If-Unmodified-Since": {since.UTC().Format(http.TimeFormat)}}
		}
	}
	r, err := c.rest(ctx, http.MethodPatch, path, fields, hdr)
	if err != nil {
		return nil, err
	}
	if r.status == http.StatusPreconditionFailed {
		return nil, apperr.New(apperr.Conflict, "%s %s changed in Salesforce since version %d", object, id, ifVersion)
	}
	if r.status != http.StatusNoContent && r.status != http.StatusOK {
		return nil, replyErr(r, o)
	}
	return c.getRecord(ctx, object, path, o)
}

// Delete moves a record to Salesforce's recycle bin (Undelete restores it).
func (c *Client) Delete(ctx context.Context, _ uuid.UUID, object, id string) error {
	id18, err := checkID(object, id)
	if err != nil {
		return err
	}
	r, err := c.rest(ctx, http.MethodDelete, c.sobjectPath(object, id18), nil, nil)
	if err != nil {
		return err
	}
	if r.status != http.StatusNoContent && r.status != http.StatusOK {
		return replyErr(r, op{object: object, id: id})
	}
	return nil
}

// BulkUpsert writes up to crm.MaxBulk records through sObject Collections, ChunkSize per
// request: records with an external id are upserted by it (PATCH composite/sobjects/{Object}/
// {field}), the others created (POST composite/sobjects), with allOrNone false so that each
// record fails alone, its error in its result. Records are not read back (that would double
// the API calls): a result carries the id and the fields sent, Version 0. A chunk Salesforce
// refuses as a whole gives every record of it that error; once Salesforce is unavailable the
// remaining chunks are not sent and carry the same error.
func (c *Client) BulkUpsert(ctx context.Context, _ uuid.UUID, object string, ins []crm.Input) ([]crm.UpsertResult, error) {
	if err := crm.CheckObject(object); err != nil {
		return nil, err
	}
	if len(ins) == 0 || len(ins) > crm.MaxBulk {
		return nil, apperr.Field("body.records", "must hold 1 to %d records", crm.MaxBulk)
	}
	out := make([]crm.UpsertResult, len(ins))
	seen := map[string]int{}
	var withExt, without []int
	for i, in := range ins {
		prefix := fmt.Sprintf("body.records[%d].fields", i)
		if err := checkWrite(in.Fields, prefix); err != nil {
			out[i].Err = err
			continue
		}
		if in.ExternalID == "" {
			without = append(without, i)
			continue
		}
		if object == crm.User {
			out[i].Err = apperr.Field(fmt.Sprintf("body.records[%d].external_id", i), "Users cannot be upserted by external id")
			continue
		}
		if j, dup := seen[in.ExternalID]; dup {
			out[i].Err = apperr.Field(fmt.Sprintf("body.records[%d].external_id", i), "repeats records[%d]", j)
			continue
		}
		seen[in.ExternalID] = i
		withExt = append(withExt, i)
	}
	var stop error
	for _, group := range []struct {
		idx    []int
		upsert bool
	}{{withExt, true}, {without, false}} {
		for start := 0; start < len(group.idx); start += ChunkSize {
			chunk := group.idx[start:min(start+ChunkSize, len(group.idx))]
			if stop == nil {
				stop = c.bulkChunk(ctx, object, ins, chunk, group.upsert, out)
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
			}
			if stop != nil {
				for _, i := range chunk {
					if out[i].Err == nil && out[i].Record == nil {
						out[i].Err = stop
					}
				}
				if !apperr.Is(stop, apperr.Unavailable) && !apperr.Is(stop, apperr.NotConfigured) {
					stop = nil // a chunk refused for its content: the next chunks are still sent
				}
			}
		}
	}
	return out, nil
}

// bulkChunk sends one sObject Collections request. It fills out for the records of the chunk
// and returns an error only when the request failed as a whole.
func (c *Client) bulkChunk(ctx context.Context, object string, ins []crm.Input, chunk []int, upsert bool, out []crm.UpsertResult) error {
	records := make([]map[string]any, len(chunk))
	for j, i := range chunk {
		b := c.body(object, ins[i])
		b["attributes"] = map[string]string{"type": object}
		records[j] = b
	}
	body := map[string]any{"allOrNone": false, "records": records}
	method, path := http.MethodPost, "composite/sobjects"
	if upsert {
		method, path = http.MethodPatch, "composite/sobjects/"+object+"/"+c.cfg.ExternalIDField
	}
	r, err := c.rest(ctx, method, path, body, nil)
	if err != nil {
		return err
	}
	if r.status != http.StatusOK && r.status != http.StatusCreated {
		err := replyErr(r, op{object: object, prefix: "body.records"})
		if upsert {
			err = c.extFieldErr(err, object)
		}
		return err
	}
	var results []saveResult
	if err := json.Unmarshal(r.body, &results); err != nil || len(results) != len(chunk) {
		return apperr.Wrap(apperr.Unavailable, err, "Salesforce answered %d results for %d records", len(results), len(chunk))
	}
	for j, i := range chunk {
		res := results[j]
		if !res.Success {
			e := sfError{StatusCode: "UNKNOWN_EXCEPTION"}
			if len(res.Errors) > 0 {
				e = res.Errors[0]
			}
			out[i].Err = toAppErr(http.StatusBadRequest, e, op{object: object, prefix: fmt.Sprintf("body.records[%d].fields", i)})
			continue
		}
		created := !upsert
		if res.Created != nil {
			created = *res.Created
		}
		out[i] = crm.UpsertResult{Record: c.written(object, res.ID, ins[i]), Created: created}
	}
	return nil
}
