package api

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/testenv"
)

// dnsServer is a real DNS server on 127.0.0.1 with MX records for acme.test; other names are
// NXDOMAIN. It returns host:port for LANTERN_DNS_SERVER.
func dnsServer(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch {
		case q.Name == "acme.test." && q.Qtype == dns.TypeMX:
			m.Answer = append(m.Answer, &dns.MX{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeMX, Class: dns.ClassINET, Ttl: 60}, Preference: 10, Mx: "mx.acme.test."})
		case q.Name == "acme.test." && q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 1)})
		case strings.HasSuffix(q.Name, "acme.test."):
			// exists, no records of this type
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m) //nolint:errcheck
	})
	srv := &dns.Server{PacketConn: pc, Handler: mux}
	go srv.ActivateAndServe() //nolint:errcheck
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestEnrichEmailLearnsTheDomainPattern(t *testing.T) {
	db := testenv.DB(t)
	dnsAddr := dnsServer(t)
	ts := start(t, db, func(c *config.Config) { generous(c); c.Enrich.DNSServer = dnsAddr })
	tn := testenv.NewTenant(t, db, 100)
	find := func() map[string]any {
		t.Helper()
		r := ts.call(t, http.MethodPost, "/v1/enrich/email", tn.Secret, `{"first_name":"Jane","last_name":"Doe","domain":"acme.test"}`)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		return r.json(t)
	}
	m := find()
	e := m["data"].(map[string]any)["email"].(map[string]any)
	if e["email"] != "jane.doe@acme.test" || e["status"] != "unknown" || e["pattern"] != "first.last" || len(e["alternatives"].([]any)) < 5 {
		t.Fatalf("first find: %v", e)
	}
	before := m["confidence"].(float64)

	// Three addresses the org verifies, with their owners' names, show the domain uses flast.
	for _, p := range [][3]string{{"John", "Smith", "jsmith"}, {"Mary", "Jones", "mjones"}, {"Ravi", "Patel", "rpatel"}} {
		r := ts.call(t, http.MethodPost, "/v1/enrich/email", tn.Secret,
			fmt.Sprintf(`{"first_name":%q,"last_name":%q,"email":"%s@acme.test"}`, p[0], p[1], p[2]))
		v := r.json(t)["data"].(map[string]any)["email"].(map[string]any)
		if r.StatusCode != http.StatusOK || v["status"] != "unknown" || len(v["mx"].([]any)) != 1 {
			t.Fatalf("verify %s: %d %s", p[2], r.StatusCode, r.body)
		}
	}
	m = find()
	e = m["data"].(map[string]any)["email"].(map[string]any)
	if e["email"] != "jdoe@acme.test" || e["pattern"] != "flast" || m["confidence"].(float64) <= before || m["confidence"].(float64) < 0.75 {
		t.Fatalf("after learning: confidence %v (was %v): %v", m["confidence"], before, e)
	}
	// Another org learned nothing.
	other := testenv.NewTenant(t, db, 100)
	r := ts.call(t, http.MethodPost, "/v1/enrich/email", other.Secret, `{"first_name":"Jane","last_name":"Doe","domain":"acme.test"}`)
	if e := r.json(t)["data"].(map[string]any)["email"].(map[string]any); e["pattern"] != "first.last" {
		t.Fatalf("other org: %v", e)
	}

	// A domain that does not exist: invalid, confidence 0.
	r = ts.call(t, http.MethodPost, "/v1/enrich/email", tn.Secret, `{"first_name":"Jane","last_name":"Doe","domain":"nomail.test"}`)
	if m := r.json(t); m["confidence"] != float64(0) || m["data"].(map[string]any)["email"].(map[string]any)["status"] != "invalid" {
		t.Fatalf("no domain: %s", r.body)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"email":"not-an-address"}`, "body.email"},
		{`{"email":"a@@acme.test"}`, "body.email"},
		{`{"first_name":"Jane","last_name":"Doe"}`, "body.domain"},
		{`{"domain":"acme.test"}`, "body.first_name"},
		{`{"first_name":"Jane","last_name":"Doe","domain":"gmail.com"}`, "body.domain"},
	} {
		r := ts.call(t, http.MethodPost, "/v1/enrich/email", tn.Secret, tc.body)
		m := problem(t, r, http.StatusUnprocessableEntity, "invalid_input")
		if !strings.Contains(m["detail"].(string), tc.field) {
			t.Errorf("%s: detail %q does not name %s", tc.body, m["detail"], tc.field)
		}
	}
}
