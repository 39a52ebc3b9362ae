// Package api is Lantern's HTTP surface: Huma v2 operations on chi, one file per API group.
// Handlers are thin: they read input, call a domain package (or start a workflow) with the
// caller's org, and shape the output. Errors map to HTTP in errors.go; auth, rate limits and
// the credit header live in middleware.go.
package api

import (
	"context"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/uptrace/bun"
	"go.temporal.io/sdk/client"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/idempotency"
	"github.com/lanternhq/lantern/internal/objectstore"
	"github.com/lanternhq/lantern/internal/ratelimit"
	"github.com/lanternhq/lantern/internal/routing"
	"github.com/lanternhq/lantern/internal/tenancy"
)

// Deps are what the API needs. Temporal and Store may be nil in tests that do not touch them;
// /readyz then reports them as not configured.
type Deps struct {
	Config   *config.Config
	DB       *bun.DB
	CRM      crm.Store // nil: the local store over DB
	Temporal client.Client
	Store    *objectstore.Store
	Enrich   *enrich.Engine
	Now      func() time.Time
}

// Server holds the dependencies every handler uses.
type Server struct {
	cfg      *config.Config
	db       *bun.DB
	temporal client.Client
	store    *objectstore.Store
	enrich   *enrich.Engine
	crm      crm.Store
	now      func() time.Time
	auth     *tenancy.Authenticator
	limiter  *ratelimit.Limiter
	idem     *idempotency.Store
	rt       *routing.Service // one per process: it batches concurrent assignments per pool
}

// New builds the server. Call Handler for the http.Handler and Listen to receive key changes.
func New(d Deps) *Server {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		cfg:      d.Config,
		db:       d.DB,
		temporal: d.Temporal,
		store:    d.Store,
		enrich:   d.Enrich,
		crm:      d.CRM,
		now:      now,
		auth:     tenancy.NewAuthenticator(d.DB, d.Config.AuthCacheTTL),
		limiter:  ratelimit.New(d.DB, now),
		idem:     idempotency.New(d.DB, d.Config.IdempotencyTTL, now),
	}
	if s.crm == nil {
		s.crm = &crm.Local{DB: d.DB, Region: d.Config.Enrich.DefaultRegion}
	}
	s.rt = &routing.Service{DB: d.DB, CRM: s.crm, Now: now}
	if d.Enrich != nil && d.Enrich.Ledger != nil {
		d.Enrich.Ledger.Watch(s.limiter.NoteBalance)
	}
	return s
}

// Listen keeps the key cache in step with revocations made by any process, until ctx ends.
func (s *Server) Listen(ctx context.Context) { s.auth.Listen(ctx, s.limiter.Forget) }

// HumaConfig is the OpenAPI description shared by the server and `lantern openapi`.
func HumaConfig(publicURL string) huma.Config {
	c := huma.DefaultConfig("Lantern API", "1.4.1")
	c.Info.Description = "Self-hosted RevOps data platform: enrich, match, convert, merge and route " +
		"CRM records, with an audit log, credits and rate limits per API key. Authenticate with " +
		"`Authorization: Bearer <key>`. Every JSON response carries `success`; errors are RFC 9457 " +
		"problems with a stable `code` and the `request_id`."
	c.Servers = []*huma.Server{{URL: publicURL, Description: "This Lantern API server"}}
	c.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "An API key: ltn_<env>_<random>"},
	}
	c.DocsPath = "/docs"
	c.OpenAPIPath = "/openapi"
	c.SchemasPath = "/schemas"
	return c
}

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler { return s.handler(nil) }

// handler builds the router; extra registers more operations behind the same middleware (tests).
func (s *Server) handler(extra func(huma.API)) http.Handler {
	r := chi.NewRouter()
	r.Use(requestID, recoverer, accessLog, curlJSON)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, newProblem(r.Context(), http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path+"; see /docs"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, newProblem(r.Context(), http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; see /docs"))
	})
	a := humachi.New(r, HumaConfig(s.cfg.PublicURL))
	a.UseMiddleware(s.gate(a))
	s.Register(a)
	if extra != nil {
		extra(a)
	}
	return r
}

// Register adds every operation to a Huma API. It is what `lantern openapi` describes.
func (s *Server) Register(a huma.API) {
	s.registerHealth(a)
	s.registerCredits(a)
	s.registerLogs(a)
	s.registerEnrich(a)
	s.registerResearch(a)
	s.registerAgents(a)
	s.registerCRM(a)
	s.registerRouting(a)
	s.registerSalesforce(a)
	s.registerMatch(a)
	documentHeaders(a)
}

func reflectType[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }

// op is an authenticated /v1 operation that counts against the given rate-limit groups.
func op(o huma.Operation, lf LimitsFunc) huma.Operation {
	o.Security = []map[string][]string{{"bearer": {}}}
	if o.Metadata == nil {
		o.Metadata = map[string]any{}
	}
	o.Metadata[limitsMeta] = lf
	o.Errors = append(o.Errors, http.StatusUnauthorized, http.StatusTooManyRequests)
	return o
}

// documentHeaders adds the headers the gate sets to every response of authenticated operations,
// so that the OpenAPI document shows them (they are set by middleware, not by output structs).
func documentHeaders(a huma.API) {
	hdr := func(desc string, typ string) *huma.Param {
		return &huma.Param{Description: desc, Schema: &huma.Schema{Type: typ}}
	}
	always := map[string]*huma.Param{
		"X-Request-ID":          hdr("The request's id, also in error bodies and logs", "string"),
		"X-RateLimit-Limit":     hdr("Requests per minute allowed for this key and API group", "integer"),
		"X-RateLimit-Remaining": hdr("Requests left in the current window", "integer"),
		"X-RateLimit-Reset":     hdr("Unix time (seconds) when the current window ends", "integer"),
		"X-Credits-Remaining":   hdr("Credits left in the org's balance", "integer"),
	}
	for _, item := range a.OpenAPI().Paths {
		for _, o := range []*huma.Operation{item.Get, item.Put, item.Post, item.Patch, item.Delete} {
			if o == nil || len(o.Security) == 0 {
				continue
			}
			for status, resp := range o.Responses {
				if resp.Headers == nil {
					resp.Headers = map[string]*huma.Param{}
				}
				for name, h := range always {
					if _, ok := resp.Headers[name]; !ok {
						resp.Headers[name] = h
					}
				}
				if status == "429" {
					resp.Headers["Retry-After"] = hdr("Seconds until a request fits the limit again", "integer")
				}
			}
		}
	}
}
