package enrich

import (
	"strings"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/enrich/email"
	"github.com/lanternhq/lantern/internal/enrich/web"
)

// ValidateRecord checks what a caller sent before any provider runs, so that a malformed
// phone, email, domain or website is a 4xx naming the field (body.<field>) rather than a
// provider failure. region is the default for phones without a country code.
func ValidateRecord(rec Record, region string) error {
	if v := rec["phone"]; v != "" {
		if err := CheckPhone(v, regionOf(Input{Record: rec}, region)); err != nil {
			return apperr.Field("body.phone", "%s", err.Error())
		}
	}
	if v := rec["email"]; v != "" {
		if _, err := email.Parse(v); err != nil {
			return apperr.Field("body.email", "%s", message(err))
		}
	}
	if v := rec["domain"]; v != "" {
		d, err := email.NormalizeDomain(v)
		if err != nil {
			return apperr.Field("body.domain", "%s", message(err))
		}
		if email.IsWebmail(d) {
			return apperr.Field("body.domain", "%s is a personal webmail provider, not a company domain", d)
		}
	}
	if v := rec["website"]; v != "" {
		if _, err := web.NormalizeSite(v); err != nil {
			return apperr.Field("body.website", "is not a website URL or host: %s", strings.TrimPrefix(err.Error(), "web: "))
		}
	}
	return nil
}

func message(err error) string {
	if ae, ok := apperr.As(err); ok {
		return ae.Message
	}
	return err.Error()
}
