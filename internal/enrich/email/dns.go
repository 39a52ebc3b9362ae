package email

import (
	"cmp"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"time"
)

// Resolver is the DNS this package needs. *net.Resolver satisfies it; so does NewResolver's.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

var _ Resolver = (*net.Resolver)(nil)

// NewResolver returns a resolver that sends every query to one DNS server ("host:port", or a
// bare host for port 53), whatever /etc/resolv.conf lists. Production sets the server from
// configuration (a local recursive resolver, so lookups do not leak to whatever the host uses);
// tests point it at a local server. It uses Go's own resolver, which retries over TCP when a
// UDP answer is truncated.
func NewResolver(server string) *net.Resolver {
	server = withDNSPort(server)
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
}

func withDNSPort(server string) string {
	if _, _, err := net.SplitHostPort(server); err != nil {
		return net.JoinHostPort(strings.Trim(server, "[]"), "53")
	}
	return server
}

// MXStatus is what DNS says about a domain's mail.
type MXStatus string

const (
	// MXFound: the domain publishes MX records.
	MXFound MXStatus = "mx"
	// MXImplicit: no MX, but A/AAAA records: the domain itself is the mail host (RFC 5321 §5.1).
	MXImplicit MXStatus = "implicit"
	// MXNull: the domain publishes the null MX "." (RFC 7505): it accepts no mail.
	MXNull MXStatus = "null_mx"
	// MXNoDomain: the domain does not exist (NXDOMAIN) or has no MX, A or AAAA records. Go's
	// resolver reports both as "not found", and both mean no mail can be delivered.
	MXNoDomain MXStatus = "no_domain"
	// MXTempFail: no definitive answer (SERVFAIL, timeout, refused, lame server); retry later.
	MXTempFail MXStatus = "temp_fail"
)

// MXResult is the outcome of CheckMX.
type MXResult struct {
	Domain string   `json:"domain"`
	Status MXStatus `json:"status"`
	// Hosts are the mail hosts in order of preference, without the trailing dot; for
	// MXImplicit, the domain itself.
	Hosts  []string `json:"hosts,omitempty"`
	Reason string   `json:"reason"`
}

// AcceptsMail reports whether DNS says the domain can receive mail.
func (r MXResult) AcceptsMail() bool { return r.Status == MXFound || r.Status == MXImplicit }

// Definitive reports whether the answer will not change on retry.
func (r MXResult) Definitive() bool { return r.Status != MXTempFail }

// CheckMX looks up where a domain's mail goes. DNS failures are outcomes (Status), not errors:
// the error is non-nil only for an invalid domain or when ctx ends. A nil r uses
// net.DefaultResolver.
func CheckMX(ctx context.Context, r Resolver, domain string) (MXResult, error) {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return MXResult{}, err
	}
	if r == nil {
		r = net.DefaultResolver
	}
	res := MXResult{Domain: d}
	// The trailing dot makes the name absolute, so resolv.conf search domains are never tried.
	fqdn := d + "."
	mxs, err := r.LookupMX(ctx, fqdn)
	if err != nil && len(mxs) == 0 {
		if err := ctxDone(ctx); err != nil {
			return MXResult{}, err
		}
		if !isNotFound(err) {
			res.Status, res.Reason = MXTempFail, "MX lookup failed: "+dnsReason(err)
			return res, nil
		}
		// No MX records: fall back to the domain's own addresses.
		addrs, herr := r.LookupHost(ctx, fqdn)
		switch {
		case herr == nil && len(addrs) > 0:
			res.Status, res.Hosts = MXImplicit, []string{d}
			res.Reason = "no MX records; the domain's A/AAAA records act as an implicit MX"
		case ctxDone(ctx) != nil:
			return MXResult{}, ctxDone(ctx)
		case herr == nil || isNotFound(herr):
			res.Status = MXNoDomain
			res.Reason = "no such domain, or it has no MX, A or AAAA records"
		default:
			res.Status, res.Reason = MXTempFail, "address lookup failed: "+dnsReason(herr)
		}
		return res, nil
	}
	// Go drops malformed records and reports an error alongside the valid ones: use those.
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return cmp.Compare(a.Pref, b.Pref) })
	null := 0
	for _, mx := range mxs {
		h := strings.ToLower(strings.TrimSuffix(mx.Host, "."))
		if h == "" {
			null++ // "." : RFC 7505 null MX
			continue
		}
		if !slices.Contains(res.Hosts, h) {
			res.Hosts = append(res.Hosts, h)
		}
	}
	switch {
	case len(res.Hosts) > 0:
		res.Status, res.Reason = MXFound, "MX records found"
	case null > 0:
		res.Status, res.Reason = MXNull, "the domain publishes a null MX (RFC 7505): it accepts no mail"
	default:
		res.Status, res.Reason = MXTempFail, "MX records were malformed"
	}
	return res, nil
}

// ctxDone is ctx.Err(), also when the deadline has passed but the context's timer has not
// fired yet: a lookup that timed out on the deadline returns a moment before ctx is marked done.
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// dnsReason words a DNS error without the resolver's server address.
func dnsReason(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsTimeout:
			return "timed out"
		case de.IsTemporary:
			return "temporary failure (" + de.Err + ")"
		default:
			return de.Err
		}
	}
	return err.Error()
}
