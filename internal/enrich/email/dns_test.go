package email

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

func TestCheckMX(t *testing.T) {
	r := NewResolver(startDNS(t))
	tests := []struct {
		domain string
		status MXStatus
		hosts  []string
	}{
		{"acme.test", MXFound, []string{"mx1.acme.test", "mx2.acme.test"}}, // sorted by preference
		{"ACME.test", MXFound, []string{"mx1.acme.test", "mx2.acme.test"}},
		{"aonly.test", MXImplicit, []string{"aonly.test"}},
		{"nullmx.test", MXNull, nil},
		{"nx.test", MXNoDomain, nil},
		{"empty.test", MXNoDomain, nil},
		{"servfail.test", MXTempFail, nil},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			res, err := CheckMX(testCtx(t), r, tt.domain)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status || !slices.Equal(res.Hosts, tt.hosts) {
				t.Errorf("CheckMX(%s) = %+v; want %s %v", tt.domain, res, tt.status, tt.hosts)
			}
			if res.Reason == "" {
				t.Error("no reason")
			}
			wantAccepts := tt.status == MXFound || tt.status == MXImplicit
			if res.AcceptsMail() != wantAccepts || res.Definitive() != (tt.status != MXTempFail) {
				t.Errorf("AcceptsMail=%v Definitive=%v for %s", res.AcceptsMail(), res.Definitive(), tt.status)
			}
		})
	}

	t.Run("invalid domain", func(t *testing.T) {
		if _, err := CheckMX(testCtx(t), r, "not a domain"); err == nil {
			t.Error("want error")
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := CheckMX(ctx, r, "acme.test"); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v; want context.Canceled", err)
		}
	})
}

func TestNewResolverServerAddress(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":      "127.0.0.1:53",
		"10.0.0.2:5353":  "10.0.0.2:5353",
		"::1":            "[::1]:53",
		"[::1]":          "[::1]:53",
		"[::1]:5353":     "[::1]:5353",
		"resolver.local": "resolver.local:53",
	} {
		if got := withDNSPort(in); got != want {
			t.Errorf("withDNSPort(%q) = %q; want %q", in, got, want)
		}
	}
	if r := NewResolver("127.0.0.1"); !r.PreferGo || r.Dial == nil {
		t.Error("NewResolver must use Go's resolver with a Dial override")
	}
}

// A DNS server that never answers must not outlive the caller's deadline.
func TestCheckMXDeadline(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() { // read and drop every query
		buf := make([]byte, 1500)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = CheckMX(ctx, NewResolver(pc.LocalAddr().String()), "acme.test")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v; want context.DeadlineExceeded", err)
	}
}
