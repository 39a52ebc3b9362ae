// Package vendors holds clients for paid enrichment vendors: Hunter (email finder and
// verifier, API v2) and People Data Labs (person and company enrichment, API v5). They are
// clients only; the enrichment engine decides when a paid call is worth its credit.
//
// # Errors
//
// A missing setting is a *ConfigError (ErrNotConfigured) whose Service and Field name it.
// Input that cannot match is ErrBadInput before anything is sent (nor billed). Vendor answers
// other than a match are *APIError with a Kind:
//
//   - KindNotFound: no match (PDL 404, Hunter 404 or an empty email, Hunter 451). A normal
//     answer, not an outage; neither vendor bills it.
//   - KindRateLimited: slow down (PDL 429; Hunter 403, which Hunter documents as its
//     per-second/per-minute limit). RetryAfter is set when the vendor said.
//   - KindQuotaExceeded: credits are gone (PDL 402; Hunter 429, "usage limit reached").
//   - KindUnauthorized: bad key (401; PDL 403).
//   - KindPending: Hunter's verifier is still working (202) or the mail server did not
//     answer in time (222); ask again later.
//   - KindUpstream: 5xx, timeouts, unreadable bodies.
//
// 429/5xx/timeouts are retried at most twice, honouring Retry-After (PDL also sends
// x-ratelimit-reset) up to RetryPolicy.MaxWait. The API key never appears in an error.
//
// # Confidence
//
// Each result has Confidence() on the engine's one 0-1 scale, so providers can be compared:
//
// Hunter: score/100, capped by the verification status, because a high pattern score means
// little when the mailbox is known not to exist:
//
//	status          cap    why
//	valid           0.95   the mail server accepted the mailbox (Hunter's check, not ours)
//	(none)          0.80   Email Finder result without a verification
//	webmail         0.70   deliverable, but a personal provider (gmail.com...)
//	accept_all      0.60   catch-all domain: any address is accepted
//	unknown         0.50   the server could not be checked
//	disposable      0.20   throwaway domain
//	invalid         0      the mailbox does not exist
//
// People Data Labs: likelihood/10 (likelihood is 1-10, PDL's confidence that the profile is
// the person or company asked about; 10 → 1.0, 6 → 0.6). PDL documents the scale as
// logarithmic, so the distance between 9 and 10 is larger than this linear map suggests;
// callers that need a floor should pass MinLikelihood rather than threshold Confidence.
//
// # Wire formats followed
//
//   - https://hunter.io/api-documentation/v2 (Email Finder, Email Verifier, Errors)
//   - https://docs.peopledatalabs.com/docs/reference-person-enrichment-api,
//     /docs/input-parameters-person-enrichment-api, /docs/output-response-person-enrichment-api,
//     /docs/output-response-company-enrichment-api, /docs/example-company-record,
//     /docs/errors and /docs/usage-limits
package vendors
