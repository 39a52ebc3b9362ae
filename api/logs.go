package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/ratelimit"
	"github.com/lanternhq/lantern/internal/routelog"
)

type exportLogsInput struct {
	From        string `query:"from" doc:"Start date for log export (ISO format, required). from_date is accepted too" example:"2025-09-18T00:00:00Z"`
	FromDate    string `query:"from_date" doc:"Alias of from, as in the seed's example"`
	To          string `query:"to" doc:"End date for log export (ISO format, required), exclusive; a bare date includes that day. to_date is accepted too" example:"2025-09-19T00:00:00Z"`
	ToDate      string `query:"to_date" doc:"Alias of to"`
	Pool        string `query:"pool" maxLength:"255" doc:"Filter by pool name"`
	Object      string `query:"object" enum:"Lead,Contact,Account,Opportunity" doc:"Filter by object type"`
	Action      string `query:"action" enum:"assign,convert,merge,enrich" doc:"Filter by action"`
	Format      string `query:"format" enum:"json,csv" default:"json" doc:"Export format"`
	IncludeDiff bool   `query:"include_diff" default:"true" doc:"Include diff data in the export"`
	Limit       int    `query:"limit" minimum:"1" maximum:"10000" default:"1000" doc:"Maximum number of records to return (max 10000; over 5000 counts against the large-export limit of 2/min)"`
}

type statsInput struct {
	From     string `query:"from" doc:"Start (ISO 8601, required); from_date is accepted too" example:"2025-09-01"`
	FromDate string `query:"from_date" doc:"Alias of from"`
	To       string `query:"to" doc:"End, exclusive (ISO 8601, required); to_date is accepted too" example:"2025-09-30"`
	ToDate   string `query:"to_date" doc:"Alias of to"`
}

type statsOutput struct {
	Body struct {
		Success bool `json:"success"`
		routelog.Stats
	}
}

type retentionOutput struct {
	Body struct {
		Success bool `json:"success"`
		routelog.Retention
	}
}

type putRetentionInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retried request return the first result"`
	Body           struct {
		RetentionDays int   `json:"retention_days" minimum:"1" maximum:"1095" doc:"Days to keep route logs (default 365, max 1095)"`
		AutoCleanup   *bool `json:"auto_cleanup,omitempty" doc:"Whether the daily cleanup removes expired logs (default true)"`
	}
}

// exportLimits: every export counts against logs_export; one over 5,000 records also against
// logs_export_large, taken first so that a refused large export costs no ordinary token.
func exportLimits(ctx huma.Context) []ratelimit.Group {
	if n, err := strconv.Atoi(ctx.Query("limit")); err == nil && n > routelog.LargeExport {
		return []ratelimit.Group{ratelimit.LogsExportLarge, ratelimit.LogsExport}
	}
	return []ratelimit.Group{ratelimit.LogsExport}
}

func (s *Server) registerLogs(a huma.API) {
	entries := huma.SchemaFromType(a.OpenAPI().Components.Schemas, reflectType[[]routelog.Entry]())
	huma.Register(a, op(huma.Operation{
		OperationID: "exportRouteLogs", Method: http.MethodGet, Path: "/v1/logs/routing",
		Tags: []string{"Logs"}, Summary: "Export route logs",
		Description: "Route logs of routing, conversion, merge and enrichment actions in [from, to), oldest first. " +
			"`format=json` returns the bare JSON array of entries; `format=csv` returns the columns " +
			"timestamp, object, object_id, action, pool, assigned_to, prev_owner, sequence, reason, request_id, " +
			"idempotency_key, diff, with diff JSON-encoded and cells that a spreadsheet would evaluate prefixed " +
			"with an apostrophe. Rate limits: 10 exports per minute; 2 per minute for limit over 5000.",
		Errors: []int{http.StatusUnprocessableEntity},
		Responses: map[string]*huma.Response{"200": {
			Description: "Entries, streamed",
			Content: map[string]*huma.MediaType{
				"application/json": {Schema: entries},
				"text/csv":         {Schema: &huma.Schema{Type: "string"}},
			},
		}},
	}, exportLimits), s.exportLogs)
	huma.Register(a, op(huma.Operation{
		OperationID: "getRouteLogStats", Method: http.MethodGet, Path: "/v1/logs/stats",
		Tags: []string{"Logs"}, Summary: "Route log statistics",
		Description: "Counts of entries in [from, to) by action, object, pool, assignee and UTC day. 20 requests per minute.",
		Errors:      []int{http.StatusUnprocessableEntity},
	}, limits(ratelimit.LogsStats)), s.logStats)
	huma.Register(a, op(huma.Operation{
		OperationID: "getLogRetention", Method: http.MethodGet, Path: "/v1/logs/retention",
		Tags: []string{"Logs"}, Summary: "Log retention policy",
		Description: "How long the org's route logs are kept (default 365 days) and whether the daily cleanup at 02:00 removes them.",
	}, limits(ratelimit.LogsSettings)), s.getRetention)
	huma.Register(a, op(huma.Operation{
		OperationID: "putLogRetention", Method: http.MethodPut, Path: "/v1/logs/retention",
		Tags: []string{"Logs"}, Summary: "Set the log retention policy",
		Description: "Sets the retention in days (1-1095) and auto cleanup. Takes effect at the next daily cleanup.",
		Errors:      []int{http.StatusUnprocessableEntity, http.StatusConflict},
	}, limits(ratelimit.LogsSettings)), s.putRetention)
}

