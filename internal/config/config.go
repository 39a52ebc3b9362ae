// Package config reads Lantern's settings from LANTERN_* environment variables (flags may
// override them) into one Config struct, validated at start. Every setting lives in the
// table below, so the README, the docker files and `lantern config` list the same names.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lanternhq/lantern/internal/ratelimit"
)

// Config is every setting of one Lantern process.
type Config struct {
	HTTPAddr  string // address the API listens on
	PublicURL string // how clients reach the API (printed, used in links)

	DatabaseURL string
	DBMaxConns  int
	AutoMigrate bool

	TemporalAddress   string
	TemporalNamespace string
	TemporalTaskQueue string
	TemporalTLS       bool
	TemporalAPIKey    string
	TemporalUIURL     string

	S3Endpoint  string
	S3AccessKey string
	S3SecretKey string
	S3Bucket    string
	S3Region    string
	S3TLS       bool

	KeyEnv       string // the <env> part of ltn_<env>_<random> keys
	RateLimits   map[ratelimit.Group]int
	AuthCacheTTL time.Duration

	LogRetentionDays  int
	MergeUndoDays     int // how long a merge can be undone; its recycle bin rows and journal go after
	RetentionCron     string
	RetentionTimezone *time.Location
	IdempotencyTTL    time.Duration

	LogLevel  string
	LogFormat string

	BatchConcurrency int // records of one batch in flight at once
	BatchChunkSize   int // records per chunk: results.jsonl is rewritten after each

	Enrich EnrichConfig

	CRM        string // where CRM records live: "local" (Postgres) or "salesforce"
	Salesforce SalesforceConfig
}

// SalesforceConfig is the Salesforce CRM adapter's settings (used when CRM is "salesforce").
// With PrivateKeyFile set it authenticates with the OAuth 2.0 JWT bearer flow (ClientID,
// Username, PrivateKeyFile); otherwise with the client credentials flow (ClientID, ClientSecret).
type SalesforceConfig struct {
	LoginURL        string
	ClientID        string
	ClientSecret    string
	Username        string
	PrivateKeyFile  string
	APIVersion      string        // "v61.0"
	ExternalIDField string        // the custom field upserts key on
	MaxAPIUsage     float64       // fraction of the org's daily API requests above which calls pause
	Timeout         time.Duration // time limit of one Salesforce call
}

// check names the first missing setting the chosen auth flow needs.
func (s SalesforceConfig) check() error {
	need := []struct{ env, v string }{{"LANTERN_SALESFORCE_CLIENT_ID", s.ClientID}}
	if s.PrivateKeyFile != "" {
		need = append(need, struct{ env, v string }{"LANTERN_SALESFORCE_USERNAME", s.Username})
	} else {
		need = append(need, struct{ env, v string }{"LANTERN_SALESFORCE_CLIENT_SECRET", s.ClientSecret})
	}
	for _, n := range need {
		if strings.TrimSpace(n.v) == "" {
			return fmt.Errorf("%s is required with LANTERN_CRM=salesforce (JWT flow: CLIENT_ID, USERNAME and PRIVATE_KEY_FILE; client credentials flow: CLIENT_ID and CLIENT_SECRET)", n.env)
		}
	}
	if s.PrivateKeyFile != "" {
		if _, err := os.Stat(s.PrivateKeyFile); err != nil {
			return fmt.Errorf("LANTERN_SALESFORCE_PRIVATE_KEY_FILE: cannot read %s", s.PrivateKeyFile)
		}
	}
	return nil
}

// EnrichConfig is the enrichment engine's settings: providers, prices and limits.
type EnrichConfig struct {
	Threshold     float64
	CacheTTL      time.Duration
	StepTimeout   time.Duration
	Prices        map[string]int64
	Order         map[string][]string // service -> providers, overriding the default order
	DefaultRegion string

	UserAgent     string
	FetchTimeout  time.Duration
	FetchMaxBytes int64
	FetchAllow    []netip.Prefix // private ranges outbound fetches may reach anyway

	DNSServer  string
	SMTPVerify bool
	SMTPHelo   string
	SMTPFrom   string
	SMTPPort   int

	LLMBaseURL         string
	LLMAPIKey          string
	LLMModel           string
	LLMAzureAPIVersion string
	LLMCreditsPer1K    int64

	SearXNGURL     string
	HunterBaseURL  string
	HunterAPIKey   string
	PDLBaseURL     string
	PDLAPIKey      string
	ResearchWait   time.Duration
	ResearchPages  int
	ResearchBudget int64
}

