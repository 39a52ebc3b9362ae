package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults for the zero Config fields.
const (
	DefaultUserAgent    = "LanternBot/1.0 (+https://github.com/lanternhq/lantern)"
	DefaultTimeout      = 10 * time.Second
	DefaultMaxBytes     = 2 << 20
	DefaultMaxRedirects = 5
	DefaultRobotsTTL    = time.Hour
)

// Errors returned by Get and Company; test them with errors.Is. Time-outs are not listed here:
// they satisfy errors.Is(err, context.DeadlineExceeded).
var (
	// ErrBlockedAddress: the host resolves only to addresses that are not public (loopback,
	// private, link-local, CGNAT, multicast, reserved, ...) and not in Config.AllowPrivate.
	ErrBlockedAddress = errors.New("web: address not allowed")
	// ErrDisallowedByRobots: the site's robots.txt forbids the path to our user agent, or
	// robots.txt could not be read for a reason that RFC 9309 treats as complete disallow (5xx,
	// 429, a time-out after connecting). A time-out also satisfies context.DeadlineExceeded.
	ErrDisallowedByRobots = errors.New("web: disallowed by robots.txt")
	// ErrTooManyRedirects: more than Config.MaxRedirects redirects.
	ErrTooManyRedirects = errors.New("web: too many redirects")
	// ErrUnsupportedScheme: the URL, or a redirect, is not http or https.
	ErrUnsupportedScheme = errors.New("web: unsupported URL scheme")
	// ErrInvalidURL: the URL or site cannot be parsed or has no host.
	ErrInvalidURL = errors.New("web: invalid URL")
	// ErrConnect: no connection could be made: the name does not resolve, the connection is
	// refused or times out, or the TLS handshake fails. The cause stays in the chain (errors.As
	// *net.DNSError, *tls.CertificateVerificationError, ...).
	ErrConnect = errors.New("web: could not connect")
	// ErrCertificate: the server's TLS certificate did not verify against Config.RootCAs (or
	// the system roots). It always comes wrapped together with ErrConnect.
	ErrCertificate = errors.New("web: TLS certificate not valid")
)

// Config sets up a Fetcher. The zero value is usable: every zero field takes its default.
type Config struct {
	// UserAgent is sent on every request; its product token (before the first '/') is the
	// name looked up in robots.txt. Default DefaultUserAgent.
	UserAgent string
	// Timeout bounds one Get as a whole: robots.txt, redirects, headers and body. Default 10s.
	Timeout time.Duration
	// MaxBytes is the most body bytes kept; longer bodies are cut and Page.Truncated is set.
	// Default 2 MiB.
	MaxBytes int64
	// MaxRedirects is the most redirects one Get follows. 0 means the default (5); a negative
	// value follows none.
	MaxRedirects int
	// AllowPrivate lists ranges that may be dialled although they are not public (tests,
	// an intranet deployment). Empty: only public unicast addresses are dialled.
	AllowPrivate []netip.Prefix
	// LookupIP resolves host names. Default net.DefaultResolver.LookupNetIP.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
	// RootCAs verifies TLS certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// RobotsTTL is how long a host's robots.txt is cached. Default 1h.
	RobotsTTL time.Duration
	// Now is the clock (FetchedAt, CheckedAt, robots.txt expiry). Default time.Now.
	Now func() time.Time
}

// Fetcher fetches pages with the SSRF, size, time and robots.txt rules of its Config. It is safe
// for concurrent use and should be reused: it pools connections and caches robots.txt per host.
type Fetcher struct {
	cfg    Config
	token  string // User-Agent product token, for robots.txt
	maxRed int
	client *http.Client
	dialer *net.Dialer

	robotsMu sync.Mutex
	robots   map[string]*robotsEntry
}

// Page is a fetched response.
type Page struct {
	URL       string      // final URL, after redirects
	Status    int         // HTTP status of the final response (non-2xx is not an error)
	Header    http.Header // headers of the final response
	Body      []byte      // at most Config.MaxBytes bytes, decompressed, not charset-decoded
	Truncated bool        // the body was longer than Config.MaxBytes and was cut
	TLS       bool        // the final response came over https with a verified certificate chain
	Redirects []string    // URLs that answered with a redirect, in order; empty without redirects
	FetchedAt time.Time
}

