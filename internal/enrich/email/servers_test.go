package email

import (
	"context"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// startDNS runs a real DNS server on 127.0.0.1 (UDP and TCP on the same port, as Go's resolver
// retries truncated answers over TCP) answering for the test zones:
//
//	acme.test      MX 20 mx2.acme.test, MX 10 mx1.acme.test; A
//	aonly.test     A and no MX (implicit MX)
//	nullmx.test    MX 0 . (RFC 7505)
//	servfail.test  SERVFAIL
//	empty.test     exists, no records (NOERROR, no data)
//	catchall.test, reject.test, greylist.test  MX mx.<domain>
//	anything else  NXDOMAIN
func startDNS(t *testing.T) string {
	t.Helper()
	// UDP and TCP on one port number: the UDP port the kernel picks may be taken for TCP
	// (by a parallel test package, say), so pick again.
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	for range 20 {
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(answerDNS)
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

func answerDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	// Go's resolver treats a non-authoritative empty answer without recursion as a lame
	// referral, so answer like the authoritative server we pretend to be.
	m.Authoritative, m.RecursionAvailable = true, true
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: 60}
	}
	mx := func(pref uint16, host string) dns.RR {
		return &dns.MX{Hdr: hdr(dns.TypeMX), Preference: pref, Mx: host}
	}
	a := func(ip string) dns.RR { return &dns.A{Hdr: hdr(dns.TypeA), A: net.ParseIP(ip)} }
	soa := &dns.SOA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
		Ns: "ns." + name, Mbox: "hostmaster." + name, Serial: 1, Refresh: 60, Retry: 60, Expire: 60, Minttl: 60}
	switch name {
	case "acme.test.":
		switch q.Qtype {
		case dns.TypeMX:
			m.Answer = append(m.Answer, mx(20, "mx2.acme.test."), mx(10, "mx1.acme.test."))
		case dns.TypeA:
			m.Answer = append(m.Answer, a("192.0.2.10"))
		}
	case "catchall.test.", "reject.test.", "greylist.test.", "silent.test.":
		if q.Qtype == dns.TypeMX {
			m.Answer = append(m.Answer, mx(10, "mx."+name))
		}
	case "aonly.test.":
		if q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, a("192.0.2.20"))
		}
	case "nullmx.test.":
		if q.Qtype == dns.TypeMX {
			m.Answer = append(m.Answer, mx(0, "."))
		}
	case "servfail.test.":
		m.Rcode = dns.RcodeServerFailure
	case "empty.test.":
		m.Ns = append(m.Ns, soa)
	default:
		m.Rcode = dns.RcodeNameError
	}
	if m.Rcode == dns.RcodeSuccess && len(m.Answer) == 0 {
		m.Ns = append(m.Ns, soa) // NODATA carries the SOA, as real servers do
	}
	_ = w.WriteMsg(m)
}

// smtpServer is a small SMTP server that speaks enough of RFC 5321 for verification: greeting,
// EHLO/HELO, MAIL, RCPT, RSET, NOOP, QUIT.
type smtpServer struct {
	Addr string
	// Silent accepts connections and never says anything (time-out tests).
	Silent bool
	// NoEHLO answers EHLO with 502 so the client falls back to HELO.
	NoEHLO bool
	// Mail is the reply to MAIL FROM; default "250 2.1.0 OK".
	Mail string
	// Rcpt gives the reply line to RCPT TO for an address; default accepts everything.
	Rcpt func(addr string) string

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
	log   []string
}

func startSMTP(t *testing.T, s *smtpServer) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) record(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, line)
}

// Log returns the commands received so far.
func (s *smtpServer) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	if s.Silent {
		_, _ = io.Copy(io.Discard, c)
		return
	}
	tp := textproto.NewConn(c)
	_ = tp.PrintfLine("220 mx.test ESMTP ready")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		s.record(line)
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			if s.NoEHLO {
				_ = tp.PrintfLine("502 5.5.2 Error: command not recognized")
				continue
			}
			_ = tp.PrintfLine("250-mx.test greets %s", arg)
			_ = tp.PrintfLine("250-PIPELINING")
			_ = tp.PrintfLine("250 8BITMIME")
		case "HELO":
			_ = tp.PrintfLine("250 mx.test")
		case "MAIL":
			reply := s.Mail
			if reply == "" {
				reply = "250 2.1.0 OK"
			}
			_ = tp.PrintfLine("%s", reply)
		case "RCPT":
			addr := arg[strings.IndexByte(arg, '<')+1 : strings.LastIndexByte(arg, '>')]
			reply := "250 2.1.5 OK"
			if s.Rcpt != nil {
				reply = s.Rcpt(addr)
			}
			_ = tp.PrintfLine("%s", reply)
		case "RSET", "NOOP":
			_ = tp.PrintfLine("250 2.0.0 OK")
		case "QUIT":
			_ = tp.PrintfLine("221 2.0.0 Bye")
			return
		default:
			_ = tp.PrintfLine("502 5.5.2 Error: command not recognized")
		}
	}
}

// only accepts the listed mailboxes and rejects the rest as unknown users.
func only(mailboxes ...string) func(string) string {
	return func(addr string) string {
		for _, m := range mailboxes {
			if strings.EqualFold(m, addr) {
				return "250 2.1.5 OK"
			}
		}
		return "550 5.1.1 <" + addr + ">: Recipient address rejected: User unknown"
	}
}

// dialTo routes mail-host names to local listeners; unknown hosts get a real "connection
// refused" from a port nobody listens on.
func dialTo(t *testing.T, routes map[string]string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	t.Helper()
	closed := closedAddr(t)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		target, ok := routes[host]
		if !ok {
			target = closed
		}
		var d net.Dialer
		return d.DialContext(ctx, network, target)
	}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
