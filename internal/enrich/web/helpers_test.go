package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// world is a small internet for tests: one plain and one TLS httptest server that serve many
// fake host names (acme.test, other.test, ...), told apart by the Host header, and a LookupIP
// that maps each name to the address the test chooses (127.0.0.1 by default).
type world struct {
	t     testing.TB
	plain *httptest.Server
	tls   *httptest.Server
	pool  *x509.CertPool // trusts the TLS server's certificate

	mu    sync.Mutex
	hosts map[string]http.Handler
	ips   map[string][]netip.Addr
	hits  map[string]*atomic.Int64 // host+path -> requests served
}

var loopback = netip.MustParseAddr("127.0.0.1")

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, hosts: map[string]http.Handler{}, ips: map[string][]netip.Addr{}, hits: map[string]*atomic.Int64{}}
	h := http.HandlerFunc(w.serve)
	w.plain = httptest.NewServer(h)
	w.tls = httptest.NewUnstartedServer(h)
	cert, pool := testCertificate(t)
	w.tls.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	w.tls.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are what some tests do
	w.tls.StartTLS()
	w.pool = pool
	t.Cleanup(func() {
		w.plain.Close()
		w.tls.Close()
	})
	return w
}

func (w *world) serve(rw http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	w.mu.Lock()
	h := w.hosts[host]
	c := w.hits[host+r.URL.Path]
	if c == nil {
		c = new(atomic.Int64)
		w.hits[host+r.URL.Path] = c
	}
	w.mu.Unlock()
	c.Add(1)
	if h == nil {
		http.NotFound(rw, r)
		return
	}
	h.ServeHTTP(rw, r)
}

// handle serves host with h; the host resolves to 127.0.0.1 unless resolve says otherwise.
func (w *world) handle(host string, h http.Handler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hosts[host] = h
	if _, ok := w.ips[host]; !ok {
		w.ips[host] = []netip.Addr{loopback}
	}
}

// resolve makes host resolve to addrs.
func (w *world) resolve(host string, addrs ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ips []netip.Addr
	for _, a := range addrs {
		ips = append(ips, netip.MustParseAddr(a))
	}
	w.ips[host] = ips
}

func (w *world) hitCount(host, path string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.hits[host+path]; c != nil {
		return c.Load()
	}
	return 0
}

func (w *world) lookup(_ context.Context, host string) ([]netip.Addr, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ips, ok := w.ips[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return ips, nil
}

// fetcher returns a Fetcher that resolves through the world, trusts its TLS server and may
// dial 127.0.0.0/8; mod adjusts the Config.
func (w *world) fetcher(mod ...func(*Config)) *Fetcher {
	cfg := Config{
		Timeout:      5 * time.Second,
		LookupIP:     w.lookup,
		AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RootCAs:      w.pool,
	}
	for _, m := range mod {
		m(&cfg)
	}
	f := New(cfg)
	w.t.Cleanup(f.CloseIdleConnections)
	return f
}

func port(s *httptest.Server) string {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	return p
}

// plainHost is "host:port" of the plain server; tlsHost of the TLS server.
func (w *world) plainHost(host string) string { return net.JoinHostPort(host, port(w.plain)) }
func (w *world) tlsHost(host string) string   { return net.JoinHostPort(host, port(w.tls)) }

func (w *world) httpURL(host, path string) string  { return "http://" + w.plainHost(host) + path }
func (w *world) httpsURL(host, path string) string { return "https://" + w.tlsHost(host) + path }

// fixture serves testdata/dir: / from index.html, /about, /contact and /robots.txt from the
// files of those names when present; anything else is 404.
func fixture(t testing.TB, dir string) http.Handler {
	t.Helper()
	files := map[string]string{"/": "index.html", "/about": "about.html", "/contact": "contact.html", "/robots.txt": "robots.txt"}
	bodies := map[string][]byte{}
	for path, name := range files {
		b, err := os.ReadFile(filepath.Join("testdata", dir, name))
		if err == nil {
			bodies[path] = b
		} else if path == "/" {
			t.Fatal(err)
		}
	}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(rw, r)
			return
		}
		if r.URL.Path == "/robots.txt" {
			rw.Header().Set("Content-Type", "text/plain")
		} else {
			rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		rw.Write(b)
	})
}

// pages serves fixed bodies by path (text/html) and 404 otherwise.
func pages(m map[string]string) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, ok := m[r.URL.Path]
		if !ok {
			http.NotFound(rw, r)
			return
		}
		if r.URL.Path == "/robots.txt" {
			rw.Header().Set("Content-Type", "text/plain")
		} else {
			rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		rw.Write([]byte(b))
	})
}

func redirectTo(target string, code int) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, target, code)
	})
}

var (
	certOnce sync.Once
	certTLS  tls.Certificate
	certPool *x509.CertPool
	certErr  error
)

// testCertificate is a self-signed certificate for *.test, made once per test binary.
func testCertificate(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			certErr = err
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{Organization: []string{"Lantern tests"}},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
			DNSNames:              []string{"*.test", "*.acme.test"},
			IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			certErr = err
			return
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			certErr = err
			return
		}
		certTLS = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
		certPool = x509.NewCertPool()
		certPool.AddCert(leaf)
	})
	if certErr != nil {
		t.Fatal(certErr)
	}
	return certTLS, certPool
}

func itoa(n int) string { return strconv.Itoa(n) }
