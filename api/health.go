package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/lanternhq/lantern/schema"
)

type healthOutput struct {
	Body struct {
		Success bool   `json:"success"`
		Status  string `json:"status" example:"ok"`
	}
}

// Check is the state of one dependency.
type Check struct {
	Status string `json:"status" enum:"ok,failing,not_configured"`
	Error  string `json:"error,omitempty"`
	TookMS int64  `json:"took_ms"`
}

type readyOutput struct {
	Status int
	Body   struct {
		Success bool             `json:"success"`
		Checks  map[string]Check `json:"checks"`
	}
}

func (s *Server) registerHealth(a huma.API) {
	huma.Register(a, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{"Health"},
		Summary: "Process is up", Description: "Answers 200 while the process serves HTTP; it checks nothing else.",
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Success, out.Body.Status = true, "ok"
		return out, nil
	})
	huma.Register(a, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{"Health"},
		Summary:     "Dependencies are reachable",
		Description: "Checks Postgres (and that migrations are applied), Temporal and S3. 503 when any fails.",
		Responses:   map[string]*huma.Response{"503": {Description: "A dependency is failing"}},
	}, s.ready)
}

func (s *Server) ready(ctx context.Context, _ *struct{}) (*readyOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	checks := map[string]func(context.Context) error{
		"postgres": func(ctx context.Context) error {
			if err := s.db.PingContext(ctx); err != nil {
				return err
			}
			n, err := schema.Pending(ctx, s.db)
			if err == nil && n > 0 {
				return errPending(n)
			}
			return err
		},
	}
	if s.temporal != nil {
		checks["temporal"] = func(ctx context.Context) error {
			_, err := s.temporal.CheckHealth(ctx, nil)
			return err
		}
	}
	if s.store != nil {
		checks["s3"] = s.store.Ping
	}
	out := &readyOutput{Status: http.StatusOK}
	out.Body.Success = true
	out.Body.Checks = map[string]Check{"temporal": {Status: "not_configured"}, "s3": {Status: "not_configured"}}
	type result struct {
		name string
		c    Check
	}
	results := make(chan result, len(checks))
	for name, check := range checks {
		go func() {
			start := time.Now()
			c := Check{Status: "ok"}
			if err := check(ctx); err != nil {
				c = Check{Status: "failing", Error: err.Error()}
			}
			c.TookMS = time.Since(start).Milliseconds()
			results <- result{name, c}
		}()
	}
	for range checks {
		r := <-results
		out.Body.Checks[r.name] = r.c
		if r.c.Status != "ok" {
			out.Status, out.Body.Success = http.StatusServiceUnavailable, false
		}
	}
	return out, nil
}

type errPending int

func (e errPending) Error() string {
	return "migrations pending: run `lantern migrate up`"
}
