package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/ratelimit"
	"github.com/lanternhq/lantern/internal/routing"
)

// RoutingPoolPath and RoutingMemberPath are exported because Huma reads only exported
// embedded structs.
type RoutingPoolPath struct {
	Pool string `path:"pool" maxLength:"100" doc:"The pool's name"`
}

type RoutingMemberPath struct {
	RoutingPoolPath
	UserID string `path:"user_id" minLength:"15" maxLength:"18" doc:"The member's CRM User id"`
}

// RoutingPoolBody is a pool's settings.
type RoutingPoolBody struct {
	Name     string   `json:"name" minLength:"1" maxLength:"100" pattern:"^[A-Za-z0-9][A-Za-z0-9_.-]*$" doc:"Unique in the org, e.g. SDR_WEST_01"`
	Objects  []string `json:"objects" minItems:"1" maxItems:"4" doc:"Objects the pool serves: Lead, Contact, Account, Opportunity"`
	OnReturn string   `json:"on_return,omitempty" enum:"keep_place,catch_up" default:"keep_place" doc:"When a member comes back from being away: keep_place resumes the rotation where they left off; catch_up gives them the assignments they missed"`
}

func (b *RoutingPoolBody) input() routing.PoolInput {
	return routing.PoolInput{Name: b.Name, Objects: b.Objects, OnReturn: b.OnReturn}
}

// RoutingMemberSettings are a member's settings.
type RoutingMemberSettings struct {
	Weight           int                   `json:"weight,omitempty" minimum:"1" maximum:"1000" default:"1" doc:"Relative share of assignments"`
	Status           string                `json:"status,omitempty" enum:"active,paused,out_of_office" default:"active"`
	OutOfOfficeUntil *time.Time            `json:"out_of_office_until,omitempty" doc:"Required with status out_of_office: the member is available again from this instant"`
	CapDay           *int                  `json:"cap_day,omitempty" minimum:"1" doc:"At most this many assignments in any rolling 24 hours"`
	CapWeek          *int                  `json:"cap_week,omitempty" minimum:"1" doc:"At most this many assignments in any rolling 7 days"`
	WorkingHours     *routing.WorkingHours `json:"working_hours,omitempty" doc:"Assign only within these hours"`
}

func (b *RoutingMemberSettings) input(userID string) routing.MemberInput {
	return routing.MemberInput{UserID: userID, Weight: b.Weight, Status: b.Status, OutOfOfficeUntil: b.OutOfOfficeUntil,
		CapDay: b.CapDay, CapWeek: b.CapWeek, WorkingHours: b.WorkingHours}
}

type routingPoolCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retried request return the first result"`
	Body           RoutingPoolBody
}

type routingPoolPutInput struct {
	RoutingPoolPath
	Body RoutingPoolBody
}

type routingPoolOutput struct {
	Status int
	Body   struct {
		Success bool `json:"success"`
		routing.Pool
	}
}

type routingPoolListOutput struct {
	Body struct {
		Success bool           `json:"success"`
		Pools   []routing.Pool `json:"pools"`
	}
}

type routingMemberCreateInput struct {
	RoutingPoolPath
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retried request return the first result"`
	Body           struct {
		UserID string `json:"user_id" minLength:"15" maxLength:"18" doc:"Id of an active User in the CRM (005...)"`
		RoutingMemberSettings
	}
}

type routingMemberPutInput struct {
	RoutingMemberPath
	Body RoutingMemberSettings
}

type routingMemberOutput struct {
	Status int
	Body   struct {
		Success bool `json:"success"`
		routing.Member
	}
}

type routingMemberListOutput struct {
	Body struct {
		Success bool             `json:"success"`
		Members []routing.Member `json:"members"`
	}
}