// New returns a Fetcher for cfg, filling in defaults.
func New(cfg Config) *Fetcher {
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	cfg.MaxBytes = min(cfg.MaxBytes, 1<<32) // bodies are held in memory; keep int arithmetic safe
	if cfg.LookupIP == nil {
		cfg.LookupIP = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if cfg.RobotsTTL <= 0 {
		cfg.RobotsTTL = DefaultRobotsTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.AllowPrivate = append([]netip.Prefix(nil), cfg.AllowPrivate...)
	f := &Fetcher{cfg: cfg, robots: make(map[string]*robotsEntry)}
	switch {
	case cfg.MaxRedirects == 0:
		f.maxRed = DefaultMaxRedirects
	case cfg.MaxRedirects > 0:
		f.maxRed = cfg.MaxRedirects
	}
	f.token, _, _ = strings.Cut(cfg.UserAgent, "/")
	f.token = strings.TrimSpace(f.token)
	if i := strings.IndexAny(f.token, " \t"); i >= 0 {
		f.token = f.token[:i]
	}
	f.dialer = &net.Dialer{
		// Half the budget, so that a port that drops packets fails as a connection error
		// (ErrConnect, which Company answers by trying http) rather than as the fetch time-out.
		Timeout:   cfg.Timeout / 2,
		KeepAlive: 30 * time.Second,
		// A second check on the exact address being connected to; dial already dials only
		// checked addresses, this keeps it true whatever path reaches the dialer.
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
			}
			if !f.allowedAddr(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrBlockedAddress, ap.Addr())
			}
			return nil
		},
	}
	tr := &http.Transport{
		Proxy:                  nil, // an environment proxy would fetch anything on our behalf
		DialContext:            f.dial,
		DialTLSContext:         f.dialTLS,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        60 * time.Second,
		MaxResponseHeaderBytes: 256 << 10,
		ExpectContinueTimeout:  time.Second,
	}
	f.client = &http.Client{
		Transport: tr,
		// Redirects are followed by Get itself so each hop gets robots.txt and scheme checks.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return f
}

// CloseIdleConnections closes pooled connections that are not in use.
func (f *Fetcher) CloseIdleConnections() { f.client.CloseIdleConnections() }

// Get fetches rawURL (http or https) and follows redirects. Before each request it consults the
// host's robots.txt. Every connection goes only to addresses that pass the SSRF check, resolved
// by Config.LookupIP at dial time (so a DNS answer cannot change between check and use), and
// every redirect is checked again. A non-2xx final status is returned as a Page, not an error.
//
// Errors: ErrUnsupportedScheme, ErrInvalidURL, ErrBlockedAddress, ErrDisallowedByRobots,
// ErrTooManyRedirects, ErrConnect (with ErrCertificate for an unverified certificate: Get never
// accepts one, so Page.TLS is true for every https page it returns). When Config.Timeout (or
// ctx's deadline) passes, the error satisfies errors.Is(err, context.DeadlineExceeded); if ctx is
// cancelled, context.Canceled.
func (f *Fetcher) Get(ctx context.Context, rawURL string) (*Page, error) {
	u, err := parseTarget(rawURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	p, err := f.get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("web: GET %s: %w", u.Redacted(), withCtxErr(ctx, unwrapURLError(err)))
	}
	return p, nil
}

func (f *Fetcher) get(ctx context.Context, u *url.URL) (*Page, error) {
	var redirects []string
	for {
		if err := f.checkRobots(ctx, u); err != nil {
			return nil, err
		}
		resp, err := f.do(ctx, u)
		if err != nil {
			return nil, err
		}
		if loc := redirectLocation(resp); loc != "" {
			discard(resp.Body)
			if len(redirects) >= f.maxRed {
				return nil, fmt.Errorf("%w: more than %d", ErrTooManyRedirects, f.maxRed)
			}
			next, err := u.Parse(loc)
			if err != nil {
				return nil, fmt.Errorf("%w: redirect to %q: %v", ErrInvalidURL, loc, err)
			}
			if err := checkURL(next); err != nil {
				return nil, fmt.Errorf("redirect to %s: %w", next.Redacted(), err)
			}
			next.Fragment, next.RawFragment = "", ""
			redirects = append(redirects, u.String())
			u = next
			continue
		}
		body, truncated, err := readBody(resp.Body, f.cfg.MaxBytes, resp.ContentLength)
		resp.Body.Close() // unread rest: the transport drops the connection instead of draining it
		if err != nil {
			return nil, err
		}
		return &Page{
			URL:       u.String(),
			Status:    resp.StatusCode,
			Header:    resp.Header,
			Body:      body,
			Truncated: truncated,
			TLS:       resp.TLS != nil, // dialTLS never returns an unverified connection
			Redirects: redirects,
			FetchedAt: f.now(),
		}, nil
	}
}

func (f *Fetcher) do(ctx context.Context, u *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
	return f.client.Do(req)
}

func (f *Fetcher) now() time.Time { return f.cfg.Now() }

// parseTarget parses a URL given to Get.
func parseTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

func checkURL(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return fmt.Errorf("%w: %q", ErrUnsupportedScheme, u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%w: %q has no host", ErrInvalidURL, u.Redacted())
	}
	return nil
}

func redirectLocation(resp *http.Response) string {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return resp.Header.Get("Location")
	}
	return ""
}

