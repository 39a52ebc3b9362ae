package email

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
)

// Verifier asks mail servers whether mailboxes exist, with a real SMTP conversation that stops
// before DATA: EHLO (or HELO), MAIL FROM, RCPT TO for each address and for a random mailbox at
// the same domain (catch-all detection), then QUIT. No mail is sent.
//
// SMTP verification is off unless the caller passes a Verifier: it needs outbound port 25,
// which many networks block, and a HeloName and sending IP that receiving servers trust, or
// they answer with policy blocks (reported as unknown, never as rejected).
//
// The zero value is usable; fields left zero take the defaults noted.
type Verifier struct {
	// Dial opens the TCP connection to a mail host. Default: a dialer that refuses loopback,
	// private, link-local and other non-public addresses, because MX records are outside input
	// and could point at internal services.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Port is the SMTP port. Default 25.
	Port int
	// HeloName is the name sent in EHLO/HELO; production should set the FQDN whose A record
	// and PTR match the sending IP. Default "localhost".
	HeloName string
	// MailFrom is the envelope sender. "" sends the null sender <>, which RFC 5321 reserves
	// for notifications and does not expose any of our mailboxes to backscatter.
	MailFrom string
	// Timeout bounds one session with one mail host (connect to QUIT). Default 30s. The
	// caller's ctx deadline applies on top.
	Timeout time.Duration
}

const (
	defaultSMTPPort    = 25
	defaultSMTPTimeout = 30 * time.Second
	defaultHeloName    = "localhost"
)

// SMTPStatus is a mail server's answer about one mailbox.
type SMTPStatus string

const (
	SMTPAccepted SMTPStatus = "accepted" // RCPT answered 250 or 251
	SMTPRejected SMTPStatus = "rejected" // RCPT answered 550, 551 or 553 for the mailbox
	SMTPUnknown  SMTPStatus = "unknown"  // 4xx, a policy block, another code, or no answer
)

// SMTPResult is what the mail servers said about one address.
type SMTPResult struct {
	Address string     `json:"address"`
	Status  SMTPStatus `json:"status"`
	Code    int        `json:"code,omitempty"`    // RCPT reply code; 0 when RCPT was not reached
	Message string     `json:"message,omitempty"` // server's reply text
	Host    string     `json:"host,omitempty"`    // mail host that answered
	// CatchAllChecked is true when a random mailbox at the domain was tried and answered
	// definitively; CatchAll is true when it was accepted too, which makes acceptance of the
	// address meaningless.
	CatchAllChecked bool   `json:"catch_all_checked"`
	CatchAll        bool   `json:"catch_all"`
	Reason          string `json:"reason"`
}

// Verify checks one address against the domain's mail hosts, in the order given (preference
// order from CheckMX). It moves to the next host only when a host cannot be reached or does not
// greet; any SMTP answer is final, since a domain's hosts share one mailbox list.
//
// Server answers are results, not errors: the error is non-nil only for invalid input or when
// ctx ends (then it is ctx.Err()). If no host can be reached the status is unknown.
func (v *Verifier) Verify(ctx context.Context, mxHosts []string, address string) (SMTPResult, error) {
	rs, err := v.VerifyAll(ctx, mxHosts, []string{address})
	if err != nil {
		return SMTPResult{}, err
	}
	return rs[0], nil
}

// VerifyAll checks several addresses at one domain in a single SMTP session (one connection,
// one catch-all probe), which is kinder to the receiving server than a session per address.
// Results are in the order of addresses. See Verify for hosts and errors.
func (v *Verifier) VerifyAll(ctx context.Context, mxHosts []string, addresses []string) ([]SMTPResult, error) {
	if len(addresses) == 0 {
		return nil, apperr.New(apperr.Invalid, "no address to verify")
	}
	addrs := make([]Address, len(addresses))
	for i, s := range addresses {
		a, err := Parse(s)
		if err != nil {
			return nil, err
		}
		if i > 0 && a.Domain != addrs[0].Domain {
			return nil, apperr.New(apperr.Invalid, "addresses verified together must share one domain")
		}
		addrs[i] = a
	}
	if v.MailFrom != "" {
		if _, err := Parse(v.MailFrom); err != nil {
			return nil, apperr.Wrap(apperr.Invalid, err, "invalid SMTP sender address")
		}
	}
	if len(mxHosts) == 0 {
		return nil, apperr.New(apperr.Invalid, "no mail hosts to verify against")
	}
	var failures []string
	for _, h := range mxHosts {
		h = strings.TrimSuffix(h, ".")
		rs, err := v.session(ctx, h, addrs)
		if err := ctxDone(ctx); err != nil {
			return nil, err
		}
		if err == nil {
			return rs, nil
		}
		failures = append(failures, err.Error())
	}
	rs := unknownResults(addrs, "", "could not talk to any mail host: "+strings.Join(failures, "; "))
	return rs, nil
}

func unknownResults(addrs []Address, host, reason string) []SMTPResult {
	rs := make([]SMTPResult, len(addrs))
	for i, a := range addrs {
		rs[i] = SMTPResult{Address: a.String(), Status: SMTPUnknown, Host: host, Reason: reason}
	}
	return rs
}

