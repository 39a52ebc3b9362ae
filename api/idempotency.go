package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/lanternhq/lantern/internal/idempotency"
)

// idempotent runs fn at most once per (org, scope, key). fn fills out; a repeat with the same key
// and the same input gets the first out back, and a repeat with different input is a 409.
// Without a key, fn simply runs. Writes that accept an Idempotency-Key call this.
func (s *Server) idempotent(ctx context.Context, scope, key string, input, out any, fn func(context.Context) error) error {
	body, err := json.Marshal(input)
	if err != nil {
		return fmt.Errorf("encode request for idempotency: %w", err)
	}
	req := idempotency.Request{OrgID: PrincipalFrom(ctx).OrgID, Scope: scope, Key: key, Body: body}
	resp, replayed, err := s.idem.Do(ctx, req, func(ctx context.Context) (idempotency.Response, error) {
		if err := fn(ctx); err != nil {
			return idempotency.Response{}, err
		}
		b, err := json.Marshal(out)
		return idempotency.Response{Status: http.StatusOK, Body: b}, err
	})
	if err != nil || !replayed {
		return err
	}
	return json.Unmarshal(resp.Body, out)
}