// Setting describes one variable: its name, flag, default and how it lands in Config.
type Setting struct {
	Env     string
	Default string
	Help    string
	Secret  bool
	set     func(c *Config, v string) error
}

// Flag is the command-line flag that overrides the variable: LANTERN_HTTP_ADDR -> --http-addr.
func (s Setting) Flag() string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.Env, "LANTERN_")), "_", "-")
}

// Settings lists every variable Lantern reads, in the order the README documents them.
var Settings = []Setting{
	{Env: "LANTERN_HTTP_ADDR", Default: "127.0.0.1:8000", Help: "address the API listens on",
		set: func(c *Config, v string) error { c.HTTPAddr = v; return hostPort(v) }},
	{Env: "LANTERN_PUBLIC_URL", Default: "http://localhost:8000", Help: "base URL clients use to reach the API",
		set: func(c *Config, v string) error { c.PublicURL = strings.TrimRight(v, "/"); return httpURL(v) }},
	{Env: "LANTERN_DATABASE_URL", Default: "postgres://postgres@127.0.0.1:5432/lantern?sslmode=disable", Help: "Postgres connection URL", Secret: true,
		set: func(c *Config, v string) error { c.DatabaseURL = v; return postgresURL(v) }},
	{Env: "LANTERN_DB_MAX_CONNS", Default: "20", Help: "maximum open Postgres connections per process",
		set: func(c *Config, v string) (err error) { c.DBMaxConns, err = intIn(v, 1, 1000); return }},
	{Env: "LANTERN_AUTO_MIGRATE", Default: "false", Help: "apply pending migrations when serve/worker/dev start",
		set: func(c *Config, v string) (err error) { c.AutoMigrate, err = strconv.ParseBool(v); return }},
	{Env: "LANTERN_TEMPORAL_ADDRESS", Default: "127.0.0.1:7233", Help: "Temporal frontend host:port",
		set: func(c *Config, v string) error { c.TemporalAddress = v; return hostPort(v) }},
	{Env: "LANTERN_TEMPORAL_NAMESPACE", Default: "default", Help: "Temporal namespace",
		set: func(c *Config, v string) error { c.TemporalNamespace = v; return nonEmpty(v) }},
	{Env: "LANTERN_TEMPORAL_TASK_QUEUE", Default: "lantern", Help: "task queue the worker polls",
		set: func(c *Config, v string) error { c.TemporalTaskQueue = v; return nonEmpty(v) }},
	{Env: "LANTERN_TEMPORAL_TLS", Default: "false", Help: "connect to Temporal over TLS (Temporal Cloud)",
		set: func(c *Config, v string) (err error) { c.TemporalTLS, err = strconv.ParseBool(v); return }},
	{Env: "LANTERN_TEMPORAL_API_KEY", Default: "", Help: "Temporal Cloud API key (implies TLS)", Secret: true,
		set: func(c *Config, v string) error { c.TemporalAPIKey = v; return nil }},
	{Env: "LANTERN_TEMPORAL_UI_URL", Default: "http://127.0.0.1:8233", Help: "Temporal UI address, printed for operators",
		set: func(c *Config, v string) error { c.TemporalUIURL = strings.TrimRight(v, "/"); return httpURL(v) }},
	{Env: "LANTERN_S3_ENDPOINT", Default: "127.0.0.1:7070", Help: "S3 endpoint host:port (versitygw, MinIO, s3.amazonaws.com)",
		set: func(c *Config, v string) error { c.S3Endpoint = v; return hostPort(v) }},
	{Env: "LANTERN_S3_ACCESS_KEY", Default: "lantern", Help: "S3 access key",
		set: func(c *Config, v string) error { c.S3AccessKey = v; return nonEmpty(v) }},
	{Env: "LANTERN_S3_SECRET_KEY", Default: "lantern-dev-secret", Help: "S3 secret key", Secret: true,
		set: func(c *Config, v string) error { c.S3SecretKey = v; return nonEmpty(v) }},
	{Env: "LANTERN_S3_BUCKET", Default: "lantern", Help: "bucket for batch inputs, results and cost breakdowns",
		set: func(c *Config, v string) error { c.S3Bucket = v; return bucketName(v) }},
	{Env: "LANTERN_S3_REGION", Default: "us-east-1", Help: "S3 region",
		set: func(c *Config, v string) error { c.S3Region = v; return nonEmpty(v) }},
	{Env: "LANTERN_S3_TLS", Default: "false", Help: "use HTTPS for S3",
		set: func(c *Config, v string) (err error) { c.S3TLS, err = strconv.ParseBool(v); return }},
	{Env: "LANTERN_KEY_ENV", Default: "live", Help: "environment tag in new API keys: ltn_<env>_...",
		set: func(c *Config, v string) error { c.KeyEnv = v; return keyEnv(v) }},
	{Env: "LANTERN_RATE_LIMITS", Default: "", Help: "per-minute limit overrides per API group, e.g. sync=100,match=200",
		set: func(c *Config, v string) (err error) {
			c.RateLimits, err = ParseRateLimits(v, ratelimit.Defaults())
			return
		}},
	{Env: "LANTERN_AUTH_CACHE_TTL", Default: "30s", Help: "how long a verified key is cached; revocations invalidate at once",
		set: func(c *Config, v string) (err error) { c.AuthCacheTTL, err = durationIn(v, 0, time.Hour); return }},
	{Env: "LANTERN_LOG_RETENTION_DAYS", Default: "365", Help: "route-log retention for orgs that set none (1-1095)",
		set: func(c *Config, v string) (err error) { c.LogRetentionDays, err = intIn(v, 1, 1095); return }},
	{Env: "LANTERN_MERGE_UNDO_DAYS", Default: "15", Help: "how long a merge can be undone (1-365); then its recycle-bin records and journal are purged",
		set: func(c *Config, v string) (err error) { c.MergeUndoDays, err = intIn(v, 1, 365); return }},
	{Env: "LANTERN_RETENTION_CRON", Default: "0 2 * * *", Help: "cron spec of the daily log-retention schedule",
		set: func(c *Config, v string) error { c.RetentionCron = v; return cronSpec(v) }},
	{Env: "LANTERN_RETENTION_TIMEZONE", Default: "UTC", Help: "time zone of the retention schedule",
		set: func(c *Config, v string) (err error) { c.RetentionTimezone, err = time.LoadLocation(v); return }},
	{Env: "LANTERN_IDEMPOTENCY_TTL", Default: "24h", Help: "how long idempotency keys are remembered",
		set: func(c *Config, v string) (err error) {
			c.IdempotencyTTL, err = durationIn(v, time.Minute, 30*24*time.Hour)
			return
		}},
	{Env: "LANTERN_ENRICH_THRESHOLD", Default: "0.8", Help: "confidence at which a field's provider waterfall stops (0-1)",
		set: func(c *Config, v string) (err error) { c.Enrich.Threshold, err = floatIn(v, 0.01, 1); return }},
	{Env: "LANTERN_ENRICH_CACHE_TTL", Default: "720h", Help: "how long enrichment answers for a record_id are reused",
		set: func(c *Config, v string) (err error) {
			c.Enrich.CacheTTL, err = durationIn(v, 0, 24*365*time.Hour)
			return
		}},
	{Env: "LANTERN_ENRICH_STEP_TIMEOUT", Default: "8s", Help: "time limit of one provider step; a slow provider gives a partial result",
		set: func(c *Config, v string) (err error) {
			c.Enrich.StepTimeout, err = durationIn(v, 100*time.Millisecond, 5*time.Minute)
			return
		}},
	{Env: "LANTERN_ENRICH_PRICES", Default: "", Help: "credits per provider step that finds something, e.g. website=2,hunter=5 (over the defaults)",
		set: func(c *Config, v string) (err error) { c.Enrich.Prices, err = parsePrices(v); return }},
	{Env: "LANTERN_ENRICH_ORDER", Default: "", Help: "provider order per service, e.g. email=hunter,email-pattern;phone=libphonenumber,website",
		set: func(c *Config, v string) (err error) { c.Enrich.Order, err = parseOrder(v); return }},
	{Env: "LANTERN_DEFAULT_REGION", Default: "US", Help: "ISO region for phone numbers written without a country code",
		set: func(c *Config, v string) error { c.Enrich.DefaultRegion = strings.ToUpper(v); return region(v) }},
	{Env: "LANTERN_FETCH_USER_AGENT", Default: "LanternBot/1.0 (+https://github.com/lanternhq/lantern)", Help: "User-Agent of outbound web fetches (robots.txt rules for its first word apply)",
		set: func(c *Config, v string) error { c.Enrich.UserAgent = v; return nonEmpty(v) }},
	{Env: "LANTERN_FETCH_TIMEOUT", Default: "10s", Help: "time limit of one web page fetch",
		set: func(c *Config, v string) (err error) {
			c.Enrich.FetchTimeout, err = durationIn(v, 100*time.Millisecond, 2*time.Minute)
			return
		}},
	{Env: "LANTERN_FETCH_MAX_BYTES", Default: "2097152", Help: "bytes read of one web page at most",
		set: func(c *Config, v string) error {
			n, err := intIn(v, 1024, 100<<20)
			c.Enrich.FetchMaxBytes = int64(n)
			return err
		}},
	{Env: "LANTERN_FETCH_ALLOW", Default: "", Help: "private/loopback CIDRs outbound fetches may reach anyway, e.g. 10.1.0.0/16 (default: none)",
		set: func(c *Config, v string) (err error) { c.Enrich.FetchAllow, err = parsePrefixes(v); return }},
	{Env: "LANTERN_DNS_SERVER", Default: "", Help: "DNS server host:port for MX checks (default: the system resolver)",
		set: func(c *Config, v string) error {
			c.Enrich.DNSServer = v
			if v == "" {
				return nil
			}
			return hostPort(v)
		}},
	{Env: "LANTERN_SMTP_VERIFY", Default: "false", Help: "allow SMTP RCPT mailbox checks (requests opt in with options.smtp_verify; port 25 must be open)",
		set: func(c *Config, v string) (err error) { c.Enrich.SMTPVerify, err = strconv.ParseBool(v); return }},
	{Env: "LANTERN_SMTP_HELO", Default: "localhost", Help: "host name announced in SMTP checks",
		set: func(c *Config, v string) error { c.Enrich.SMTPHelo = v; return nonEmpty(v) }},
	{Env: "LANTERN_SMTP_FROM", Default: "", Help: "MAIL FROM of SMTP checks (default: the null sender <>)",
		set: func(c *Config, v string) error { c.Enrich.SMTPFrom = v; return nil }},
	{Env: "LANTERN_SMTP_PORT", Default: "25", Help: "port of SMTP checks",
		set: func(c *Config, v string) (err error) { c.Enrich.SMTPPort, err = intIn(v, 1, 65535); return }},
	{Env: "LANTERN_LLM_BASE_URL", Default: "", Help: "OpenAI-compatible API base URL (OpenAI, Azure, Ollama, vLLM, llama.cpp), e.g. https://api.openai.com/v1",
		set: func(c *Config, v string) error {
			c.Enrich.LLMBaseURL = strings.TrimRight(v, "/")
			return optionalURL(v)
		}},
	{Env: "LANTERN_LLM_API_KEY", Default: "", Help: "LLM API key (optional for local servers)", Secret: true,
		set: func(c *Config, v string) error { c.Enrich.LLMAPIKey = v; return nil }},
	{Env: "LANTERN_LLM_MODEL", Default: "", Help: "model name, e.g. gpt-4o-mini or llama3.1; required with LANTERN_LLM_BASE_URL",
		set: func(c *Config, v string) error { c.Enrich.LLMModel = v; return nil }},
	{Env: "LANTERN_LLM_AZURE_API_VERSION", Default: "", Help: "set for Azure OpenAI (base URL .../openai/deployments/NAME), e.g. 2024-10-21",
		set: func(c *Config, v string) error { c.Enrich.LLMAzureAPIVersion = v; return nil }},
	{Env: "LANTERN_LLM_CREDITS_PER_1K_TOKENS", Default: "1", Help: "credits charged per 1,000 LLM tokens (prompt + completion, rounded up)",
		set: func(c *Config, v string) error {
			n, err := intIn(v, 0, 1_000_000)
			c.Enrich.LLMCreditsPer1K = int64(n)
			return err
		}},
	{Env: "LANTERN_SEARXNG_URL", Default: "", Help: "SearXNG base URL for web search (deep research), with the json format enabled",
		set: func(c *Config, v string) error {
			c.Enrich.SearXNGURL = strings.TrimRight(v, "/")
			return optionalURL(v)
		}},
	{Env: "LANTERN_HUNTER_BASE_URL", Default: "https://api.hunter.io/v2", Help: "Hunter API base URL",
		set: func(c *Config, v string) error { c.Enrich.HunterBaseURL = strings.TrimRight(v, "/"); return httpURL(v) }},
	{Env: "LANTERN_HUNTER_API_KEY", Default: "", Help: "Hunter API key: adds Hunter to the email waterfall", Secret: true,
		set: func(c *Config, v string) error { c.Enrich.HunterAPIKey = v; return nil }},
	{Env: "LANTERN_PDL_BASE_URL", Default: "https://api.peopledatalabs.com/v5", Help: "People Data Labs API base URL",
		set: func(c *Config, v string) error { c.Enrich.PDLBaseURL = strings.TrimRight(v, "/"); return httpURL(v) }},
	{Env: "LANTERN_PDL_API_KEY", Default: "", Help: "People Data Labs API key: adds PDL to the person, email, phone and company waterfalls", Secret: true,
		set: func(c *Config, v string) error { c.Enrich.PDLAPIKey = v; return nil }},
	{Env: "LANTERN_RESEARCH_WAIT", Default: "25s", Help: "how long POST /v1/enrich/research waits before answering 202 with an id to poll",
		set: func(c *Config, v string) (err error) {
			c.Enrich.ResearchWait, err = durationIn(v, 0, 5*time.Minute)
			return
		}},
	{Env: "LANTERN_RESEARCH_PAGES", Default: "5", Help: "web pages one research run reads at most",
		set: func(c *Config, v string) (err error) { c.Enrich.ResearchPages, err = intIn(v, 1, 50); return }},
	{Env: "LANTERN_RESEARCH_BUDGET", Default: "200", Help: "credits one research run may spend at most (a request's max_credits may lower it)",
		set: func(c *Config, v string) error {
			n, err := intIn(v, 1, 1_000_000)
			c.Enrich.ResearchBudget = int64(n)
			return err
		}},
	{Env: "LANTERN_BATCH_CONCURRENCY", Default: "32", Help: "records of one Async API batch processed at once (per worker)",
		set: func(c *Config, v string) (err error) { c.BatchConcurrency, err = intIn(v, 1, 1000); return }},
	{Env: "LANTERN_BATCH_CHUNK_SIZE", Default: "100", Help: "records per batch chunk; results.jsonl is rewritten in S3 after each chunk",
		set: func(c *Config, v string) (err error) { c.BatchChunkSize, err = intIn(v, 1, 1000); return }},
	// Salesforce. LANTERN_CRM comes after the LANTERN_SALESFORCE_* settings: its check reads them.
	{Env: "LANTERN_SALESFORCE_LOGIN_URL", Default: "https://login.salesforce.com", Help: "Salesforce OAuth host: https://login.salesforce.com, https://test.salesforce.com or your My Domain URL (the client credentials flow needs My Domain)",
		set: func(c *Config, v string) error { c.Salesforce.LoginURL = strings.TrimRight(v, "/"); return httpURL(v) }},
	{Env: "LANTERN_SALESFORCE_CLIENT_ID", Default: "", Help: "consumer key of the Salesforce connected app",
		set: func(c *Config, v string) error { c.Salesforce.ClientID = v; return nil }},
	{Env: "LANTERN_SALESFORCE_CLIENT_SECRET", Default: "", Help: "consumer secret of the connected app (client credentials flow)", Secret: true,
		set: func(c *Config, v string) error { c.Salesforce.ClientSecret = v; return nil }},
	{Env: "LANTERN_SALESFORCE_USERNAME", Default: "", Help: "Salesforce user the JWT bearer flow acts as",
		set: func(c *Config, v string) error { c.Salesforce.Username = v; return nil }},
	{Env: "LANTERN_SALESFORCE_PRIVATE_KEY_FILE", Default: "", Help: "PEM RSA private key whose certificate the connected app holds; selects the JWT bearer flow",
		set: func(c *Config, v string) error { c.Salesforce.PrivateKeyFile = v; return nil }},
	{Env: "LANTERN_SALESFORCE_API_VERSION", Default: "v61.0", Help: "Salesforce REST/SOAP API version, e.g. v61.0",
		set: func(c *Config, v string) error {
			v = strings.TrimPrefix(v, "v")
			major, minor, ok := strings.Cut(v, ".")
			if _, err := strconv.Atoi(major); err != nil || !ok || minor != "0" {
				return errors.New("want an API version such as v61.0")
			}
			if n, _ := strconv.Atoi(major); n < 46 {
				return errors.New("want v46.0 or later (sObject Collections upsert)")
			}
			c.Salesforce.APIVersion = "v" + v
			return nil
		}},
	{Env: "LANTERN_SALESFORCE_EXTERNAL_ID_FIELD", Default: "Lantern_External_Id__c", Help: "external id field (on Account, Contact, Lead, Opportunity) that upserts key on",
		set: func(c *Config, v string) error {
			c.Salesforce.ExternalIDField = v
			for i, r := range v {
				if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '_')) {
					return errors.New("want a field API name such as Lantern_External_Id__c")
				}
			}
			return nonEmpty(v)
		}},
	{Env: "LANTERN_SALESFORCE_MAX_API_USAGE", Default: "0.9", Help: "fraction of the org's daily API requests (Sforce-Limit-Info) above which Lantern pauses Salesforce calls for a minute; 1 never pauses",
		set: func(c *Config, v string) (err error) { c.Salesforce.MaxAPIUsage, err = floatIn(v, 0.1, 1); return }},
	{Env: "LANTERN_SALESFORCE_TIMEOUT", Default: "30s", Help: "time limit of one Salesforce call",
		set: func(c *Config, v string) (err error) {
			c.Salesforce.Timeout, err = durationIn(v, time.Second, 5*time.Minute)
			return
		}},
	{Env: "LANTERN_CRM", Default: "local", Help: "where CRM records live: local (Lantern's Postgres) or salesforce (the LANTERN_SALESFORCE_* settings)",
		set: func(c *Config, v string) error {
			c.CRM = v
			if err := oneOf(v, "local", "salesforce"); err != nil {
				return err
			}
			if v == "salesforce" {
				return c.Salesforce.check()
			}
			return nil
		}},
	{Env: "LANTERN_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error",
		set: func(c *Config, v string) error { c.LogLevel = v; return oneOf(v, "debug", "info", "warn", "error") }},
	{Env: "LANTERN_LOG_FORMAT", Default: "text", Help: "text or json",
		set: func(c *Config, v string) error { c.LogFormat = v; return oneOf(v, "text", "json") }},
}

