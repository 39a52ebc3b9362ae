package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPublicAddr(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.255.255.254", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "100.64.0.1", "100.127.255.255", "0.0.0.0", "0.1.2.3", "224.0.0.1",
		"239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.2.10", "198.18.0.1", "198.51.100.7",
		"203.0.113.9", "192.0.0.8",
		"::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
		"64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2002:a00:1::1",
		"2001::1", "2001:db8::1", "3fff::1", "100::1",
	}
	public := []string{
		"93.184.216.34", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "11.0.0.1",
		"2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	}
	for _, s := range blocked {
		if publicAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s counted as public", s)
		}
	}
	for _, s := range public {
		if !publicAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s counted as not public", s)
		}
	}

	f := New(Config{AllowPrivate: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	for s, want := range map[string]bool{"10.1.2.3": true, "::ffff:10.1.2.3": true, "11.0.0.1": true, "127.0.0.1": false, "192.168.0.1": false} {
		if got := f.allowedAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("allowedAddr(%s) with 10/8 allowed = %v, want %v", s, got, want)
		}
	}
}

func TestGetBasics(t *testing.T) {
	w := newWorld(t)
	var (
		mu     sync.Mutex
		agents []string
	)
	w.handle("acme.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents = append(agents, r.URL.Path+" "+r.UserAgent())
		mu.Unlock()
		switch r.URL.Path {
		case "/old":
			http.Redirect(rw, r, "/new#frag", http.StatusMovedPermanently)
		case "/new":
			rw.Header().Set("Content-Type", "text/html")
			rw.Header().Set("X-Test", "yes")
			fmt.Fprint(rw, "<p>new</p>")
		default:
			http.NotFound(rw, r)
		}
	}))
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f := w.fetcher(func(c *Config) { c.Now = func() time.Time { return at } })
	p, err := f.Get(context.Background(), w.httpURL("acme.test", "/old"))
	if err != nil {
		t.Fatal(err)
	}
	if p.URL != w.httpURL("acme.test", "/new") || p.Status != 200 || string(p.Body) != "<p>new</p>" ||
		p.Header.Get("X-Test") != "yes" || p.TLS || p.Truncated || !p.FetchedAt.Equal(at) {
		t.Errorf("page = %+v", p)
	}
	if len(p.Redirects) != 1 || p.Redirects[0] != w.httpURL("acme.test", "/old") {
		t.Errorf("redirects = %v", p.Redirects)
	}
	mu.Lock()
	want := []string{"/robots.txt " + DefaultUserAgent, "/old " + DefaultUserAgent, "/new " + DefaultUserAgent}
	if strings.Join(agents, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(agents, "\n"), strings.Join(want, "\n"))
	}
	mu.Unlock()

	// A non-2xx page is a page, not an error.
	p, err = f.Get(context.Background(), w.httpURL("acme.test", "/missing"))
	if err != nil || p.Status != 404 {
		t.Errorf("missing page: %v, %v", p, err)
	}
}

func TestGetRefusesNonPublicAddresses(t *testing.T) {
	w := newWorld(t)
	w.handle("acme.test", pages(map[string]string{"/": "hello"}))
	w.handle("private.test", pages(map[string]string{"/": "hello"}))
	w.resolve("private.test", "10.0.0.5")
	w.handle("mapped.test", pages(map[string]string{"/": "hello"}))
	w.resolve("mapped.test", "::ffff:127.0.0.1")
	w.handle("six.test", pages(map[string]string{"/": "hello"}))
	w.resolve("six.test", "::1")

	strict := w.fetcher(func(c *Config) { c.AllowPrivate = nil })
	loose := w.fetcher() // 127.0.0.0/8 allowed
	for _, tc := range []struct {
		name string
		f    *Fetcher
		url  string
	}{
		{"loopback by name", strict, w.httpURL("acme.test", "/")},
		{"loopback literal", strict, "http://" + w.plain.Listener.Addr().String() + "/"},
		{"ipv4-mapped loopback", strict, w.httpURL("mapped.test", "/")},
		{"ipv6 loopback", loose, w.httpURL("six.test", "/")},
		{"private not allowlisted", loose, w.httpURL("private.test", "/")},
		{"metadata literal", loose, "http://169.254.169.254/latest/meta-data/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.hitCount("acme.test", "/robots.txt") + w.hitCount("acme.test", "/")
			_, err := tc.f.Get(context.Background(), tc.url)
			if !errors.Is(err, ErrBlockedAddress) {
				t.Fatalf("err = %v, want ErrBlockedAddress", err)
			}
			if after := w.hitCount("acme.test", "/robots.txt") + w.hitCount("acme.test", "/"); after != before {
				t.Errorf("the server was reached")
			}
		})
	}

	// With the address allowlisted, the same fetch works.
	if _, err := loose.Get(context.Background(), w.httpURL("mapped.test", "/")); err != nil {
		t.Errorf("allowlisted mapped address: %v", err)
	}
	// A name with a blocked and an allowed address is dialled on the allowed one only.
	w.handle("mixed.test", pages(map[string]string{"/": "hello"}))
	w.resolve("mixed.test", "10.0.0.1", "127.0.0.1")
	if p, err := loose.Get(context.Background(), w.httpURL("mixed.test", "/")); err != nil || string(p.Body) != "hello" {
		t.Errorf("mixed answer: %v, %v", p, err)
	}
}

