package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RFC 9309 asks crawlers to parse at least 500 KiB; anything after that is ignored.
const robotsMaxBytes = 500 << 10

// robotsErrorTTL is how long a 5xx/429 answer (complete disallow) is remembered: long enough not
// to hammer a failing server, short enough that a recovered site is crawled again soon.
const robotsErrorTTL = time.Minute

// robotsMaxEntries bounds the per-host cache; expired entries are swept when it is exceeded.
const robotsMaxEntries = 4096

// robotsRule is one Allow or Disallow line, its pattern already normalised (see normEscapes).
type robotsRule struct {
	pattern string
	allow   bool
}

// robotsGroup is the merged rules that apply to our user agent on one host. No rules allows all.
type robotsGroup struct {
	rules []robotsRule
}

// parseRobots reads a robots.txt body per RFC 9309 and keeps the rules of the groups that name
// token (the product token of our User-Agent, compared case-insensitively), or, when no group does,
// of the "*" groups. Several groups naming the same agent are merged, as the RFC says.
func parseRobots(data []byte, token string) *robotsGroup {
	if len(data) > robotsMaxBytes {
		data = data[:robotsMaxBytes]
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	token = strings.ToLower(token)

	var (
		specific, star         []robotsRule
		haveSpecific, haveStar bool
		curSpecific, curStar   bool // the current group names us / "*"
		inRules                bool // a rule was seen since the last user-agent line
	)
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		key, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		k := strings.ToLower(strings.TrimSpace(string(key)))
		v := strings.TrimSpace(string(val))
		switch k {
		case "user-agent", "useragent", "user agent":
			if inRules { // a user-agent line after rules starts a new group
				curSpecific, curStar, inRules = false, false, false
			}
			name := v
			if i := strings.IndexAny(name, "/ \t"); i >= 0 {
				name = name[:i] // "LanternBot/1.0" names the product token LanternBot
			}
			switch {
			case name == "*":
				curStar, haveStar = true, true
			case name != "" && strings.ToLower(name) == token:
				curSpecific, haveSpecific = true, true
			}
		case "allow", "disallow", "dissallow", "disalow":
			inRules = true
			if v == "" || (!curSpecific && !curStar) {
				continue // an empty rule matches nothing
			}
			r := robotsRule{pattern: normEscapes(v), allow: k == "allow"}
			if curSpecific {
				specific = append(specific, r)
			}
			if curStar {
				star = append(star, r)
			}
		}
		// Other records (sitemap, crawl-delay, ...) neither match nor end a group.
	}
	switch {
	case haveSpecific:
		return &robotsGroup{rules: specific}
	case haveStar:
		return &robotsGroup{rules: star}
	}
	return &robotsGroup{}
}

// allowed reports whether path (escaped path plus "?query") may be fetched: the longest matching
// pattern wins, and Allow wins a tie; no match allows.
func (g *robotsGroup) allowed(path string) bool {
	if g == nil || len(g.rules) == 0 {
		return true
	}
	path = normEscapes(path)
	best, allow := -1, true
	for _, r := range g.rules {
		if !robotsMatch(r.pattern, path) {
			continue
		}
		if l := len(r.pattern); l > best || (l == best && r.allow) {
			best, allow = l, r.allow
		}
	}
	return allow
}

