package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/ratelimit"
)

// CRMPath and CRMRecordPath are exported because Huma reads only exported embedded structs.
type CRMPath struct {
	Object string `path:"object" enum:"Account,Contact,Lead,Opportunity,User" doc:"The CRM object"`
}

type CRMRecordPath struct {
	CRMPath
	ID string `path:"id" minLength:"15" maxLength:"18" doc:"15- or 18-character record id"`
}

// CRMFields is a record's fields by Salesforce API name.
type CRMFields struct {
	Fields map[string]any `json:"fields" doc:"Field values by Salesforce API name (Name, Website, Email, OwnerId, custom__c, ...)"`
}

type crmCreateInput struct {
	CRMPath
	Body struct {
		ExternalID string `json:"external_id,omitempty" maxLength:"255" doc:"Your id for the record; upsert it later by this"`
		CRMFields
	}
}

type crmUpsertInput struct {
	CRMPath
	ExternalID string `path:"external_id" maxLength:"255" doc:"Your id for the record"`
	Body       CRMFields
}

type crmPatchInput struct {
	CRMRecordPath
	IfMatch string `header:"If-Match" doc:"The version you read; the update is refused (409) if the record changed since"`
	Body    CRMFields
}

type crmListInput struct {
	CRMPath
	Domain        string `query:"domain" doc:"Company domain (from Website or Email)"`
	Email         string `query:"email"`
	Phone         string `query:"phone" doc:"Any format; compared in E.164"`
	OwnerID       string `query:"owner_id"`
	AccountID     string `query:"account_id"`
	City          string `query:"city"`
	PostalCode    string `query:"postal_code"`
	ExternalID    string `query:"external_id"`
	ModifiedSince string `query:"modified_since" doc:"Only records changed at or after this instant (ISO 8601)"`
	Limit         int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Cursor        string `query:"cursor" doc:"next_cursor of the previous page"`
}

type crmBulkInput struct {
	CRMPath
	Body struct {
		Records []struct {
			ExternalID string `json:"external_id,omitempty" maxLength:"255"`
			CRMFields
		} `json:"records" minItems:"1" maxItems:"1000" doc:"1 to 1,000 records; those with external_id are upserted by it, the others created"`
	}
}

type crmRecordOutput struct {
	Status int
	Body   struct {
		Success bool `json:"success"`
		crm.Record
		Created *bool `json:"created,omitempty" doc:"For upserts: whether the record was created"`
	}
}

type crmListOutput struct {
	Body struct {
		Success    bool         `json:"success"`
		Records    []crm.Record `json:"records"`
		NextCursor string       `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last"`
	}
}

// BulkResult is one record of a bulk upsert.
type BulkResult struct {
	Index   int     `json:"index"`
	ID      string  `json:"id,omitempty"`
	Created bool    `json:"created"`
	Error   *Reason `json:"error,omitempty"`
}

// Reason says why one record of a bulk request was refused.
type Reason struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

type crmBulkOutput struct {
	Body struct {
		Success bool         `json:"success" doc:"True when every record was written"`
		Created int          `json:"created"`
		Updated int          `json:"updated"`
		Failed  int          `json:"failed"`
		Results []BulkResult `json:"results"`
	}
}

func (s *Server) registerCRM(a huma.API) {
	tags := []string{"CRM"}
	reg := func(o huma.Operation) huma.Operation {
		o.Tags = tags
		o.Errors = append(o.Errors, http.StatusUnprocessableEntity)
		return op(o, limits(ratelimit.CRM))
	}
	huma.Register(a, reg(huma.Operation{OperationID: "crmCreate", Method: http.MethodPost, Path: "/v1/crm/{object}",
		Summary: "Create a record", DefaultStatus: http.StatusCreated, Errors: []int{http.StatusConflict}}), s.crmCreate)
	huma.Register(a, reg(huma.Operation{OperationID: "crmUpsert", Method: http.MethodPut, Path: "/v1/crm/{object}/external/{external_id}",
		Summary: "Create or update a record by your external id"}), s.crmUpsert)
	huma.Register(a, reg(huma.Operation{OperationID: "crmGet", Method: http.MethodGet, Path: "/v1/crm/{object}/{id}",
		Summary: "Get a record", Errors: []int{http.StatusNotFound}}), s.crmGet)
	huma.Register(a, reg(huma.Operation{OperationID: "crmList", Method: http.MethodGet, Path: "/v1/crm/{object}",
		Summary: "List records", Description: "Records of one object in id order, filtered on the typed columns, a page at a time (cursor)."}), s.crmList)
	huma.Register(a, reg(huma.Operation{OperationID: "crmPatch", Method: http.MethodPatch, Path: "/v1/crm/{object}/{id}",
		Summary: "Update fields of a record", Description: "Sets the given fields; null removes one. With If-Match, only if the record is still at that version.",
		Errors: []int{http.StatusNotFound, http.StatusConflict}}), s.crmPatch)
	huma.Register(a, reg(huma.Operation{OperationID: "crmDelete", Method: http.MethodDelete, Path: "/v1/crm/{object}/{id}",
		Summary: "Delete a record", DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound}}), s.crmDelete)
	huma.Register(a, reg(huma.Operation{OperationID: "crmBulkUpsert", Method: http.MethodPost, Path: "/v1/crm/{object}/bulk",
		Summary: "Upsert up to 1,000 records", Description: "Each record's result says whether it was created, updated or refused (and why); the others are written regardless."}), s.crmBulk)
}