func TestGetRefusesRedirectsToNonPublicAddresses(t *testing.T) {
	w := newWorld(t)
	// Only 127.0.0.1 is allowed; internal.test resolves to another loopback address.
	w.resolve("internal.test", "127.0.0.2")
	w.handle("internal.test", pages(map[string]string{"/": "secret"}))
	targets := map[string]string{
		"/to-internal": "http://" + net.JoinHostPort("internal.test", port(w.plain)) + "/",
		"/to-metadata": "http://169.254.169.254/latest/meta-data/",
		"/to-private":  "http://10.0.0.1/admin",
		"/to-v6":       "http://[::1]:" + port(w.plain) + "/",
		"/to-mapped":   "http://[::ffff:a9fe:a9fe]/",
	}
	w.handle("acme.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if to, ok := targets[r.URL.Path]; ok {
			http.Redirect(rw, r, to, http.StatusFound)
			return
		}
		http.NotFound(rw, r)
	}))
	f := w.fetcher(func(c *Config) { c.AllowPrivate = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	for path := range targets {
		t.Run(path, func(t *testing.T) {
			_, err := f.Get(context.Background(), w.httpURL("acme.test", path))
			if !errors.Is(err, ErrBlockedAddress) {
				t.Fatalf("err = %v, want ErrBlockedAddress", err)
			}
		})
	}
	if n := w.hitCount("internal.test", "/"); n != 0 {
		t.Errorf("internal.test served %d requests", n)
	}
}

// A redirect to the literal 127.0.0.1 from a host that is itself allowed (on 127.0.0.2).
func TestGetRefusesRedirectToLoopbackLiteral(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	w := newWorld(t)
	w.handle("localhost.test", pages(map[string]string{"/": "secret"}))
	origin := httptest.NewUnstartedServer(redirectTo("http://"+w.plain.Listener.Addr().String()+"/", http.StatusFound))
	origin.Listener.Close()
	origin.Listener = ln
	origin.Start()
	defer origin.Close()
	w.resolve("origin.test", "127.0.0.2")
	f := w.fetcher(func(c *Config) { c.AllowPrivate = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")} })
	_, err = f.Get(context.Background(), "http://"+net.JoinHostPort("origin.test", port(origin))+"/")
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("err = %v, want ErrBlockedAddress", err)
	}
}

func TestGetSchemesAndURLs(t *testing.T) {
	w := newWorld(t)
	w.handle("acme.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file":
			http.Redirect(rw, r, "file:///etc/passwd", http.StatusFound)
		case "/gopher":
			http.Redirect(rw, r, "gopher://acme.test/", http.StatusFound)
		default:
			http.NotFound(rw, r)
		}
	}))
	f := w.fetcher()
	for _, tc := range []struct {
		url  string
		want error
	}{
		{"ftp://acme.test/", ErrUnsupportedScheme},
		{"file:///etc/passwd", ErrUnsupportedScheme},
		{"javascript:alert(1)", ErrUnsupportedScheme},
		{"acme.test/", ErrUnsupportedScheme},
		{"http://", ErrInvalidURL},
		{"http://%zz/", ErrInvalidURL},
		{w.httpURL("acme.test", "/file"), ErrUnsupportedScheme},
		{w.httpURL("acme.test", "/gopher"), ErrUnsupportedScheme},
		{w.httpURL("nowhere.test", "/"), ErrConnect},
	} {
		if _, err := f.Get(context.Background(), tc.url); !errors.Is(err, tc.want) {
			t.Errorf("Get(%q) = %v, want %v", tc.url, err, tc.want)
		}
	}
	var dnsErr *net.DNSError
	if _, err := f.Get(context.Background(), w.httpURL("nowhere.test", "/")); !errors.As(err, &dnsErr) {
		t.Errorf("unresolvable host: %v does not carry the *net.DNSError", err)
	}
}

