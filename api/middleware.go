package api

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/ratelimit"
	"github.com/lanternhq/lantern/internal/tenancy"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	principalKey
)

// RequestIDFrom returns the request id of ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// PrincipalFrom returns who the request acts for. Only operations behind the gate have one.
func PrincipalFrom(ctx context.Context) tenancy.Principal {
	p, _ := ctx.Value(principalKey).(tenancy.Principal)
	return p
}

var clientRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID gives every request an id: the client's X-Request-ID when it is sane, else a new
// one. It is echoed in X-Request-ID, in error bodies and in logs.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !clientRequestID.MatchString(id) {
			id = NewRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

var b32 = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewRequestID returns "req_" and 20 random base32 characters.
func NewRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return "req_" + b32.EncodeToString(b[:])[:20]
}

// recoverer turns a panic into a logged 500 in the usual error body.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				slog.ErrorContext(r.Context(), "panic", "request_id", RequestIDFrom(r.Context()), "panic", v)
				writeProblem(w, newProblem(r.Context(), http.StatusInternalServerError, ""))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// accessLog logs one line per request.
func accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		slog.LogAttrs(r.Context(), slog.LevelDebug, "http",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", ww.Status()), slog.Int("bytes", ww.BytesWritten()),
			slog.Duration("took", time.Since(start)), slog.String("request_id", RequestIDFrom(r.Context())))
	})
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p) //nolint:errcheck
}

// limitsMeta is the operation metadata key naming the rate-limit groups an operation counts
// against. Its value is a func so an operation can depend on the request (large exports).
const limitsMeta = "lantern.ratelimit"

// LimitsFunc returns the groups one request counts against, most specific first.
type LimitsFunc func(ctx huma.Context) []ratelimit.Group

// gate is the Huma middleware in front of every /v1 operation: bearer auth, rate limits and
// the credit header. Operations without limits metadata (health, docs) pass straight through.
func (s *Server) gate(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		groupsOf, ok := ctx.Operation().Metadata[limitsMeta].(LimitsFunc)
		if !ok {
			next(ctx)
			return
		}
		fail := func(err error) {
			if apperr.Is(err, apperr.Unauthorized) {
				ctx.SetHeader("WWW-Authenticate", `Bearer realm="lantern"`)
			}
			huma.WriteErr(api, ctx, 0, "", err) //nolint:errcheck
		}
		token, found := strings.CutPrefix(ctx.Header("Authorization"), "Bearer ")
		if !found || token == "" {
			fail(apperr.New(apperr.Unauthorized, "missing API key: send Authorization: Bearer <key>"))
			return
		}
		p, err := s.auth.Authenticate(ctx.Context(), strings.TrimSpace(token))
		if err != nil {
			fail(err)
			return
		}
		var shown ratelimit.Decision
		for i, g := range groupsOf(ctx) {
			d, err := s.limiter.Take(ctx.Context(), p.OrgID, p.KeyID, g, s.limitFor(p, g))
			if err != nil {
				fail(apperr.Wrap(apperr.Unavailable, err, "rate limiter unavailable"))
				return
			}
			if !d.KeyActive {
				s.auth.Forget()
				s.limiter.Forget()
				fail(apperr.New(apperr.Unauthorized, "invalid or revoked API key"))
				return
			}
			if i == 0 || !d.Allowed || d.Remaining < shown.Remaining {
				shown = d
			}
			if !d.Allowed {
				break
			}
		}
		ctx.SetHeader("X-RateLimit-Limit", strconv.Itoa(shown.Limit))
		ctx.SetHeader("X-RateLimit-Remaining", strconv.Itoa(shown.Remaining))
		ctx.SetHeader("X-RateLimit-Reset", strconv.FormatInt(shown.Reset.Unix(), 10))
		ctx.SetHeader("X-Credits-Remaining", strconv.FormatInt(shown.CreditBalance, 10))
		if !shown.Allowed {
			secs := int(shown.RetryAfter / time.Second)
			ctx.SetHeader("Retry-After", strconv.Itoa(secs))
			fail(apperr.New(apperr.RateLimited, "rate limit of %d requests per minute exceeded; retry in %d s", shown.Limit, secs))
			return
		}
		next(huma.WithValue(ctx, principalKey, p))
	}
}

// limitFor is a key's per-minute limit for a group: its override, else the configured default.
func (s *Server) limitFor(p tenancy.Principal, g ratelimit.Group) int {
	if n, ok := p.RateLimits[string(g)]; ok && n > 0 {
		return n
	}
	return s.cfg.RateLimits[g]
}

// limits is the LimitsFunc of an operation that counts against fixed groups.
func limits(groups ...ratelimit.Group) LimitsFunc {
	return func(huma.Context) []ratelimit.Group { return groups }
}
