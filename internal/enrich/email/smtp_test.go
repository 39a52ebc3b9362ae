package email

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
)

func TestVerifierAnswers(t *testing.T) {
	tests := []struct {
		name            string
		server          *smtpServer
		address         string
		status          SMTPStatus
		code            int
		catchAll        bool
		catchAllChecked bool
	}{
		{
			name:    "accepted, not catch-all",
			server:  &smtpServer{Rcpt: only("jane.doe@acme.test")},
			address: "jane.doe@acme.test", status: SMTPAccepted, code: 250, catchAllChecked: true,
		},
		{
			name:    "rejected",
			server:  &smtpServer{Rcpt: only("jane.doe@acme.test")},
			address: "john.doe@acme.test", status: SMTPRejected, code: 550,
		},
		{
			name:    "catch-all",
			server:  &smtpServer{},
			address: "anyone@acme.test", status: SMTPAccepted, code: 250, catchAll: true, catchAllChecked: true,
		},
		{
			name: "251 forwarded counts as accepted",
			server: &smtpServer{Rcpt: func(a string) string {
				if a == "jane@acme.test" {
					return "251 2.1.5 User not local; will forward"
				}
				return "550 5.1.1 no such user"
			}},
			address: "jane@acme.test", status: SMTPAccepted, code: 251, catchAllChecked: true,
		},
		{
			name:    "551 and 553 are rejections",
			server:  &smtpServer{Rcpt: func(string) string { return "553 5.1.3 mailbox name not allowed" }},
			address: "jane@acme.test", status: SMTPRejected, code: 553,
		},
		{
			name:    "greylisting is unknown",
			server:  &smtpServer{Rcpt: func(string) string { return "451 4.7.1 Greylisted, try again later" }},
			address: "jane@acme.test", status: SMTPUnknown, code: 451,
		},
		{
			name:    "policy block is unknown, not rejected",
			server:  &smtpServer{Rcpt: func(string) string { return "550 5.7.1 Client host blocked using zen.spamhaus.org" }},
			address: "jane@acme.test", status: SMTPUnknown, code: 550,
		},
		{
			name:    "mailbox full is unknown",
			server:  &smtpServer{Rcpt: func(string) string { return "552 5.2.2 Mailbox full" }},
			address: "jane@acme.test", status: SMTPUnknown, code: 552,
		},
		{
			name: "catch-all probe inconclusive",
			server: &smtpServer{Rcpt: func(a string) string {
				return map[bool]string{true: "250 OK", false: "450 4.2.0 try later"}[a == "jane@acme.test"]
			}},
			address: "jane@acme.test", status: SMTPAccepted, code: 250,
		},
		{
			name:    "HELO fallback when EHLO is refused",
			server:  &smtpServer{NoEHLO: true, Rcpt: only("jane@acme.test")},
			address: "jane@acme.test", status: SMTPAccepted, code: 250, catchAllChecked: true,
		},
		{
			name:    "sender refused is unknown",
			server:  &smtpServer{Mail: "550 5.7.1 Sender rejected"},
			address: "jane@acme.test", status: SMTPUnknown,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTP(t, tt.server)
			v := &Verifier{Dial: dialTo(t, map[string]string{"mx1.acme.test": srv.Addr}), HeloName: "verify.lantern.test"}
			res, err := v.Verify(testCtx(t), []string{"mx1.acme.test"}, tt.address)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status || res.Code != tt.code || res.CatchAll != tt.catchAll || res.CatchAllChecked != tt.catchAllChecked {
				t.Errorf("got %+v; want status %s code %d catchAll %v checked %v", res, tt.status, tt.code, tt.catchAll, tt.catchAllChecked)
			}
			if res.Host != "mx1.acme.test" || res.Reason == "" || res.Address != tt.address {
				t.Errorf("host/reason/address: %+v", res)
			}
			log := srv.Log()
			if log[len(log)-1] != "QUIT" {
				t.Errorf("session did not end with QUIT: %q", log)
			}
			hello := "EHLO verify.lantern.test"
			if tt.server.NoEHLO {
				hello = "HELO verify.lantern.test"
			}
			if !slices.Contains(log, hello) {
				t.Errorf("no %q in %q", hello, log)
			}
			if !slices.ContainsFunc(log, func(l string) bool { return strings.HasPrefix(l, "MAIL FROM:<>") }) {
				t.Errorf("null sender not used: %q", log)
			}
		})
	}
}