// session runs one SMTP conversation. A non-nil error means the host could not be reached or
// broke off before answering any RCPT: the caller tries the next host.
func (v *Verifier) session(ctx context.Context, host string, addrs []Address) ([]SMTPResult, error) {
	timeout := v.Timeout
	if timeout <= 0 {
		timeout = defaultSMTPTimeout
	}
	port := v.Port
	if port == 0 {
		port = defaultSMTPPort
	}
	dial := v.Dial
	if dial == nil {
		dial = publicDialer.DialContext
	}
	helo := v.HeloName
	if helo == "" {
		helo = defaultHeloName
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	conn, err := dial(sctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("%s: connect: %s", host, netReason(err))
	}
	// Deadlines make every read and write give up; AfterFunc brings the deadline forward when
	// ctx is cancelled, since net/smtp has no context support of its own.
	if dl, ok := sctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(sctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, host) // reads the 220 greeting; closes conn on failure
	if err != nil {
		return nil, fmt.Errorf("%s: greeting: %s", host, netReason(err))
	}
	defer c.Close()
	if err := c.Hello(helo); err != nil { // EHLO, then HELO if EHLO is refused
		if te, ok := errors.AsType[*textproto.Error](err); ok {
			_ = c.Quit()
			return unknownResults(addrs, host, fmt.Sprintf("HELO refused: %d %s", te.Code, te.Msg)), nil
		}
		return nil, fmt.Errorf("%s: EHLO: %s", host, netReason(err))
	}
	if err := c.Mail(v.MailFrom); err != nil {
		if te, ok := errors.AsType[*textproto.Error](err); ok {
			// A refused sender is policy (IP reputation, null sender, missing TLS), not an
			// answer about the mailbox; the domain's other hosts share the policy.
			_ = c.Quit()
			return unknownResults(addrs, host, fmt.Sprintf("MAIL FROM refused: %d %s", te.Code, te.Msg)), nil
		}
		return nil, fmt.Errorf("%s: MAIL FROM: %s", host, netReason(err))
	}

	rs := unknownResults(addrs, host, "not checked")
	accepted := false
	for i, a := range addrs {
		code, msg, err := rcpt(c, a.String())
		if err != nil {
			if i == 0 {
				return nil, fmt.Errorf("%s: RCPT: %s", host, netReason(err))
			}
			for j := i; j < len(rs); j++ {
				rs[j].Reason = "connection lost: " + netReason(err)
			}
			return rs, nil
		}
		rs[i].Status, rs[i].Reason = classify(code, msg)
		rs[i].Code, rs[i].Message = code, msg
		accepted = accepted || rs[i].Status == SMTPAccepted
		if code == 421 { // server is closing the session
			return rs, nil
		}
	}
	if accepted {
		code, msg, err := rcpt(c, randomLocal()+"@"+addrs[0].Domain)
		if err == nil {
			st, _ := classify(code, msg)
			for i := range rs {
				rs[i].CatchAllChecked = st != SMTPUnknown
				rs[i].CatchAll = st == SMTPAccepted
			}
		}
	}
	_ = c.Quit()
	return rs, nil
}

// rcpt sends RCPT TO and returns the reply whatever its code (net/smtp's Rcpt only tells
// 25x from the rest, and 250, 251 and 252 mean different things here).
func rcpt(c *smtp.Client, addr string) (int, string, error) {
	id, err := c.Text.Cmd("RCPT TO:<%s>", addr)
	if err != nil {
		return 0, "", err
	}
	c.Text.StartResponse(id)
	defer c.Text.EndResponse(id)
	return c.Text.ReadResponse(0)
}

func classify(code int, msg string) (SMTPStatus, string) {
	switch code {
	case 250, 251:
		return SMTPAccepted, "the mail server accepted the mailbox"
	case 550, 551, 553:
		if isPolicyBlock(msg) {
			return SMTPUnknown, fmt.Sprintf("the mail server refused for policy reasons, not about the mailbox: %d %s", code, msg)
		}
		return SMTPRejected, fmt.Sprintf("the mail server rejected the mailbox: %d %s", code, msg)
	}
	if code >= 400 && code < 500 {
		return SMTPUnknown, fmt.Sprintf("temporary answer (greylisting or rate limit): %d %s", code, msg)
	}
	return SMTPUnknown, fmt.Sprintf("inconclusive answer: %d %s", code, msg)
}

// isPolicyBlock spots 55x replies about us rather than the mailbox: enhanced status 5.7.x
// (RFC 3463 security/policy) or a block-list mention.
func isPolicyBlock(msg string) bool {
	m := strings.ToLower(msg)
	if strings.HasPrefix(m, "5.7.") {
		return true
	}
	for _, w := range []string{"spamhaus", "blocklist", "blacklist", "block list", "blocked using", "poor reputation"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randomLocal is a mailbox name nobody has, for the catch-all probe.
func randomLocal() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return lowerBase32.EncodeToString(b)
}

func netReason(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	return err.Error()
}

// publicDialer refuses non-public targets after name resolution, so an MX record cannot steer
// verification at internal hosts (SSRF).
var publicDialer = &net.Dialer{
	Timeout: defaultSMTPTimeout,
	Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if !isPublic(ap.Addr()) {
			return fmt.Errorf("refusing to connect to non-public address %s", ap.Addr())
		}
		return nil
	},
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func isPublic(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate() && !cgnat.Contains(a)
}