// Load reads the environment (through getenv) and then the flags in args. Every invalid value
// is reported, each naming its variable.
func Load(getenv func(string) string, args []string) (*Config, error) {
	values := map[string]string{}
	for _, s := range Settings {
		values[s.Env] = s.Default
		if v, ok := lookup(getenv, s.Env); ok {
			values[s.Env] = v
		}
	}
	if len(args) > 0 {
		fs := flag.NewFlagSet("lantern", flag.ContinueOnError)
		fs.SetOutput(new(strings.Builder))
		for _, s := range Settings {
			env := s.Env
			fs.Func(s.Flag(), s.Help+" (overrides "+env+")", func(v string) error { values[env] = v; return nil })
		}
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() > 0 {
			return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
	}
	c := &Config{}
	var errs []error
	for _, s := range Settings {
		if err := s.set(c, values[s.Env]); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", s.Env, shown(s, values[s.Env]), err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// FromEnv is Load over the process environment and no flags.
func FromEnv() (*Config, error) { return Load(os.Getenv, nil) }

func lookup(getenv func(string) string, k string) (string, bool) {
	if getenv == nil {
		return "", false
	}
	v := getenv(k)
	return v, v != ""
}

func shown(s Setting, v string) string {
	if s.Secret && v != "" {
		return "***"
	}
	return v
}

// ParseRateLimits reads "group=N,group=N" on top of base; unknown groups are an error.
func ParseRateLimits(v string, base map[ratelimit.Group]int) (map[ratelimit.Group]int, error) {
	out := make(map[ratelimit.Group]int, len(base))
	for k, n := range base {
		out[k] = n
	}
	if strings.TrimSpace(v) == "" {
		return out, nil
	}
	for _, part := range strings.Split(v, ",") {
		name, num, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%q is not group=limit", part)
		}
		g := ratelimit.Group(strings.TrimSpace(name))
		if _, known := base[g]; !known {
			return nil, fmt.Errorf("unknown API group %q (known: %s)", g, strings.Join(groupNames(base), ", "))
		}
		n, err := intIn(strings.TrimSpace(num), 1, 1_000_000)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g, err)
		}
		out[g] = n
	}
	return out, nil
}

