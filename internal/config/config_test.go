package config_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/ratelimit"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := config.Load(env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:8000" || c.LogRetentionDays != 365 || c.RetentionCron != "0 2 * * *" ||
		c.RateLimits[ratelimit.Sync] != 50 || c.RateLimits[ratelimit.Async] != 1 || c.RateLimits[ratelimit.Credits] != 10 ||
		c.RateLimits[ratelimit.LogsExport] != 10 || c.RateLimits[ratelimit.LogsExportLarge] != 2 || c.RateLimits[ratelimit.LogsStats] != 20 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEnvAndFlags(t *testing.T) {
	c, err := config.Load(env(map[string]string{
		"LANTERN_HTTP_ADDR": "0.0.0.0:9000", "LANTERN_RATE_LIMITS": "sync=100, match=7", "LANTERN_AUTH_CACHE_TTL": "5s",
	}), []string{"--http-addr", "127.0.0.1:9001", "--log-level=debug"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9001" || c.LogLevel != "debug" || c.AuthCacheTTL != 5*time.Second ||
		c.RateLimits[ratelimit.Sync] != 100 || c.RateLimits[ratelimit.Match] != 7 || c.RateLimits[ratelimit.Credits] != 10 {
		t.Fatalf("got %+v", c)
	}
}

func TestEveryBadValueIsNamed(t *testing.T) {
	_, err := config.Load(env(map[string]string{
		"LANTERN_HTTP_ADDR":          "localhost",
		"LANTERN_DATABASE_URL":       "mysql://x",
		"LANTERN_LOG_RETENTION_DAYS": "2000",
		"LANTERN_RATE_LIMITS":        "sink=5",
		"LANTERN_RETENTION_CRON":     "daily",
		"LANTERN_RETENTION_TIMEZONE": "Mars/Olympus",
		"LANTERN_TEMPORAL_TLS":       "maybe",
		"LANTERN_S3_BUCKET":          "Bad_Bucket",
	}), nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"LANTERN_HTTP_ADDR", "LANTERN_DATABASE_URL", "LANTERN_LOG_RETENTION_DAYS", "LANTERN_RATE_LIMITS",
		"LANTERN_RETENTION_CRON", "LANTERN_RETENTION_TIMEZONE", "LANTERN_TEMPORAL_TLS", "LANTERN_S3_BUCKET"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	// Secrets are not echoed.
	_, err = config.Load(env(map[string]string{"LANTERN_DATABASE_URL": "mysql://user:hunter2@x/db"}), nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("secret echoed: %v", err)
	}
	if _, err := config.Load(env(nil), []string{"--no-such-flag"}); err == nil {
		t.Fatal("unknown flag accepted")
	}
}

// TestDocumentedEverywhere keeps the README and the compose file in step with the settings.
func TestDocumentedEverywhere(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	compose, err := os.ReadFile("../../docker/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, s := range config.Settings {
		known[s.Env] = true
		if !strings.Contains(string(readme), s.Env) {
			t.Errorf("README.md does not document %s", s.Env)
		}
	}
	for _, w := range strings.FieldsFunc(string(compose), func(r rune) bool {
		return !(r == '_' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		if strings.HasPrefix(w, "LANTERN_") && !known[w] {
			t.Errorf("docker/compose.yaml sets %s, which Lantern does not read", w)
		}
	}
}