func TestVerifierConversation(t *testing.T) {
	srv := startSMTP(t, &smtpServer{Rcpt: only("jane.doe@acme.test")})
	v := &Verifier{Dial: dialTo(t, map[string]string{"mx.acme.test": srv.Addr}), MailFrom: "verify@lantern.test", HeloName: "lantern.test"}
	rs, err := v.VerifyAll(testCtx(t), []string{"mx.acme.test."}, []string{"jane.doe@acme.test", "jdoe@acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Status != SMTPAccepted || rs[1].Status != SMTPRejected || !rs[0].CatchAllChecked || rs[0].CatchAll {
		t.Fatalf("results %+v", rs)
	}
	log := srv.Log()
	// One session: EHLO, MAIL, RCPT ×2, the random catch-all probe, QUIT.
	if len(log) != 6 || log[0] != "EHLO lantern.test" || !strings.HasPrefix(log[1], "MAIL FROM:<verify@lantern.test>") ||
		log[2] != "RCPT TO:<jane.doe@acme.test>" || log[3] != "RCPT TO:<jdoe@acme.test>" ||
		!strings.HasPrefix(log[4], "RCPT TO:<") || !strings.HasSuffix(log[4], "@acme.test>") || log[5] != "QUIT" {
		t.Errorf("conversation = %q", log)
	}
	if probe := strings.TrimSuffix(strings.TrimPrefix(log[4], "RCPT TO:<"), "@acme.test>"); len(probe) < 12 || IsRole(probe) {
		t.Errorf("catch-all probe %q should be a long random local part", probe)
	}
	// 8BITMIME advertised → net/smtp adds BODY=8BITMIME, which real servers expect.
	if !strings.Contains(log[1], "BODY=8BITMIME") {
		t.Errorf("MAIL = %q", log[1])
	}
}

func TestVerifierFallsBackToNextMX(t *testing.T) {
	good := startSMTP(t, &smtpServer{Rcpt: only("jane@acme.test")})
	silent := startSMTP(t, &smtpServer{Silent: true})
	v := &Verifier{
		Dial: dialTo(t, map[string]string{"mx2.acme.test": silent.Addr, "mx3.acme.test": good.Addr}),
		// Short per-host timeout so the silent host is abandoned; the test's own deadline is long.
		Timeout: 300 * time.Millisecond,
	}
	// mx1 refuses connections, mx2 accepts and never greets, mx3 answers.
	res, err := v.Verify(testCtx(t), []string{"mx1.acme.test", "mx2.acme.test", "mx3.acme.test"}, "jane@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != SMTPAccepted || res.Host != "mx3.acme.test" {
		t.Errorf("got %+v; want accepted by mx3", res)
	}
}

func TestVerifierNoHostReachable(t *testing.T) {
	silent := startSMTP(t, &smtpServer{Silent: true})
	v := &Verifier{Dial: dialTo(t, map[string]string{"mx2.acme.test": silent.Addr}), Timeout: 200 * time.Millisecond}
	res, err := v.Verify(testCtx(t), []string{"mx1.acme.test", "mx2.acme.test"}, "jane@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != SMTPUnknown || !strings.Contains(res.Reason, "could not talk to any mail host") ||
		!strings.Contains(res.Reason, "mx2.acme.test: greeting: timed out") || !strings.Contains(res.Reason, "mx1.acme.test: connect") {
		t.Errorf("got %+v", res)
	}
}

func TestVerifierContextDeadline(t *testing.T) {
	silent := startSMTP(t, &smtpServer{Silent: true})
	v := &Verifier{Dial: dialTo(t, map[string]string{"mx.acme.test": silent.Addr})} // default 30s timeout
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := v.Verify(ctx, []string{"mx.acme.test"}, "jane@acme.test")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v; want context.DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second): // liveness guard, not a speed assertion
		t.Fatal("Verify ignored the context deadline")
	}
}

func TestVerifierCancel(t *testing.T) {
	silent := startSMTP(t, &smtpServer{Silent: true})
	v := &Verifier{Dial: dialTo(t, map[string]string{"mx.acme.test": silent.Addr})}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := v.Verify(ctx, []string{"mx.acme.test"}, "jane@acme.test"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v; want context.Canceled", err)
	}
}

func TestVerifierInput(t *testing.T) {
	v := &Verifier{}
	ctx := testCtx(t)
	for name, call := range map[string]func() error{
		"bad address": func() error { _, err := v.Verify(ctx, []string{"mx"}, "not an address"); return err },
		"no hosts":    func() error { _, err := v.Verify(ctx, nil, "jane@acme.test"); return err },
		"no address":  func() error { _, err := v.VerifyAll(ctx, []string{"mx"}, nil); return err },
		"two domains": func() error {
			_, err := v.VerifyAll(ctx, []string{"mx"}, []string{"a@acme.test", "b@other.test"})
			return err
		},
		"bad sender": func() error {
			_, err := (&Verifier{MailFrom: "x\r\nRCPT TO:<a@b.c>"}).Verify(ctx, []string{"mx"}, "jane@acme.test")
			return err
		},
	} {
		if err := call(); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("%s: err = %v; want invalid_input", name, err)
		}
	}
}

// The default dialer must not let an MX record point verification at internal hosts.
func TestVerifierDefaultDialRefusesLoopback(t *testing.T) {
	srv := startSMTP(t, &smtpServer{})
	_, port, _ := net.SplitHostPort(srv.Addr)
	p, _ := strconv.Atoi(port)
	v := &Verifier{Port: p, Timeout: 2 * time.Second}
	res, err := v.Verify(testCtx(t), []string{"127.0.0.1"}, "jane@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != SMTPUnknown || !strings.Contains(res.Reason, "non-public") {
		t.Errorf("got %+v", res)
	}
	if len(srv.Log()) != 0 {
		t.Errorf("server was reached: %q", srv.Log())
	}
}

func TestIsPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2a00:1450::1": true, "127.0.0.1": false, "10.1.2.3": false,
		"192.168.1.1": false, "172.16.0.1": false, "169.254.169.254": false, "100.64.0.1": false,
		"::1": false, "fe80::1": false, "fd00::1": false, "0.0.0.0": false, "224.0.0.1": false,
		"::ffff:127.0.0.1": false,
	} {
		if got := isPublic(netip.MustParseAddr(addr)); got != want {
			t.Errorf("isPublic(%s) = %v; want %v", addr, got, want)
		}
	}
}