type routingAssignInput struct {
	IdempotencyKeyHeader string `header:"Idempotency-Key" maxLength:"255" doc:"Same as idempotency_key in the body"`
	Body                 struct {
		Object         string `json:"object" enum:"Lead,Contact,Account,Opportunity" doc:"The record's object"`
		ObjectID       string `json:"object_id" minLength:"15" maxLength:"18" doc:"The record's id"`
		Pool           string `json:"pool" minLength:"1" maxLength:"100" doc:"The pool's name"`
		Reason         string `json:"reason,omitempty" maxLength:"200" default:"round_robin" doc:"Why, for the route log (e.g. round_robin, manual_override)"`
		IdempotencyKey string `json:"idempotency_key,omitempty" maxLength:"255" doc:"The same key always returns the same assignment, and never assigns twice"`
		DryRun         bool   `json:"dry_run,omitempty" doc:"Say who would be next and why, writing nothing"`
	}
}

type routingAssignOutput struct {
	Body struct {
		Success bool `json:"success" doc:"False when nobody could take the record (assigned is false; nothing was written)"`
		routing.Result
	}
}

type routingStateOutput struct {
	Body struct {
		Success bool `json:"success"`
		routing.State
	}
}

type routingResetInput struct {
	RoutingPoolPath
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retried reset return the first result instead of resetting again"`
	Body           struct {
		Mode   string `json:"mode" enum:"restart,rebalance" doc:"restart: every member's score back to 0, so the rotation starts again from the first member (counts stay); rebalance: scores and counts back to 0, so shares are measured afresh"`
		Reason string `json:"reason" minLength:"1" maxLength:"500" doc:"Why; kept with the reset"`
	}
}

type routingResetOutput struct {
	Body struct {
		Success bool `json:"success"`
		routing.ResetRecord
	}
}

