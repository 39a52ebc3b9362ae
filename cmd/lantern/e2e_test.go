package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/testenv"
)

// The test binary doubles as the lantern binary: with LANTERN_E2E_MAIN set it runs main.
func TestMain(m *testing.M) {
	if os.Getenv("LANTERN_E2E_MAIN") != "" {
		os.Args = append([]string{"lantern"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lantern runs a lantern command as its own process with the given environment.
func lantern(t *testing.T, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "LANTERN_E2E_MAIN=1"), env...)
	return cmd
}

func run(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, err := lantern(t, env, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("lantern %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serve starts `lantern serve` and waits until it answers /healthz.
func serve(t *testing.T, env []string) string {
	addr := freePort(t)
	cmd := lantern(t, append(env, "LANTERN_HTTP_ADDR="+addr, "LANTERN_PUBLIC_URL=http://"+addr), "serve")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("lantern serve did not stop on SIGINT within 10 s")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("lantern serve did not come up: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(t *testing.T, url, key string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestTwoProcessesEndToEnd drives the real binary: migrate, create an org, a key and credits
// with the admin CLI, start two API processes on one database, and check that the rate limit
// holds across them and that a revocation from the CLI takes effect on both at once.
func TestTwoProcessesEndToEnd(t *testing.T) {
	_, dsn := testenv.Database(t)
	env := []string{"LANTERN_DATABASE_URL=" + dsn, "LANTERN_LOG_LEVEL=warn", "LANTERN_AUTH_CACHE_TTL=1h",
		"LANTERN_TEMPORAL_TASK_QUEUE=" + testenv.TaskQueue(t)}

	// A wrong setting stops the process and names the variable.
	out, err := lantern(t, append(env, "LANTERN_LOG_RETENTION_DAYS=5000"), "serve").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "LANTERN_LOG_RETENTION_DAYS") {
		t.Fatalf("bad config: %v %s", err, out)
	}

	if out := run(t, env, "migrate", "status"); !strings.Contains(out, "applied") {
		t.Fatalf("migrate status: %s", out)
	}
	run(t, env, "migrate", "up")
	run(t, env, "admin", "orgs", "create", "--name", "E2E Corp")
	keyOut := run(t, env, "admin", "keys", "create", "--org", "e2e-corp", "--name", "e2e")
	key := regexp.MustCompile(`ltn_live_[0-9A-Za-z]{32}`).FindString(keyOut)
	keyID := regexp.MustCompile(`id ([0-9a-f-]{36})`).FindStringSubmatch(keyOut)
	if key == "" || keyID == nil {
		t.Fatalf("keys create printed: %s", keyOut)
	}
	run(t, env, "admin", "credits", "grant", "--org", "e2e-corp", "--amount", "250", "--reference", "inv-1")
	if out := run(t, env, "admin", "credits", "grant", "--org", "e2e-corp", "--amount", "250", "--reference", "inv-1"); !strings.Contains(out, "already granted") {
		t.Fatalf("repeated grant: %s", out)
	}

	a, b := serve(t, env), serve(t, env)
	// Keep the credits calls inside one minute: across a boundary the sliding window weighs the
	// previous minute's calls slightly below their count, and an 11th could fit by design.
	if s := time.Now().Second(); s >= 45 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
	resp, body := get(t, a+"/v1/credits/remaining", key)
	if resp.StatusCode != 200 || !strings.Contains(body, `"credits_remaining":250`) || resp.Header.Get("X-Credits-Remaining") != "250" {
		t.Fatalf("remaining: %d %s", resp.StatusCode, body)
	}
	// The credits group allows 10 a minute; both processes share the count.
	ok := 1 // the call above
	for i := 0; i < 12; i++ {
		srv := a
		if i%2 == 0 {
			srv = b
		}
		resp, _ := get(t, srv+"/v1/credits/remaining", key)
		switch resp.StatusCode {
		case 200:
			ok++
		case 429:
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if ok != 10 {
		t.Fatalf("%d calls allowed across two processes with a limit of 10", ok)
	}

	// Logs are per process too: the retention setting made through one is read through the other.
	run(t, env, "admin", "keys", "limits", "--org", "e2e-corp", "--key", keyID[1], "logs_settings=100")
	time.Sleep(200 * time.Millisecond) // the limit change reaches the processes' key caches by NOTIFY
	req, _ := http.NewRequest(http.MethodPut, a+"/v1/logs/retention", strings.NewReader(`{"retention_days": 45}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("put retention: %v %v", resp.StatusCode, err)
	}
	if _, body := get(t, b+"/v1/logs/retention", key); !strings.Contains(body, `"retention_days":45`) {
		t.Fatalf("retention via b: %s", body)
	}

	// Revoke with the CLI; both processes refuse the key on the very next call.
	run(t, env, "admin", "keys", "revoke", "--org", "e2e-corp", "--key", keyID[1])
	for _, srv := range []string{a, b} {
		if resp, body := get(t, srv+"/v1/logs/retention", key); resp.StatusCode != 401 {
			t.Fatalf("revoked key on %s: %d %s", srv, resp.StatusCode, body)
		}
	}
}