// robotsMatch matches a robots.txt pattern against a path: '*' is any run of characters, a final
// '$' anchors the end, otherwise the pattern is a prefix. The single-backtrack glob algorithm is
// linear in practice and O(len(p)*len(s)) at worst, so hostile patterns cannot blow up.
func robotsMatch(p, s string) bool {
	anchored := strings.HasSuffix(p, "$")
	if anchored {
		p = p[:len(p)-1]
	}
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi == len(p) && !anchored:
			return true
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// normEscapes brings patterns and paths to one form so they compare octet by octet: escapes of
// unreserved characters are decoded, other escapes get upper-case hex, and raw non-ASCII, control
// and space octets are percent-encoded (RFC 9309 section 2.2.2).
func normEscapes(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '%' || c <= ' ' || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if isUnreserved(v) {
				b.WriteByte(v)
			} else {
				b.WriteByte('%')
				b.WriteByte(hex[v>>4])
				b.WriteByte(hex[v&15])
			}
			i += 2
		case c <= ' ' || c >= 0x7f:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// robotsEntry is one host's cached robots.txt outcome. ready is closed once group/err are set, so
// concurrent fetches of the same host wait for one robots.txt request instead of each sending one.
type robotsEntry struct {
	ready   chan struct{}
	group   *robotsGroup
	err     error // a cached complete disallow (5xx, 429)
	expires time.Time
}

// checkRobots returns nil when robots.txt lets us fetch u, an error wrapping ErrDisallowedByRobots
// when it does not, or the connection error that kept us from asking.
func (f *Fetcher) checkRobots(ctx context.Context, u *url.URL) error {
	if u.EscapedPath() == "/robots.txt" {
		return nil // implicitly allowed (RFC 9309 section 2.2.2)
	}
	g, err := f.robotsFor(ctx, u)
	if err != nil {
		return err
	}
	if !g.allowed(requestPath(u)) {
		return fmt.Errorf("%w: %s", ErrDisallowedByRobots, u.Redacted())
	}
	return nil
}

// requestPath is what robots.txt rules are matched against: the escaped path and query.
func requestPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

// originKey names the robots.txt scope: scheme, host and port (default ports dropped).
func originKey(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" || (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		return u.Scheme + "://" + host
	}
	return u.Scheme + "://" + host + ":" + port
}

func (f *Fetcher) robotsFor(ctx context.Context, u *url.URL) (*robotsGroup, error) {
	key := originKey(u)
	for {
		f.robotsMu.Lock()
		e := f.robots[key]
		if e == nil {
			break // still locked: we fetch
		}
		f.robotsMu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.now().Before(e.expires) {
			return e.group, e.err
		}
		// Expired, or the fetcher failed in a way not worth caching (it removed the entry):
		// drop it if still there and try again ourselves.
		f.robotsMu.Lock()
		if f.robots[key] == e {
			delete(f.robots, key)
		}
		f.robotsMu.Unlock()
	}
	e := &robotsEntry{ready: make(chan struct{})}
	if len(f.robots) >= robotsMaxEntries {
		f.sweepRobotsLocked()
	}
	f.robots[key] = e
	f.robotsMu.Unlock()

	g, ttl, err := f.fetchRobots(ctx, u)
	e.group, e.err, e.expires = g, err, f.now().Add(ttl)
	close(e.ready)
	if ttl <= 0 {
		f.robotsMu.Lock()
		if f.robots[key] == e {
			delete(f.robots, key)
		}
		f.robotsMu.Unlock()
	}
	return g, err
}

func (f *Fetcher) sweepRobotsLocked() {
	now := f.now()
	for k, e := range f.robots {
		select {
		case <-e.ready:
			if !now.Before(e.expires) {
				delete(f.robots, k)
			}
		default:
		}
	}
}

// fetchRobots asks the origin of u for /robots.txt and returns the rules for us and how long to
// keep them (0: do not cache). Per RFC 9309: 2xx is parsed; 4xx means no rules (allow all); 5xx,
// 429 and failures after the server was reached (time-outs, resets, redirects into blocked space)
// mean complete disallow. If the origin itself cannot be reached (connection refused, TLS failure,
// blocked address), that error is returned as is, because the page fetch would fail the same way.
func (f *Fetcher) fetchRobots(ctx context.Context, u *url.URL) (*robotsGroup, time.Duration, error) {
	start := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/robots.txt"}
	cur := start
	for hop := 0; ; hop++ {
		resp, err := f.do(ctx, cur)
		if err != nil {
			err = unwrapURLError(err)
			if hop == 0 && ctx.Err() == nil && (errors.Is(err, ErrConnect) || errors.Is(err, ErrBlockedAddress)) {
				return nil, 0, err
			}
			return nil, 0, fmt.Errorf("%w: %s unreachable: %w", ErrDisallowedByRobots, start, withCtxErr(ctx, err))
		}
		status := resp.StatusCode
		if loc := redirectLocation(resp); loc != "" {
			discard(resp.Body)
			next, err := cur.Parse(loc)
			if err != nil || hop >= 5 || (next.Scheme != "http" && next.Scheme != "https") || next.Host == "" {
				// RFC 9309 2.3.1.2: a broken or too long redirect chain counts as unavailable.
				return &robotsGroup{}, f.cfg.RobotsTTL, nil
			}
			cur = next
			continue
		}
		switch {
		case status >= 200 && status < 300:
			body, _, err := readBody(resp.Body, robotsMaxBytes, resp.ContentLength)
			resp.Body.Close()
			if err != nil {
				return nil, 0, fmt.Errorf("%w: reading %s: %w", ErrDisallowedByRobots, start, withCtxErr(ctx, err))
			}
			return parseRobots(body, f.token), f.cfg.RobotsTTL, nil
		case status == http.StatusTooManyRequests || status >= 500:
			discard(resp.Body)
			return nil, robotsErrorTTL, fmt.Errorf("%w: %s answered %d", ErrDisallowedByRobots, start, status)
		default: // 4xx and anything odd: no usable rules
			discard(resp.Body)
			return &robotsGroup{}, f.cfg.RobotsTTL, nil
		}
	}
}