func (s *Server) exportLogs(ctx context.Context, in *exportLogsInput) (*huma.StreamResponse, error) {
	from, to, err := dateRange(in.From, in.FromDate, in.To, in.ToDate)
	if err != nil {
		return nil, err
	}
	f := routelog.Filter{From: from, To: to, Pool: in.Pool, Object: in.Object, Action: in.Action,
		Limit: in.Limit, IncludeDiff: in.IncludeDiff}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	org := PrincipalFrom(ctx).OrgID
	export, contentType := routelog.ExportJSON, "application/json"
	if in.Format == "csv" {
		export, contentType = routelog.ExportCSV, "text/csv; charset=utf-8"
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		w := &lazyWriter{ctx: hctx, contentType: contentType, csv: in.Format == "csv"}
		if err := export(hctx.Context(), s.db, org, f, w); err != nil {
			if !w.started {
				// Nothing was sent yet, so the client still gets a proper error response.
				writeProblemCtx(hctx, apperr.Wrap(apperr.Unavailable, err, "the export failed; retry it"))
				return
			}
			// Mid-stream the status is already sent; cut the body short so clients see a broken
			// transfer rather than a silently truncated file.
			slog.ErrorContext(hctx.Context(), "export failed mid-stream", "request_id", RequestIDFrom(hctx.Context()), "err", err)
			panic(http.ErrAbortHandler)
		}
	}}, nil
}

// lazyWriter sends the status and headers with the first bytes, so that an export that fails
// before producing any output can still answer with an error status.
type lazyWriter struct {
	ctx         huma.Context
	contentType string
	csv         bool
	started     bool
}

func (w *lazyWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.started = true
		w.ctx.SetHeader("Content-Type", w.contentType)
		if w.csv {
			w.ctx.SetHeader("Content-Disposition", `attachment; filename="route-logs.csv"`)
		}
		w.ctx.SetStatus(http.StatusOK)
	}
	return w.ctx.BodyWriter().Write(p)
}

func writeProblemCtx(ctx huma.Context, err error) {
	p := newProblem(ctx.Context(), 0, "", err)
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(p.Status)
	json.NewEncoder(ctx.BodyWriter()).Encode(p) //nolint:errcheck
}

func (s *Server) logStats(ctx context.Context, in *statsInput) (*statsOutput, error) {
	from, to, err := dateRange(in.From, in.FromDate, in.To, in.ToDate)
	if err != nil {
		return nil, err
	}
	st, err := routelog.ComputeStats(ctx, s.db, PrincipalFrom(ctx).OrgID, from, to)
	if err != nil {
		return nil, err
	}
	out := &statsOutput{}
	out.Body.Success, out.Body.Stats = true, st
	return out, nil
}

func (s *Server) getRetention(ctx context.Context, _ *struct{}) (*retentionOutput, error) {
	r, err := routelog.GetRetention(ctx, s.db, PrincipalFrom(ctx).OrgID, s.cfg.LogRetentionDays)
	if err != nil {
		return nil, err
	}
	out := &retentionOutput{}
	out.Body.Success, out.Body.Retention = true, r
	return out, nil
}

func (s *Server) putRetention(ctx context.Context, in *putRetentionInput) (*retentionOutput, error) {
	org := PrincipalFrom(ctx).OrgID
	auto := true
	if in.Body.AutoCleanup != nil {
		auto = *in.Body.AutoCleanup
	}
	out := &retentionOutput{}
	err := s.idempotent(ctx, "logs.retention.put", in.IdempotencyKey, in.Body, &out.Body, func(ctx context.Context) error {
		r, err := routelog.SetRetention(ctx, s.db, org, in.Body.RetentionDays, auto)
		out.Body.Success, out.Body.Retention = true, r
		return err
	})
	return out, err
}
