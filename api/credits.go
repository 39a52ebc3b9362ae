package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/ratelimit"
)

type remainingOutput struct {
	Body struct {
		Success          bool  `json:"success"`
		CreditsRemaining int64 `json:"credits_remaining" doc:"The org's current balance"`
	}
}

type usageInput struct {
	From     string `query:"from" doc:"Start, inclusive (ISO 8601). Required; from_date is accepted too" example:"2026-11-01"`
	FromDate string `query:"from_date" doc:"Alias of from" hidden:"true"`
	To       string `query:"to" doc:"End, exclusive (ISO 8601; a bare date includes that day). Required; to_date is accepted too" example:"2026-11-30"`
	ToDate   string `query:"to_date" doc:"Alias of to" hidden:"true"`
	GroupBy  string `query:"group_by" enum:"day,service,api_key" default:"day" doc:"How rows are grouped"`
}

type usageOutput struct {
	Body struct {
		Success bool `json:"success"`
		credits.Usage
	}
}

func (s *Server) registerCredits(a huma.API) {
	huma.Register(a, op(huma.Operation{
		OperationID: "getCreditsRemaining", Method: http.MethodGet, Path: "/v1/credits/remaining",
		Tags: []string{"Credits"}, Summary: "Remaining credits",
		Description: "The org's current credit balance. Also sent as X-Credits-Remaining on every authenticated response.",
	}, limits(ratelimit.Credits)), s.creditsRemaining)
	huma.Register(a, op(huma.Operation{
		OperationID: "getCreditsUsage", Method: http.MethodGet, Path: "/v1/credits/usage",
		Tags: []string{"Credits"}, Summary: "Credit usage over a date range",
		Description: "Credits used in [from, to), grouped by UTC day, service or API key, with totals.",
		Errors:      []int{http.StatusUnprocessableEntity},
	}, limits(ratelimit.Credits)), s.creditsUsage)
}

func (s *Server) creditsRemaining(ctx context.Context, _ *struct{}) (*remainingOutput, error) {
	b, err := credits.Balance(ctx, s.db, PrincipalFrom(ctx).OrgID)
	if err != nil {
		return nil, err
	}
	out := &remainingOutput{}
	out.Body.Success, out.Body.CreditsRemaining = true, b
	return out, nil
}

func (s *Server) creditsUsage(ctx context.Context, in *usageInput) (*usageOutput, error) {
	from, to, err := dateRange(in.From, in.FromDate, in.To, in.ToDate)
	if err != nil {
		return nil, err
	}
	u, err := credits.UsageBetween(ctx, s.db, PrincipalFrom(ctx).OrgID, from, to, credits.GroupBy(in.GroupBy))
	if err != nil {
		return nil, err
	}
	out := &usageOutput{}
	out.Body.Success, out.Body.Usage = true, u
	return out, nil
}