// discard reads a little of a body we do not want, so a small one leaves the connection
// reusable, then closes it.
func discard(body io.ReadCloser) {
	io.CopyN(io.Discard, body, 16<<10)
	body.Close()
}

// readBody reads at most max bytes. It reads one byte more to know whether the body was longer,
// and grows its buffer only up to max+1, so a huge or endless body costs at most about 2*max of
// allocation in total. A known length (hint >= 0) sizes the buffer once; it is only a hint, as
// the server may send fewer bytes.
func readBody(r io.Reader, max, hint int64) ([]byte, bool, error) {
	limit := int(max) + 1
	size := min(limit, 32<<10)
	if hint >= 0 && hint < int64(limit) {
		size = int(hint) + 1
	} else if hint >= int64(limit) {
		size = limit
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= limit {
				break
			}
			nb := make([]byte, len(buf), min(2*cap(buf), limit))
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
	}
	if int64(len(buf)) > max {
		return buf[:max], true, nil
	}
	return buf, false, nil
}

// unwrapURLError drops the *url.Error layer that http.Client adds ("Get "...": ..."), because
// our own messages already name the URL.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// withCtxErr makes sure an error caused by the fetch deadline or a cancelled ctx says so in a way
// errors.Is can see, whatever shape the transport gave it.
func withCtxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// dial resolves the host through Config.LookupIP, keeps only allowed addresses and connects to
// one of those exact addresses. Resolving here, not before the request, is what defeats DNS
// rebinding: the address checked is the address dialled.
func (f *Fetcher) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%w: port %q", ErrInvalidURL, portStr)
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ips, err = f.cfg.LookupIP(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("%w: resolve %s: %w", ErrConnect, host, err)
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("%w: %s has no addresses", ErrConnect, host)
		}
	}
	var lastErr error
	for _, ip := range ips {
		ip = ip.Unmap().WithZone("")
		if !f.allowedAddr(ip) {
			if lastErr == nil {
				lastErr = fmt.Errorf("%w: %s resolves to %s", ErrBlockedAddress, host, ip)
			}
			continue
		}
		conn, err := f.dialer.DialContext(ctx, network, netip.AddrPortFrom(ip, uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		if errors.Is(err, ErrBlockedAddress) {
			lastErr = err
		} else {
			lastErr = fmt.Errorf("%w: %w", ErrConnect, err)
		}
	}
	return nil, lastErr
}

// dialTLS dials like dial and does the handshake itself, so that a handshake failure is
// recognisable as ErrConnect (Company then tries http) and no unverified connection is ever used.
// Only HTTP/1.1 is offered: enough for crawling, and it keeps the connection handling simple.
func (f *Fetcher) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := f.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	tc := tls.Client(conn, &tls.Config{
		ServerName: host,
		RootCAs:    f.cfg.RootCAs,
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
	})
	hctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout/2)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		var cv *tls.CertificateVerificationError
		if errors.As(err, &cv) {
			return nil, fmt.Errorf("%w: %w: %w", ErrConnect, ErrCertificate, err)
		}
		return nil, fmt.Errorf("%w: TLS handshake with %s: %w", ErrConnect, host, err)
	}
	return tc, nil
}

func (f *Fetcher) allowedAddr(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	for _, p := range f.cfg.AllowPrivate {
		if p.Contains(ip) {
			return true
		}
	}
	return publicAddr(ip)
}

// Address ranges that are never public even though netip's predicates do not flag them.
var (
	blockedV4 = mustPrefixes(
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // carrier-grade NAT
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // TEST-NET-1
		"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // TEST-NET-2
		"203.0.113.0/24",  // TEST-NET-3
		"240.0.0.0/4",     // reserved, and 255.255.255.255
	)
	blockedV6 = mustPrefixes(
		"2001::/23",     // IETF protocol assignments, including Teredo 2001::/32
		"2001:db8::/32", // documentation
		"3fff::/20",     // documentation
	)
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	global6   = netip.MustParsePrefix("2000::/3")
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// PublicAddr reports whether ip is a public unicast address: what outbound calls other than
// page fetches (batch callbacks) check too.
func PublicAddr(ip netip.Addr) bool { return publicAddr(ip) }

// publicAddr reports whether ip is a public unicast address. IPv4-mapped addresses are judged
// as IPv4; NAT64 and 6to4 addresses by the IPv4 address they embed. Other IPv6 must be global
// unicast (2000::/3), which excludes ULA, link-local, site-local, multicast and the v4-compatible
// ::/96 in one rule.
func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsLoopback() || ip.IsPrivate() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() {
		return false
	}
	if ip.Is4() {
		for _, p := range blockedV4 {
			if p.Contains(ip) {
				return false
			}
		}
		return true
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return publicAddr(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		return publicAddr(netip.AddrFrom4([4]byte(b[2:6])))
	case !global6.Contains(ip):
		return false
	}
	for _, p := range blockedV6 {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
