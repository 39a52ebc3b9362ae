// Package testenv connects tests to the real Postgres, Temporal dev server and S3 that
// `go tool task test` starts. Each test gets its own database (copied from a migrated
// template), so packages run in parallel without seeing each other's rows.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.temporal.io/sdk/client"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/objectstore"
	"github.com/lanternhq/lantern/internal/tenancy"
	"github.com/lanternhq/lantern/schema"
)

const hint = "start the test services with `go tool task services:up` (go tool task test does it for you)"

// Config is the configuration tests run with: the environment's LANTERN_* values over the
// defaults.
func Config(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	return cfg
}

// DB returns a fresh, migrated database that is dropped when the test ends.
func DB(t testing.TB) *bun.DB {
	t.Helper()
	db, _ := Database(t)
	return db
}

// Database is DB and its connection URL, for tests that start Lantern processes on it.
func Database(t testing.TB) (*bun.DB, string) {
	t.Helper()
	ctx := context.Background()
	cfg := Config(t)
	admin := schema.Open(withDB(t, cfg.DatabaseURL, "postgres"), 2)
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("postgres at LANTERN_DATABASE_URL is unreachable: %v; %s", err, hint)
	}
	tmpl := templateName(t)
	name := "lantern_t_" + randomHex(6)
	// One lock around template creation and copying: CREATE DATABASE ... TEMPLATE fails while
	// anyone else is connected to the template, including a concurrent migration of it.
	conn, err := admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7231005)"); err != nil {
		t.Fatal(err)
	}
	func() {
		defer conn.ExecContext(ctx, "SELECT pg_advisory_unlock(7231005)") //nolint:errcheck
		var exists bool
		if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = ?)", tmpl).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			buildTemplate(t, cfg.DatabaseURL, conn, tmpl)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tmpl)); err != nil {
			t.Fatalf("create test database: %v", err)
		}
	}()
	dsn := withDB(t, cfg.DatabaseURL, name)
	db := schema.Open(dsn, 20)
	t.Cleanup(func() {
		db.Close()
		drop := schema.Open(withDB(t, cfg.DatabaseURL, "postgres"), 1)
		defer drop.Close()
		drop.ExecContext(context.Background(), fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)) //nolint:errcheck
	})
	return db, dsn
}

func buildTemplate(t testing.TB, baseURL string, conn bun.Conn, tmpl string) {
	t.Helper()
	ctx := context.Background()
	building := tmpl + "_build"
	conn.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building)) //nolint:errcheck
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		t.Fatalf("create template database: %v", err)
	}
	db := schema.Open(withDB(t, baseURL, building), 2)
	_, err := schema.MigrateUp(ctx, db)
	db.Close()
	if err != nil {
		t.Fatalf("migrate template database: %v", err)
	}
	// Renaming last means a half-built template is never mistaken for a finished one.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, tmpl)); err != nil {
		t.Fatalf("finish template database: %v", err)
	}
	// Templates of earlier migrations are of no more use; drop those nobody is connected to.
	var old []string
	if err := conn.NewSelect().TableExpr("pg_database").Column("datname").
		Where(`datname LIKE 'lantern\_tmpl\_%' AND datname <> ?`, tmpl).Scan(ctx, &old); err == nil {
		for _, name := range old {
			conn.ExecContext(ctx, "DROP DATABASE IF EXISTS ?", bun.Ident(name)) //nolint:errcheck
		}
	}
}

// templateName changes whenever a migration changes, so a stale template is never used.
func templateName(t testing.TB) string {
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, m := range ms.Sorted() {
		fmt.Fprintln(h, m.Name, m.Comment)
	}
	files, err := fs.Glob(schema.MigrationFS(), "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, _ := fs.ReadFile(schema.MigrationFS(), f)
		h.Write(b)
	}
	return "lantern_tmpl_" + hex.EncodeToString(h.Sum(nil))[:12]
}

func withDB(t testing.TB, dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("LANTERN_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Tenant is an org with a key and credits, ready to call the API.
type Tenant struct {
	OrgID  uuid.UUID
	KeyID  uuid.UUID
	Secret string
}

// NewTenant creates an org with one key and the given credits.
func NewTenant(t testing.TB, db bun.IDB, balance int64) Tenant {
	t.Helper()
	ctx := context.Background()
	slug := "t-" + randomHex(5)
	org, err := tenancy.CreateOrg(ctx, db, "Test "+slug, slug)
	if err != nil {
		t.Fatal(err)
	}
	k, err := tenancy.CreateKey(ctx, db, org.ID, "test", "test")
	if err != nil {
		t.Fatal(err)
	}
	if balance > 0 {
		if _, err := credits.Grant(ctx, db, credits.Charge{OrgID: org.ID, Amount: balance}); err != nil {
			t.Fatal(err)
		}
	}
	return Tenant{OrgID: org.ID, KeyID: k.Key.ID, Secret: k.Secret}
}

// Temporal connects to the Temporal dev server.
func Temporal(t testing.TB) client.Client {
	t.Helper()
	cfg := Config(t)
	c, err := client.Dial(client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: quietLogger{}})
	if err != nil {
		t.Fatalf("temporal at LANTERN_TEMPORAL_ADDRESS=%s is unreachable: %v; %s", cfg.TemporalAddress, err, hint)
	}
	t.Cleanup(c.Close)
	return c
}

// TaskQueue is a task queue of the test's own, so parallel tests' workers do not steal work.
func TaskQueue(t testing.TB) string {
	return "test-" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-") + "-" + randomHex(4)
}

// Store returns an S3 store on a bucket of the test's own.
func Store(t testing.TB) *objectstore.Store {
	t.Helper()
	cfg := Config(t)
	st, err := objectstore.New(objectstore.Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey,
		SecretKey: cfg.S3SecretKey, Bucket: "test-" + randomHex(6), Region: cfg.S3Region, TLS: cfg.S3TLS})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := st.EnsureBucket(ctx); err != nil {
		t.Fatalf("S3 at LANTERN_S3_ENDPOINT=%s: %v; %s", cfg.S3Endpoint, err, hint)
	}
	return st
}

// quietLogger drops the Temporal SDK's logs, which drown test output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(msg string, kv ...any) {
	if os.Getenv("LANTERN_TEST_VERBOSE") != "" {
		fmt.Fprintln(os.Stderr, append([]any{"temporal:", msg}, kv...)...)
	}
}
