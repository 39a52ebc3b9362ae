package batch

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/enrich/web"
)

// SignatureHeader carries a callback's signature: "t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>" keyed by the batch's callback_secret>". The time stops replays of old bodies.
const SignatureHeader = "X-Lantern-Signature"

// Sign is the signature header value of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// allowed: a public address, or one in the configured allowlist (LANTERN_FETCH_ALLOW).
func allowed(ip netip.Addr, allow []netip.Prefix) bool {
	ip = ip.Unmap().WithZone("")
	for _, p := range allow {
		if p.Contains(ip) {
			return true
		}
	}
	return web.PublicAddr(ip)
}

// CheckCallbackURL accepts only http(s) URLs whose host resolves to allowed addresses.
func CheckCallbackURL(ctx context.Context, raw string, allow []netip.Prefix) error {
	const field = "body.callback_url"
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return apperr.Field(field, "must be an http or https URL")
	}
	if u.User != nil {
		return apperr.Field(field, "must not carry credentials")
	}
	host := u.Hostname()
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		ips, err = net.DefaultResolver.LookupNetIP(lctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return apperr.Field(field, "host %s does not resolve", host)
		}
	}
	for _, ip := range ips {
		if !allowed(ip, allow) {
			return apperr.Field(field, "points at a private or reserved address; callbacks go to public addresses only")
		}
	}
	return nil
}

var errBlocked = errors.New("callback address not allowed")

// CallbackClient posts callbacks. It checks the address it actually dials, so a name that
// resolves elsewhere after the submission was checked (DNS rebinding) is still refused.
func CallbackClient(allow []netip.Prefix, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !allowed(ap.Addr(), allow) {
			return errBlocked
		}
		return nil
	}}
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil, MaxIdleConns: 10},
		// A redirect could point anywhere; the receiver should answer where it was asked.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Notify posts body to target, signed. A 2xx is delivered; anything else is an error.
func Notify(ctx context.Context, c *http.Client, target, secret string, body []byte, now time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Lantern-Callback/1.0")
	req.Header.Set(SignatureHeader, Sign(secret, now, body))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("callback answered HTTP %d", resp.StatusCode)
	}
	return nil
}
