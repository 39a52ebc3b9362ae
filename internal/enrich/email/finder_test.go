package email

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/apperr"
)

// smtpFor returns a Verifier whose every mail host is the given local server.
func smtpFor(t *testing.T, srv *smtpServer) *Verifier {
	t.Helper()
	return &Verifier{Dial: dialTo(t, map[string]string{
		"mx1.acme.test": srv.Addr, "mx2.acme.test": srv.Addr, "aonly.test": srv.Addr,
	}), HeloName: "verify.lantern.test"}
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.002 }

func TestFind(t *testing.T) {
	resolver := NewResolver(startDNS(t))
	flastKnown := []Known{
		{Email: "bsmith@acme.test", FirstName: "Bob", LastName: "Smith"},
		{Email: "ajones@acme.test", FirstName: "Ann", LastName: "Jones"},
		{Email: "cweber@acme.test", FirstName: "Carl", LastName: "Weber"},
		{Email: "jane.doe@other.test", FirstName: "Jane", LastName: "Doe"}, // other domain: ignored
	}
	tests := []struct {
		name       string
		in         FindInput
		server     *smtpServer // nil: no SMTP
		email      string
		status     Status
		confidence float64
		checks     []string
		reason     string // a substring of some reason
	}{
		{
			name:  "prior only, no SMTP",
			in:    FindInput{FirstName: "Jane", LastName: "Doe", Domain: "acme.test"},
			email: "jane.doe@acme.test", status: StatusUnknown, confidence: 0.355,
			checks: []string{StepSyntax, StepPatternPrior, StepMX},
		},
		{
			name:  "full name with title and accents",
			in:    FindInput{FullName: "Dr. José Núñez", Domain: "https://www.acme.test/"},
			email: "jose.nunez@acme.test", status: StatusUnknown, confidence: 0.355,
		},
		{
			name:  "learned pattern outranks priors",
			in:    FindInput{FirstName: "Jane", LastName: "Doe", Domain: "acme.test", Known: flastKnown},
			email: "jdoe@acme.test", status: StatusUnknown, confidence: 0.8025,
			checks: []string{StepSyntax, StepPatternLearned, StepMX},
			reason: "pattern flast explains 3 of 3 known addresses",
		},
		{
			name:   "SMTP valid",
			in:     FindInput{FirstName: "Jane", LastName: "Doe", Domain: "acme.test"},
			server: &smtpServer{Rcpt: only("jane.doe@acme.test")},
			email:  "jane.doe@acme.test", status: StatusValid, confidence: ConfidenceValid,
			checks: []string{StepSyntax, StepPatternPrior, StepMX, StepSMTP, StepCatchAll},
			reason: "not catch-all",
		},
		{
			name:   "SMTP picks the accepted lower-prior candidate",
			in:     FindInput{FirstName: "Jane", LastName: "Doe", Domain: "acme.test"},
			server: &smtpServer{Rcpt: only("jdoe@acme.test")},
			email:  "jdoe@acme.test", status: StatusValid, confidence: ConfidenceValid,
		},
		{
			name:   "catch-all domain",
			in:     FindInput{FirstName: "Jane", LastName: "Doe", Domain: "acme.test"},
			server: &smtpServer{},
			email:  "jane.doe@acme.test", status: StatusAcceptAll, confidence: 0.5 + 0.1*0.355,
			reason: "catch-all",
		},
		{
			name:   "catch-all keeps learned confidence",
			in:     FindInput{FirstName: "Jane", LastName: "Doe", Domain: "acme.test", Known: flastKnown},
			server: &smtpServer{},
			email:  "jdoe@acme.test", status: StatusAcceptAll, confidence: 0.8025,
		},
		{
			name:   "greylisted: SMTP inconclusive",
			in:     FindInput{FirstName: "Jane", LastName: "Doe", Domain: "acme.test"},
			server: &smtpServer{Rcpt: func(string) string { return "451 4.7.1 greylisted" }},
			email:  "jane.doe@acme.test", status: StatusUnknown, confidence: 0.355,
			reason: "greylisting",
		},
		{
			name:   "top candidates rejected: next one offered at half confidence",
			in:     FindInput{FirstName: "Jane", LastName: "Doe", Domain: "acme.test"},
			server: &smtpServer{Rcpt: only("nobody@acme.test")},
			email:  "janedoe@acme.test", status: StatusUnknown, confidence: 0.07 * FactorTopRejected,
			reason: "rejected the 3 most likely",
		},
		{
			name:   "every candidate rejected",
			in:     FindInput{FirstName: "Cher", Domain: "acme.test"},
			server: &smtpServer{Rcpt: only("nobody@acme.test")},
			email:  "", status: StatusInvalid, confidence: 0,
		},
		{
			name:  "implicit MX",
			in:    FindInput{FirstName: "Jane", LastName: "Doe", Domain: "aonly.test"},
			email: "jane.doe@aonly.test", status: StatusUnknown, confidence: 0.355 * FactorImplicitMX,
		},
		{
			name:   "implicit MX verified over SMTP at the domain itself",
			in:     FindInput{FirstName: "Jane", LastName: "Doe", Domain: "aonly.test"},
			server: &smtpServer{Rcpt: only("jane.doe@aonly.test")},
			email:  "jane.doe@aonly.test", status: StatusValid, confidence: ConfidenceValid,
		},
		{
			name:  "DNS temporary failure",
			in:    FindInput{FirstName: "Jane", LastName: "Doe", Domain: "servfail.test"},
			email: "jane.doe@servfail.test", status: StatusUnknown, confidence: 0.355 * FactorDNSTempFail,
			reason: "temporary",
		},
		{
			name:  "NXDOMAIN",
			in:    FindInput{FirstName: "Jane", LastName: "Doe", Domain: "nx.test"},
			email: "", status: StatusInvalid, confidence: 0, reason: "no such domain",
		},
		{
			name:  "null MX",
			in:    FindInput{FirstName: "Jane", LastName: "Doe", Domain: "nullmx.test"},
			email: "", status: StatusInvalid, confidence: 0, reason: "null MX",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Resolver = resolver
			var srv *smtpServer
			if tt.server != nil {
				srv = startSMTP(t, tt.server)
				in.SMTP = smtpFor(t, srv)
			}
			res, err := Find(testCtx(t), in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Email != tt.email || res.Status != tt.status || !near(res.Confidence, tt.confidence) {
				t.Errorf("got %s %s %.3f; want %s %s %.3f\n%+v", res.Email, res.Status, res.Confidence, tt.email, tt.status, tt.confidence, res)
			}
			if tt.checks != nil && !slices.Equal(res.Checks, tt.checks) {
				t.Errorf("checks = %v; want %v", res.Checks, tt.checks)
			}
			if tt.reason != "" && !slices.ContainsFunc(res.Reasons, func(r string) bool { return strings.Contains(r, tt.reason) }) {
				t.Errorf("no reason mentions %q: %q", tt.reason, res.Reasons)
			}
			for i := 1; i < len(res.Alternatives); i++ {
				if res.Alternatives[i].Confidence > res.Alternatives[i-1].Confidence {
					t.Errorf("alternatives not ordered by confidence: %+v", res.Alternatives)
					break
				}
			}
			for _, a := range res.Alternatives {
				if a.Email == res.Email && res.Email != "" {
					t.Errorf("best address repeated in alternatives")
				}
				if a.Confidence > res.Confidence && res.Status != StatusInvalid {
					t.Errorf("alternative %s (%.3f) beats the result (%.3f)", a.Email, a.Confidence, res.Confidence)
				}
			}
			if res.Email != "" && res.Pattern == "" {
				t.Error("pattern missing")
			}
			if srv != nil {
				if log := srv.Log(); len(log) == 0 || log[len(log)-1] != "QUIT" {
					t.Errorf("SMTP session did not QUIT: %q", log)
				}
			}
		})
	}
}