func TestGetRedirectLimit(t *testing.T) {
	w := newWorld(t)
	// /r/N redirects to /r/N-1; /r/0 is the page.
	w.handle("acme.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/r/%d", &n); err != nil {
			http.NotFound(rw, r)
			return
		}
		if n == 0 {
			fmt.Fprint(rw, "done")
			return
		}
		http.Redirect(rw, r, fmt.Sprintf("/r/%d", n-1), http.StatusTemporaryRedirect)
	}))
	f := w.fetcher(func(c *Config) { c.MaxRedirects = 3 })
	p, err := f.Get(context.Background(), w.httpURL("acme.test", "/r/3"))
	if err != nil || string(p.Body) != "done" || len(p.Redirects) != 3 || p.URL != w.httpURL("acme.test", "/r/0") {
		t.Fatalf("3 redirects: %+v, %v", p, err)
	}
	if _, err := f.Get(context.Background(), w.httpURL("acme.test", "/r/4")); !errors.Is(err, ErrTooManyRedirects) {
		t.Errorf("4 redirects: %v, want ErrTooManyRedirects", err)
	}
	none := w.fetcher(func(c *Config) { c.MaxRedirects = -1 })
	if _, err := none.Get(context.Background(), w.httpURL("acme.test", "/r/1")); !errors.Is(err, ErrTooManyRedirects) {
		t.Errorf("no redirects allowed: %v, want ErrTooManyRedirects", err)
	}
	def := w.fetcher()
	if _, err := def.Get(context.Background(), w.httpURL("acme.test", "/r/5")); err != nil {
		t.Errorf("default allows 5: %v", err)
	}
	if _, err := def.Get(context.Background(), w.httpURL("acme.test", "/r/6")); !errors.Is(err, ErrTooManyRedirects) {
		t.Errorf("default refuses 6: %v", err)
	}
}

// A 20 MB page: the fetch keeps MaxBytes, says Truncated, and neither reads nor buffers the rest.
func TestGetTruncatesLargeBody(t *testing.T) {
	const size = 20 << 20
	var written atomic.Int64
	w := newWorld(t)
	chunk := []byte(strings.Repeat("<p>lorem ipsum dolor sit amet</p>\n", 1000))
	w.handle("big.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		if r.URL.Query().Has("length") {
			rw.Header().Set("Content-Length", itoa(size))
		}
		for n := 0; n < size; {
			k := min(len(chunk), size-n)
			if _, err := rw.Write(chunk[:k]); err != nil {
				return
			}
			n += k
			written.Add(int64(k))
		}
	}))
	f := w.fetcher()
	for _, q := range []string{"", "?length"} {
		written.Store(0)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		p, err := f.Get(context.Background(), w.httpURL("big.test", "/"+q))
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Truncated || len(p.Body) != DefaultMaxBytes {
			t.Errorf("%s: truncated=%v len=%d, want true and %d", q, p.Truncated, len(p.Body), DefaultMaxBytes)
		}
		// Body growth is bounded by about 2*MaxBytes; the server also allocates a little.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 12<<20 {
			t.Errorf("%s: allocated %d MiB for a %d MiB cap", q, alloc>>20, DefaultMaxBytes>>20)
		}
		time.Sleep(50 * time.Millisecond) // let the handler notice the closed connection
		t.Logf("%s: allocated %d KiB, server wrote %d KiB, took %v", q, (after.TotalAlloc-before.TotalAlloc)>>10, written.Load()>>10, took)
		if n := written.Load(); n >= size {
			t.Errorf("%s: the server wrote all %d bytes; the client should have hung up (took %v)", q, n, took)
		}
	}
	small := w.fetcher(func(c *Config) { c.MaxBytes = 1000 })
	p, err := small.Get(context.Background(), w.httpURL("big.test", "/"))
	if err != nil || !p.Truncated || len(p.Body) != 1000 {
		t.Errorf("MaxBytes 1000: %v, %v", p, err)
	}
}

