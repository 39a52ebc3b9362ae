package vendors_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "hk_SECRETKEY/+=123"

type reply struct {
	status  int
	header  map[string]string
	fixture string
}

type fake struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	reqs    []*http.Request
	replies []reply
}

func newFake(t *testing.T, replies ...reply) *fake {
	t.Helper()
	f := &fake{t: t, replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, r.Clone(context.Background()))
		f.mu.Unlock()
		if n >= len(f.replies) {
			t.Errorf("unexpected request #%d: %s", n+1, r.URL.Path)
			w.WriteHeader(http.StatusTeapot)
			return
		}
		rp := f.replies[n]
		for k, v := range rp.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		status := rp.status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		if rp.fixture != "" {
			b, err := os.ReadFile(filepath.Join("testdata", rp.fixture))
			if err != nil {
				t.Error(err)
			}
			_, _ = w.Write(b)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

// recorder collects retry waits instead of sleeping.
type recorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *recorder) get() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...)
}

// assertNoKey checks every error in the chain: none may print the key, raw or escaped.
func assertNoKey(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "SECRETKEY") {
			t.Fatalf("error leaks the API key: %q", e.Error())
		}
	}
}