func (s *Server) registerRouting(a huma.API) {
	reg := func(o huma.Operation) huma.Operation {
		o.Tags = []string{"Routing"}
		o.Errors = append(o.Errors, http.StatusUnprocessableEntity)
		return op(o, limits(ratelimit.Routing))
	}
	nf := []int{http.StatusNotFound}
	huma.Register(a, reg(huma.Operation{OperationID: "routingPoolCreate", Method: http.MethodPost, Path: "/v1/routing/pools",
		Summary: "Create a pool", DefaultStatus: http.StatusCreated, Errors: []int{http.StatusConflict}}), s.routingPoolCreate)
	huma.Register(a, reg(huma.Operation{OperationID: "routingPoolList", Method: http.MethodGet, Path: "/v1/routing/pools",
		Summary: "List pools"}), s.routingPoolList)
	huma.Register(a, reg(huma.Operation{OperationID: "routingPoolGet", Method: http.MethodGet, Path: "/v1/routing/pools/{pool}",
		Summary: "Get a pool", Errors: nf}), s.routingPoolGet)
	huma.Register(a, reg(huma.Operation{OperationID: "routingPoolPut", Method: http.MethodPut, Path: "/v1/routing/pools/{pool}",
		Summary: "Replace a pool's settings", Description: "Renames the pool or changes what it serves; members and rotation state stay.",
		Errors: []int{http.StatusNotFound, http.StatusConflict}}), s.routingPoolPut)
	huma.Register(a, reg(huma.Operation{OperationID: "routingPoolDelete", Method: http.MethodDelete, Path: "/v1/routing/pools/{pool}",
		Summary: "Delete a pool", Description: "Deletes the pool, its members and its assignment records; route log entries stay.",
		DefaultStatus: http.StatusNoContent, Errors: nf}), s.routingPoolDelete)

	huma.Register(a, reg(huma.Operation{OperationID: "routingMemberAdd", Method: http.MethodPost, Path: "/v1/routing/pools/{pool}/members",
		Summary: "Add a member", Description: "The user must be an active User in the CRM. A new member starts with a score of 0.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusConflict}}), s.routingMemberAdd)
	huma.Register(a, reg(huma.Operation{OperationID: "routingMemberList", Method: http.MethodGet, Path: "/v1/routing/pools/{pool}/members",
		Summary: "List a pool's members", Errors: nf}), s.routingMemberList)
	huma.Register(a, reg(huma.Operation{OperationID: "routingMemberGet", Method: http.MethodGet, Path: "/v1/routing/pools/{pool}/members/{user_id}",
		Summary: "Get a member", Errors: nf}), s.routingMemberGet)
	huma.Register(a, reg(huma.Operation{OperationID: "routingMemberPut", Method: http.MethodPut, Path: "/v1/routing/pools/{pool}/members/{user_id}",
		Summary: "Replace a member's settings", Description: "Weight, status, caps and working hours; the member's score and count stay.",
		Errors: nf}), s.routingMemberPut)
	huma.Register(a, reg(huma.Operation{OperationID: "routingMemberRemove", Method: http.MethodDelete, Path: "/v1/routing/pools/{pool}/members/{user_id}",
		Summary: "Remove a member", DefaultStatus: http.StatusNoContent, Errors: nf}), s.routingMemberRemove)

	huma.Register(a, reg(huma.Operation{OperationID: "routingAssign", Method: http.MethodPost, Path: "/v1/routing/assign",
		Summary: "Assign a record by round robin",
		Description: "Picks the next member of the pool by smooth weighted round robin (skipping members who are paused, out of office, " +
			"outside working hours or capped), sets the record's OwnerId in the CRM, gives the assignment the pool's next sequence number " +
			"and writes a route log entry (action assign), all or nothing. The same idempotency_key always returns the same assignment. " +
			"dry_run says who would be next and why. When nobody is available, assigned is false, success is false and nothing is written.",
		Errors: []int{http.StatusNotFound, http.StatusConflict}}), s.routingAssign)
	huma.Register(a, reg(huma.Operation{OperationID: "routingPoolState", Method: http.MethodGet, Path: "/v1/routing/pools/{pool}/state",
		Summary: "A pool's rotation state", Description: "Each member's score, count, share and cap usage; who is next and why; the latest resets.",
		Errors: nf}), s.routingPoolState)
	huma.Register(a, reg(huma.Operation{OperationID: "routingPoolReset", Method: http.MethodPost, Path: "/v1/routing/pools/{pool}/reset",
		Summary: "Reset a pool's rotation", Description: "restart sets every score to 0; rebalance sets scores and counts to 0. " +
			"Sequence numbers continue. Every reset is kept with its reason and the state before (see the pool's state).",
		Errors: nf}), s.routingPoolReset)
}

func (s *Server) routing() *routing.Service { return s.rt }

func poolOut(status int, p *routing.Pool) *routingPoolOutput {
	out := &routingPoolOutput{Status: status}
	out.Body.Success, out.Body.Pool = true, *p
	return out
}

func memberOut(status int, m *routing.Member) *routingMemberOutput {
	out := &routingMemberOutput{Status: status}
	out.Body.Success, out.Body.Member = true, *m
	return out
}

func (s *Server) routingPoolCreate(ctx context.Context, in *routingPoolCreateInput) (*routingPoolOutput, error) {
	out := &routingPoolOutput{Status: http.StatusCreated}
	err := s.idempotent(ctx, "routing.pools.create", in.IdempotencyKey, in.Body, &out.Body, func(ctx context.Context) error {
		p, err := s.routing().CreatePool(ctx, PrincipalFrom(ctx).OrgID, in.Body.input())
		if err != nil {
			return err
		}
		out.Body.Success, out.Body.Pool = true, *p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Server) routingPoolList(ctx context.Context, _ *struct{}) (*routingPoolListOutput, error) {
	ps, err := s.routing().ListPools(ctx, PrincipalFrom(ctx).OrgID)
	if err != nil {
		return nil, err
	}
	out := &routingPoolListOutput{}
	out.Body.Success, out.Body.Pools = true, ps
	return out, nil
}

func (s *Server) routingPoolGet(ctx context.Context, in *RoutingPoolPath) (*routingPoolOutput, error) {
	p, err := s.routing().GetPool(ctx, PrincipalFrom(ctx).OrgID, in.Pool)
	if err != nil {
		return nil, err
	}
	return poolOut(http.StatusOK, p), nil
}

func (s *Server) routingPoolPut(ctx context.Context, in *routingPoolPutInput) (*routingPoolOutput, error) {
	p, err := s.routing().UpdatePool(ctx, PrincipalFrom(ctx).OrgID, in.Pool, in.Body.input())
	if err != nil {
		return nil, err
	}
	return poolOut(http.StatusOK, p), nil
}

func (s *Server) routingPoolDelete(ctx context.Context, in *RoutingPoolPath) (*struct{}, error) {
	return nil, s.routing().DeletePool(ctx, PrincipalFrom(ctx).OrgID, in.Pool)
}

func (s *Server) routingMemberAdd(ctx context.Context, in *routingMemberCreateInput) (*routingMemberOutput, error) {
	out := &routingMemberOutput{Status: http.StatusCreated}
	err := s.idempotent(ctx, "routing.members.add:"+in.Pool, in.IdempotencyKey, in.Body, &out.Body, func(ctx context.Context) error {
		m, err := s.routing().AddMember(ctx, PrincipalFrom(ctx).OrgID, in.Pool, in.Body.input(in.Body.UserID))
		if err != nil {
			return err
		}
		out.Body.Success, out.Body.Member = true, *m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Server) routingMemberList(ctx context.Context, in *RoutingPoolPath) (*routingMemberListOutput, error) {
	ms, err := s.routing().ListMembers(ctx, PrincipalFrom(ctx).OrgID, in.Pool)
	if err != nil {
		return nil, err
	}
	out := &routingMemberListOutput{}
	out.Body.Success, out.Body.Members = true, ms
	return out, nil
}

func (s *Server) routingMemberGet(ctx context.Context, in *RoutingMemberPath) (*routingMemberOutput, error) {
	m, err := s.routing().GetMember(ctx, PrincipalFrom(ctx).OrgID, in.Pool, in.UserID)
	if err != nil {
		return nil, err
	}
	return memberOut(http.StatusOK, m), nil
}

func (s *Server) routingMemberPut(ctx context.Context, in *routingMemberPutInput) (*routingMemberOutput, error) {
	m, err := s.routing().UpdateMember(ctx, PrincipalFrom(ctx).OrgID, in.Pool, in.UserID, in.Body.input(in.UserID))
	if err != nil {
		return nil, err
	}
	return memberOut(http.StatusOK, m), nil
}

func (s *Server) routingMemberRemove(ctx context.Context, in *RoutingMemberPath) (*struct{}, error) {
	return nil, s.routing().RemoveMember(ctx, PrincipalFrom(ctx).OrgID, in.Pool, in.UserID)
}

func (s *Server) routingAssign(ctx context.Context, in *routingAssignInput) (*routingAssignOutput, error) {
	key := in.Body.IdempotencyKey
	if in.IdempotencyKeyHeader != "" {
		if key != "" && key != in.IdempotencyKeyHeader {
			return nil, apperr.Field("body.idempotency_key", "differs from the Idempotency-Key header; send one or the same in both")
		}
		key = in.IdempotencyKeyHeader
	}
	res, err := s.routing().Assign(ctx, PrincipalFrom(ctx).OrgID, routing.AssignRequest{Pool: in.Body.Pool, Object: in.Body.Object,
		ObjectID: in.Body.ObjectID, Reason: in.Body.Reason, IdempotencyKey: key, DryRun: in.Body.DryRun, RequestID: RequestIDFrom(ctx)})
	if err != nil {
		return nil, err
	}
	out := &routingAssignOutput{}
	out.Body.Success, out.Body.Result = res.Assigned, *res
	return out, nil
}

func (s *Server) routingPoolState(ctx context.Context, in *RoutingPoolPath) (*routingStateOutput, error) {
	st, err := s.routing().State(ctx, PrincipalFrom(ctx).OrgID, in.Pool)
	if err != nil {
		return nil, err
	}
	out := &routingStateOutput{}
	out.Body.Success, out.Body.State = true, *st
	return out, nil
}

func (s *Server) routingPoolReset(ctx context.Context, in *routingResetInput) (*routingResetOutput, error) {
	out := &routingResetOutput{}
	err := s.idempotent(ctx, "routing.reset:"+in.Pool, in.IdempotencyKey, in.Body, &out.Body, func(ctx context.Context) error {
		r, err := s.routing().Reset(ctx, PrincipalFrom(ctx).OrgID, in.Pool, in.Body.Mode, in.Body.Reason, RequestIDFrom(ctx))
		if err != nil {
			return err
		}
		out.Body.Success, out.Body.ResetRecord = true, *r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