// Servers that stall: Get returns at Timeout with an error that is a deadline.
func TestGetTimeout(t *testing.T) {
	w := newWorld(t)
	stop := make(chan struct{})
	defer close(stop)
	wait := func(r *http.Request, d time.Duration) bool {
		select {
		case <-r.Context().Done():
			return false
		case <-stop:
			return false
		case <-time.After(d):
			return true
		}
	}
	w.handle("trickle.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", "text/html")
		for wait(r, 20*time.Millisecond) {
			if _, err := rw.Write([]byte("x")); err != nil {
				return
			}
			rw.(http.Flusher).Flush()
		}
	}))
	w.handle("silent.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(rw, r)
			return
		}
		wait(r, time.Hour) // never answers
	}))
	w.handle("slowrobots.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		wait(r, time.Hour)
	}))
	const timeout = 300 * time.Millisecond
	f := w.fetcher(func(c *Config) { c.Timeout = timeout })
	for _, host := range []string{"trickle.test", "silent.test", "slowrobots.test"} {
		t.Run(host, func(t *testing.T) {
			start := time.Now()
			_, err := f.Get(context.Background(), w.httpURL(host, "/"))
			took := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want context.DeadlineExceeded", err)
			}
			if host == "slowrobots.test" && !errors.Is(err, ErrDisallowedByRobots) {
				t.Errorf("err = %v, want ErrDisallowedByRobots too", err)
			}
			// Not a speed assertion: a generous bound that only an unbounded fetch would break.
			if took > 10*timeout {
				t.Errorf("took %v with Timeout %v", took, timeout)
			}
		})
	}
	// The caller's earlier deadline counts too.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := w.fetcher().Get(ctx, w.httpURL("silent.test", "/")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ctx deadline: %v", err)
	}
}

func TestGetTLS(t *testing.T) {
	w := newWorld(t)
	w.handle("secure.test", pages(map[string]string{"/": "<p>secure</p>"}))
	p, err := w.fetcher().Get(context.Background(), w.httpsURL("secure.test", "/"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.TLS || string(p.Body) != "<p>secure</p>" {
		t.Errorf("page = %+v", p)
	}

	// Without the test root the certificate does not verify: Get refuses the connection.
	noRoots := w.fetcher(func(c *Config) { c.RootCAs = nil })
	_, err = noRoots.Get(context.Background(), w.httpsURL("secure.test", "/"))
	var cv *tls.CertificateVerificationError
	if !errors.Is(err, ErrConnect) || !errors.Is(err, ErrCertificate) || !errors.As(err, &cv) {
		t.Errorf("err = %v, want ErrConnect, ErrCertificate and a *tls.CertificateVerificationError", err)
	}
	// A plain-http server on the https port fails the handshake: ErrConnect, not ErrCertificate.
	_, err = w.fetcher().Get(context.Background(), "https://"+w.plainHost("secure.test")+"/")
	if !errors.Is(err, ErrConnect) || errors.Is(err, ErrCertificate) {
		t.Errorf("https to a plain server: %v", err)
	}
}

func TestGetRobots(t *testing.T) {
	w := newWorld(t)
	robots := map[string]string{
		"all.test":     "User-agent: *\nDisallow: /\n",
		"ours.test":    "User-agent: *\nDisallow: /\n\nUser-agent: LanternBot\nDisallow: /private\nAllow: /private/ok$\n",
		"other.test":   "User-agent: SomeOtherBot\nDisallow: /\n",
		"allowed.test": "User-agent: *\nDisallow: /admin\nAllow: /admin/public/\n",
	}
	for host, txt := range robots {
		w.handle(host, pages(map[string]string{"/robots.txt": txt, "/": "home", "/private": "p", "/private/ok": "ok",
			"/private/ok/more": "more", "/admin/x": "x", "/admin/public/x": "px"}))
	}
	w.handle("missing.test", pages(map[string]string{"/": "home"}))
	w.handle("broken.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.Error(rw, "oops", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(rw, "home")
	}))
	w.handle("limited.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.Error(rw, "slow down", http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(rw, "home")
	}))
	w.handle("gone.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.Error(rw, "forbidden", http.StatusForbidden)
			return
		}
		fmt.Fprint(rw, "home")
	}))
	w.handle("moved.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.Redirect(rw, r, w.httpURL("all.test", "/robots.txt"), http.StatusMovedPermanently)
			return
		}
		fmt.Fprint(rw, "home")
	}))
	f := w.fetcher()
	for _, tc := range []struct {
		host, path string
		allowed    bool
	}{
		{"all.test", "/", false},
		{"ours.test", "/", true}, // our group replaces "*"
		{"ours.test", "/private", false},
		{"ours.test", "/private/ok", true},
		{"ours.test", "/private/ok/more", false}, // "$" anchors
		{"other.test", "/", true},
		{"allowed.test", "/admin/x", false},
		{"allowed.test", "/admin/public/x", true},
		{"missing.test", "/", true}, // 404: no rules
		{"gone.test", "/", true},    // 4xx: no rules
		{"broken.test", "/", false}, // 5xx: complete disallow
		{"limited.test", "/", false},
		{"moved.test", "/", false}, // redirected robots.txt applies
	} {
		_, err := f.Get(context.Background(), w.httpURL(tc.host, tc.path))
		if tc.allowed && err != nil {
			t.Errorf("%s%s: %v, want allowed", tc.host, tc.path, err)
		}
		if !tc.allowed && !errors.Is(err, ErrDisallowedByRobots) {
			t.Errorf("%s%s: %v, want ErrDisallowedByRobots", tc.host, tc.path, err)
		}
	}
	if n := w.hitCount("all.test", "/"); n != 0 {
		t.Errorf("a disallowed page was fetched %d times", n)
	}
	// One robots.txt request per host, however many pages.
	if n := w.hitCount("ours.test", "/robots.txt"); n != 1 {
		t.Errorf("ours.test/robots.txt fetched %d times, want 1", n)
	}

	// A different product token is matched case-insensitively against its own group.
	other := w.fetcher(func(c *Config) { c.UserAgent = "someotherbot/2.0 (+https://example.org)" })
	if _, err := other.Get(context.Background(), w.httpURL("other.test", "/")); !errors.Is(err, ErrDisallowedByRobots) {
		t.Errorf("SomeOtherBot on other.test: %v, want disallowed", err)
	}
}