func groupNames(m map[ratelimit.Group]int) []string {
	names := make([]string, 0, len(m))
	for g := range m {
		names = append(names, string(g))
	}
	sort.Strings(names)
	return names
}

func nonEmpty(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func hostPort(v string) error {
	i := strings.LastIndex(v, ":")
	if i < 0 {
		return errors.New("want host:port")
	}
	if _, err := strconv.ParseUint(v[i+1:], 10, 16); err != nil {
		return errors.New("want host:port with a numeric port")
	}
	return nil
}

func httpURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http(s) URL")
	}
	return nil
}

func postgresURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return errors.New("want postgres://user@host:port/dbname")
	}
	if strings.Trim(u.Path, "/") == "" {
		return errors.New("want a database name in the path")
	}
	return nil
}

func intIn(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errors.New("want an integer")
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("want %d to %d", lo, hi)
	}
	return n, nil
}

func durationIn(v string, lo, hi time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("want a duration such as 30s or 24h")
	}
	if d < lo || d > hi {
		return 0, fmt.Errorf("want %s to %s", lo, hi)
	}
	return d, nil
}

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
}

func keyEnv(v string) error {
	if v == "" || len(v) > 8 {
		return errors.New("want 1 to 8 lowercase letters or digits")
	}
	for _, r := range v {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return errors.New("want 1 to 8 lowercase letters or digits")
		}
	}
	return nil
}

