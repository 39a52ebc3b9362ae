package api

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/objectstore"
	"github.com/lanternhq/lantern/internal/testenv"
)

// checkExactlyOnce checks a finished email batch of n records whose every record costs 5
// (Hunter): each record once in results.jsonl, one charge per record, and the ledger's net
// equal to what the records cost.
func checkExactlyOnce(t *testing.T, bs *batchStack, st map[string]any, n int) {
	t.Helper()
	if st["state"] != "completed" || st["processed"] != float64(n) || st["succeeded"] != float64(n) {
		t.Fatalf("status: %v", st)
	}
	lines := resultLines(t, download(t, urls(st)["results"].(string)))
	if len(lines) != n {
		t.Fatalf("%d lines for %d records", len(lines), n)
	}
	var charges, sum int64
	bs.db.NewRaw("SELECT count(*), coalesce(sum(amount),0) FROM batch_charges WHERE org_id = ?", bs.tn.OrgID).
		Scan(context.Background(), &charges, &sum)
	var lineSum int64
	for _, l := range lines {
		lineSum += int64(l["credits_used"].(float64))
	}
	if charges != int64(n) || sum != int64(5*n) || lineSum != sum || ledgerNet(t, bs.db, bs) != sum {
		t.Fatalf("charges %d (sum %d), lines say %d, ledger net %d; want %d charges of 5", charges, sum, lineSum, ledgerNet(t, bs.db, bs), n)
	}
}

// TestBatchSurvivesWorkerKill stops the worker in the middle of a batch (its activity is cut
// off without reporting) and starts another: the batch completes, every record is in
// results.jsonl once and charged once.
func TestBatchSurvivesWorkerKill(t *testing.T) {
	var calls atomic.Int64
	hunter := hunterStub(t, 40*time.Millisecond, &calls)
	bs := newBatchStack(t, 100000, func(c *config.Config) {
		generous(c)
		withHunter(hunter)(c)
		c.BatchConcurrency, c.BatchChunkSize = 4, 100
	})
	w1 := bs.startW(bs.store)
	const n = 300
	m := bs.submit(t, "email", `{"records":`+emailRecords(n)+`,"options":{"providers":["hunter"]}}`)
	id := m["batch_id"].(string)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if p := bs.status(t, id)["processed"].(float64); p >= 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no progress")
		}
	}
	w1.Stop()
	killedAt := bs.status(t, id)["processed"].(float64)
	bs.startW(bs.store)
	st := bs.wait(t, id, 2*time.Minute)
	checkExactlyOnce(t, bs, st, n)
	t.Logf("killed at %v processed; provider calls %d for %d records", killedAt, calls.Load(), n)
}

// s3Proxy forwards TCP to S3 and can be switched off: while down it cuts open connections
// and refuses new ones, as an unreachable S3 would.
type s3Proxy struct {
	ln     net.Listener
	target string
	down   atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newS3Proxy(t *testing.T, target string) *s3Proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &s3Proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.down.Load() {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }() //nolint:errcheck
			go func() { io.Copy(c, up); c.Close() }()  //nolint:errcheck
		}
	}()
	return p
}

func (p *s3Proxy) setDown(down bool) {
	p.down.Store(down)
	if down {
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
		p.mu.Unlock()
	}
}

// TestBatchWaitsForS3 takes S3 away from the worker right after the submission (the API
// stored the input first) for several seconds: the records wait and retry, and the batch then
// completes with nothing lost or doubled.
func TestBatchWaitsForS3(t *testing.T) {
	hunter := hunterStub(t, 5*time.Millisecond, nil)
	bs := newBatchStack(t, 100000, func(c *config.Config) {
		generous(c)
		withHunter(hunter)(c)
		c.BatchChunkSize = 20
	})
	cfg := testenv.Config(t)
	proxy := newS3Proxy(t, cfg.S3Endpoint)
	via, err := objectstore.New(objectstore.Config{Endpoint: proxy.ln.Addr().String(), AccessKey: cfg.S3AccessKey,
		SecretKey: cfg.S3SecretKey, Bucket: bs.store.Bucket(), Region: cfg.S3Region})
	if err != nil {
		t.Fatal(err)
	}
	const n = 60
	proxy.setDown(true)
	bs.startW(via)
	m := bs.submit(t, "email", `{"records":`+emailRecords(n)+`,"options":{"providers":["hunter"]}}`)
	id := m["batch_id"].(string)
	time.Sleep(6 * time.Second)
	if st := bs.status(t, id); st["state"] != "running" || st["processed"] != float64(0) {
		t.Fatalf("while S3 is down: %v", st)
	}
	proxy.setDown(false)
	st := bs.wait(t, id, 2*time.Minute)
	checkExactlyOnce(t, bs, st, n)
}