func TestRobotsCacheExpires(t *testing.T) {
	w := newWorld(t)
	var robots atomic.Value
	robots.Store("User-agent: *\nDisallow: /\n")
	w.handle("acme.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			fmt.Fprint(rw, robots.Load().(string))
			return
		}
		fmt.Fprint(rw, "home")
	}))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	f := w.fetcher(func(c *Config) {
		c.Now = func() time.Time { return time.Unix(0, clock.Load()) }
		c.RobotsTTL = time.Hour
	})
	get := func() error {
		_, err := f.Get(context.Background(), w.httpURL("acme.test", "/"))
		return err
	}
	if err := get(); !errors.Is(err, ErrDisallowedByRobots) {
		t.Fatalf("first: %v", err)
	}
	robots.Store("User-agent: *\nAllow: /\n")
	clock.Add(int64(59 * time.Minute))
	if err := get(); !errors.Is(err, ErrDisallowedByRobots) {
		t.Fatalf("cached: %v", err)
	}
	clock.Add(int64(2 * time.Minute))
	if err := get(); err != nil {
		t.Fatalf("after TTL: %v", err)
	}
	if n := w.hitCount("acme.test", "/robots.txt"); n != 2 {
		t.Errorf("robots.txt fetched %d times, want 2", n)
	}
}

// Concurrent first fetches of one host share a single robots.txt request.
func TestRobotsSingleFetch(t *testing.T) {
	w := newWorld(t)
	w.handle("acme.test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			time.Sleep(50 * time.Millisecond)
		}
		fmt.Fprint(rw, "ok")
	}))
	f := w.fetcher()
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := f.Get(context.Background(), w.httpURL("acme.test", "/"))
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := w.hitCount("acme.test", "/robots.txt"); n != 1 {
		t.Errorf("robots.txt fetched %d times, want 1", n)
	}
}

func TestMain(m *testing.M) {
	// Proxies in the environment must not matter: the Fetcher never uses them.
	os.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	os.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	os.Exit(m.Run())
}
