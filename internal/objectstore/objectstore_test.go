package objectstore_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/objectstore"
	"github.com/lanternhq/lantern/internal/testenv"
)

func TestPutGetAndPresignAgainstS3(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	if err := st.EnsureBucket(ctx); err != nil { // a second call is a no-op
		t.Fatal(err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"record_id":"r1","success":true}` + "\n")
	if err := st.Put(ctx, "batches/b1/results.jsonl", "application/x-ndjson", body); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx, "batches/b1/results.jsonl")
	if err != nil || string(got) != string(body) {
		t.Fatalf("get: %q %v", got, err)
	}
	if _, err := st.Get(ctx, "batches/b1/missing"); !objectstore.IsNotFound(err) {
		t.Fatalf("missing object: %v", err)
	}
	// A presigned URL downloads without credentials.
	u, err := st.PresignGet(ctx, "batches/b1/results.jsonl", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != string(body) {
		t.Fatalf("presigned GET: %d %q", resp.StatusCode, b)
	}
}