func recordOut(status int, r *crm.Record, created *bool) *crmRecordOutput {
	out := &crmRecordOutput{Status: status}
	out.Body.Success, out.Body.Record, out.Body.Created = true, *r, created
	return out
}

func (s *Server) crmCreate(ctx context.Context, in *crmCreateInput) (*crmRecordOutput, error) {
	r, err := s.crm.Create(ctx, PrincipalFrom(ctx).OrgID, in.Object, crm.Input{ExternalID: in.Body.ExternalID, Fields: in.Body.Fields})
	if err != nil {
		return nil, err
	}
	return recordOut(http.StatusCreated, r, nil), nil
}

func (s *Server) crmUpsert(ctx context.Context, in *crmUpsertInput) (*crmRecordOutput, error) {
	if strings.TrimSpace(in.ExternalID) == "" {
		return nil, apperr.Field("path.external_id", "must not be empty")
	}
	r, created, err := s.crm.Upsert(ctx, PrincipalFrom(ctx).OrgID, in.Object, crm.Input{ExternalID: in.ExternalID, Fields: in.Body.Fields})
	if err != nil {
		return nil, err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return recordOut(status, r, &created), nil
}

func (s *Server) crmGet(ctx context.Context, in *CRMRecordPath) (*crmRecordOutput, error) {
	r, err := s.crm.Get(ctx, PrincipalFrom(ctx).OrgID, in.Object, in.ID)
	if err != nil {
		return nil, err
	}
	return recordOut(http.StatusOK, r, nil), nil
}

func (s *Server) crmList(ctx context.Context, in *crmListInput) (*crmListOutput, error) {
	q := crm.Query{Object: in.Object, Limit: in.Limit, Filters: map[string]string{}}
	for name, v := range map[string]string{"domain": in.Domain, "email": in.Email, "phone": in.Phone, "owner_id": in.OwnerID,
		"account_id": in.AccountID, "city": in.City, "postal_code": in.PostalCode, "external_id": in.ExternalID} {
		if v != "" {
			q.Filters[name] = v
		}
	}
	if in.ModifiedSince != "" {
		t, err := parseInstant("query.modified_since", in.ModifiedSince, false)
		if err != nil {
			return nil, err
		}
		q.Since = t
	}
	if in.Cursor != "" {
		after, err := crm.ParseCursor(in.Cursor)
		if err != nil {
			return nil, err
		}
		q.After = after
	}
	p, err := s.crm.Query(ctx, PrincipalFrom(ctx).OrgID, q)
	if err != nil {
		return nil, err
	}
	out := &crmListOutput{}
	out.Body.Success, out.Body.Records = true, p.Records
	if p.Next != "" {
		out.Body.NextCursor = crm.Cursor(p.Next)
	}
	return out, nil
}

func (s *Server) crmPatch(ctx context.Context, in *crmPatchInput) (*crmRecordOutput, error) {
	var ifVersion int64
	if v := strings.Trim(in.IfMatch, `"W/`); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return nil, apperr.Field("header.If-Match", "must be a record version, e.g. 3")
		}
		ifVersion = n
	}
	if len(in.Body.Fields) == 0 {
		return nil, apperr.Field("body.fields", "must set at least one field")
	}
	r, err := s.crm.Update(ctx, PrincipalFrom(ctx).OrgID, in.Object, in.ID, in.Body.Fields, ifVersion)
	if err != nil {
		return nil, err
	}
	return recordOut(http.StatusOK, r, nil), nil
}

func (s *Server) crmDelete(ctx context.Context, in *CRMRecordPath) (*struct{}, error) {
	return nil, s.crm.Delete(ctx, PrincipalFrom(ctx).OrgID, in.Object, in.ID)
}

func (s *Server) crmBulk(ctx context.Context, in *crmBulkInput) (*crmBulkOutput, error) {
	ins := make([]crm.Input, len(in.Body.Records))
	for i, r := range in.Body.Records {
		ins[i] = crm.Input{ExternalID: r.ExternalID, Fields: r.Fields}
	}
	res, err := s.crm.BulkUpsert(ctx, PrincipalFrom(ctx).OrgID, in.Object, ins)
	if err != nil {
		return nil, err
	}
	out := &crmBulkOutput{}
	b := &out.Body
	b.Results = make([]BulkResult, len(res))
	for i, r := range res {
		br := BulkResult{Index: i}
		switch {
		case r.Err != nil:
			ae, _ := apperr.As(r.Err)
			if ae == nil {
				return nil, r.Err
			}
			br.Error = &Reason{Code: string(ae.Code), Field: ae.Field, Message: ae.Message}
			b.Failed++
		case r.Created:
			br.ID, br.Created = r.Record.ID, true
			b.Created++
		default:
			br.ID = r.Record.ID
			b.Updated++
		}
		b.Results[i] = br
	}
	b.Success = b.Failed == 0
	return out, nil
}
