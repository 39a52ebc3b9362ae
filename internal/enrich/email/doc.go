// Package email finds and verifies work email addresses without any outside account: it builds
// candidate addresses from a person's name and the company domain, ranks them by how common each
// address pattern is (or by the pattern learned from known addresses at the domain), checks the
// domain's mail exchangers in DNS and, when the caller enables it, asks the mail server over SMTP
// whether the mailbox exists.
//
// It is a pure capability package: no HTTP, no workflow, no database. Every network dependency is
// injected (a [Resolver] for DNS, a [Verifier] with its own Dial for SMTP) so that production
// points them at configured servers and tests at local ones.
//
// Entry points:
//   - [Find]: name + domain → best address, its status and confidence, and ranked alternatives.
//   - [Verify]: one address → status, confidence, flags.
//   - Building blocks: [Parse], [NormalizeDomain], [NewName], [Candidates], [Learn],
//     [LearnPattern], [CheckMX], [NewResolver], [Verifier.Verify], [IsWebmail], [IsDisposable],
//     [IsRole].
//
// # Status
//
// A result's [Status] is one of:
//   - valid: the mail server accepted the mailbox and rejected a random one at the same domain.
//   - accept_all: the server accepts any mailbox at the domain (catch-all), so acceptance proves
//     nothing about this one.
//   - unknown: nothing definitive: no SMTP check was made, or it was inconclusive (4xx,
//     greylisting, policy block, unreachable), or DNS failed temporarily.
//   - invalid: definitely undeliverable: bad syntax, no such domain, no MX and no address
//     records, null MX (RFC 7505), the server rejected the mailbox (550/551/553), or (in
//     [Verify]) a disposable-address provider.
//
// # Confidence scale
//
// Confidence is one number from 0 to 1 shared with the other enrichment providers: the estimated
// probability that mail to the address reaches the person. The values this package produces:
//
//	evidence                                                   status      confidence
//	SMTP 250/251, random mailbox rejected (not catch-all)      valid       0.98
//	SMTP 250/251, catch-all probe inconclusive                 valid       0.95
//	SMTP accepted, but so was a random mailbox (catch-all)     accept_all  0.50 + 0.10·p (0.50–0.59),
//	                                                                       or the no-SMTP figure if
//	                                                                       higher (learned pattern)
//	pattern learned from known addresses, MX ok, no SMTP       unknown     min(0.90, p): ≈0.75–0.90
//	                                                                       with ≥3 agreeing examples
//	survey prior only, MX ok, no SMTP                          unknown     p: first.last ≈ 0.36
//	Verify: syntax and MX ok, no SMTP                          unknown     0.50
//	MX is implicit (A/AAAA only, no MX record)                 —           × 0.8
//	DNS lookup failed temporarily                              unknown     × 0.5
//	top candidates all rejected by SMTP, next one offered      unknown     × 0.5
//	syntax error, NXDOMAIN, no MX/A, null MX, SMTP 550/551/553 invalid     0.0
//
// A catch-all acceptance says nothing new about the mailbox, so it never lowers what pattern
// evidence already established; [Verify] has no pattern evidence and uses p = 0.5 (0.55).
//
// p is the probability that the domain uses the candidate's pattern: the smoothed learned share
// (see [Learn]) when known addresses were given, otherwise the survey prior (see [Patterns]),
// halved for secondary spellings of a name (see [NewName]). Implicit MX is discounted because
// many domains with only an A record run no mail server; a temporary DNS failure halves the
// figure because the domain may not accept mail at all.
package email