func TestFindMXAndAlternatives(t *testing.T) {
	res, err := Find(testCtx(t), FindInput{FirstName: "Jane", LastName: "Doe", Domain: "acme.test", Resolver: NewResolver(startDNS(t))})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.MX, []string{"mx1.acme.test", "mx2.acme.test"}) || res.Domain != "acme.test" {
		t.Errorf("MX = %v, domain %q", res.MX, res.Domain)
	}
	if len(res.Alternatives) != len(patterns)-1 || res.Alternatives[0].Email != "jdoe@acme.test" || !near(res.Alternatives[0].Confidence, 0.21) {
		t.Errorf("alternatives = %+v", res.Alternatives)
	}
}

func TestFindInputErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    FindInput
		field string
		msg   string
	}{
		{"webmail", FindInput{FirstName: "Jane", LastName: "Doe", Domain: "gmail.com"}, "domain", "company domain is needed"},
		{"webmail by country", FindInput{FirstName: "Jane", LastName: "Doe", Domain: "yahoo.co.uk"}, "domain", "webmail"},
		{"disposable", FindInput{FirstName: "Jane", LastName: "Doe", Domain: "mailinator.com"}, "domain", "disposable"},
		{"bad domain", FindInput{FirstName: "Jane", LastName: "Doe", Domain: "not a domain"}, "domain", "invalid domain"},
		{"no domain", FindInput{FirstName: "Jane", LastName: "Doe"}, "domain", "empty"},
		{"no name", FindInput{Domain: "acme.test"}, "name", "name"},
		{"unusable name", FindInput{FullName: "王 李", Domain: "acme.test"}, "name", "Latin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Find(testCtx(t), tt.in)
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Invalid || e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("err = %#v; want invalid_input on %s mentioning %q", err, tt.field, tt.msg)
			}
		})
	}
}

func TestFindCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Find(ctx, FindInput{FirstName: "Jane", LastName: "Doe", Domain: "acme.test", Resolver: NewResolver(startDNS(t))})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v; want context.Canceled", err)
	}
}

func TestVerify(t *testing.T) {
	resolver := NewResolver(startDNS(t))
	tests := []struct {
		name       string
		address    string
		server     *smtpServer
		status     Status
		confidence float64
		flags      Flags
		reason     string
	}{
		{name: "syntax", address: "Jane Doe <jane@acme.test>", status: StatusInvalid, reason: "display names"},
		{name: "disposable", address: "x@mailinator.com", status: StatusInvalid, flags: Flags{Disposable: true}, reason: "disposable"},
		{name: "MX only", address: "jane@acme.test", status: StatusUnknown, confidence: ConfidenceMXOnly},
		{name: "implicit MX", address: "jane@aonly.test", status: StatusUnknown, confidence: ConfidenceMXOnly * FactorImplicitMX},
		{name: "DNS temporary failure", address: "jane@servfail.test", status: StatusUnknown, confidence: ConfidenceMXOnly * FactorDNSTempFail},
		{name: "NXDOMAIN", address: "jane@nx.test", status: StatusInvalid, reason: "no such domain"},
		{name: "no records", address: "jane@empty.test", status: StatusInvalid},
		{name: "null MX", address: "jane@nullmx.test", status: StatusInvalid, reason: "RFC 7505"},
		{name: "webmail flagged", address: "jane@gmail.com", status: StatusInvalid, flags: Flags{Webmail: true}}, // not in the test zone
		{
			name: "SMTP valid", address: "Jane.Doe@ACME.test", server: &smtpServer{Rcpt: only("jane.doe@acme.test")},
			status: StatusValid, confidence: ConfidenceValid,
		},
		{
			name: "SMTP rejected", address: "john@acme.test", server: &smtpServer{Rcpt: only("jane.doe@acme.test")},
			status: StatusInvalid, confidence: 0, reason: "User unknown",
		},
		{
			name: "role on catch-all", address: "info@acme.test", server: &smtpServer{},
			status: StatusAcceptAll, confidence: 0.55, flags: Flags{Role: true},
		},
		{
			name: "SMTP inconclusive", address: "jane@acme.test", server: &smtpServer{Rcpt: func(string) string { return "450 4.2.1 try later" }},
			status: StatusUnknown, confidence: ConfidenceMXOnly,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v *Verifier
			if tt.server != nil {
				v = smtpFor(t, startSMTP(t, tt.server))
			}
			res, err := Verify(testCtx(t), tt.address, resolver, v)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status || !near(res.Confidence, tt.confidence) || res.Flags != tt.flags {
				t.Errorf("got %s %.3f %+v; want %s %.3f %+v\n%+v", res.Status, res.Confidence, res.Flags, tt.status, tt.confidence, tt.flags, res)
			}
			if tt.reason != "" && !slices.ContainsFunc(res.Reasons, func(r string) bool { return strings.Contains(r, tt.reason) }) {
				t.Errorf("no reason mentions %q: %q", tt.reason, res.Reasons)
			}
			if len(res.Reasons) == 0 {
				t.Error("no reasons")
			}
			if (tt.server != nil) != (res.SMTP != nil) {
				t.Errorf("SMTP result presence: %+v", res.SMTP)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := Verify(ctx, "jane@acme.test", resolver, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
}