func bucketName(v string) error {
	if len(v) < 3 || len(v) > 63 {
		return errors.New("want a bucket name of 3 to 63 characters")
	}
	for _, r := range v {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '.' {
			return errors.New("want lowercase letters, digits, '-' and '.'")
		}
	}
	return nil
}

// cronSpec accepts the five-field cron syntax Temporal schedules take.
func cronSpec(v string) error {
	fields := strings.Fields(v)
	if len(fields) != 5 {
		return errors.New("want five cron fields: minute hour day-of-month month day-of-week")
	}
	for _, f := range fields {
		for _, r := range f {
			if !strings.ContainsRune("0123456789*/,-", r) {
				return fmt.Errorf("field %q: only digits, '*', '/', ',' and '-' are allowed", f)
			}
		}
	}
	return nil
}

func floatIn(v string, lo, hi float64) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, errors.New("want a number")
	}
	if f < lo || f > hi {
		return 0, fmt.Errorf("want %g to %g", lo, hi)
	}
	return f, nil
}

func optionalURL(v string) error {
	if v == "" {
		return nil
	}
	return httpURL(v)
}

func region(v string) error {
	if len(v) != 2 {
		return errors.New("want a two-letter ISO 3166 region such as US or GB")
	}
	return nil
}

// parsePrices reads "provider=credits,...".
func parsePrices(v string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, num, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("%q is not provider=credits", part)
		}
		n, err := intIn(strings.TrimSpace(num), 0, 1_000_000)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[strings.TrimSpace(name)] = int64(n)
	}
	return out, nil
}

// parseOrder reads "service=p1,p2;service=p3".
func parseOrder(v string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, part := range strings.Split(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		svc, list, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(svc) == "" || strings.TrimSpace(list) == "" {
			return nil, fmt.Errorf("%q is not service=provider,provider", part)
		}
		for _, p := range strings.Split(list, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out[strings.TrimSpace(svc)] = append(out[strings.TrimSpace(svc)], p)
			}
		}
	}
	return out, nil
}

func parsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// MergeUndo is MergeUndoDays as a duration.
func (c *Config) MergeUndo() time.Duration { return time.Duration(c.MergeUndoDays) * 24 * time.Hour }
