package vendors

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lanternhq/lantern/internal/enrich/httpx"
)

// Public API roots, for configuration defaults. New* do not default them: an operator who
// sets only a key gets these from the config layer, and tests point at httptest servers.
const (
	DefaultHunterBaseURL = "https://api.hunter.io/v2"
	DefaultPDLBaseURL    = "https://api.peopledatalabs.com/v5"
)

// Config selects one vendor account.
type Config struct {
	BaseURL    string       // e.g. DefaultHunterBaseURL
	APIKey     string       // required
	HTTPClient *http.Client // defaults to a client with a 30-second timeout
	Retry      RetryPolicy
}

const maxResponseBytes = 4 << 20

// newTransport checks cfg and returns the API root without a trailing slash.
func newTransport(service string, cfg Config) (*url.URL, *httpx.Transport, error) {
	// Empty settings first, in Config's order, then whether BaseURL is usable.
	if strings.TrimSpace(cfg.BaseURL) == "" {
		return nil, nil, httpx.Missing(service, "BaseURL")
	}
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, nil, httpx.Missing(service, "APIKey")
	}
	u, err := httpx.ParseBaseURL(service, cfg.BaseURL, "")
	if err != nil {
		return nil, nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return u, &httpx.Transport{
		Service: service,
		Client:  hc,
		Secret:  cfg.APIKey,
		Retry:   cfg.Retry,
		MaxBody: maxResponseBytes,
	}, nil
}

// endpoint joins base and path and sets the query.
func endpoint(base *url.URL, path string, q url.Values) string {
	u := *base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	return u.String()
}
