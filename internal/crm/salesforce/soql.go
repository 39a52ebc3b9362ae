package salesforce

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
)

// EscapeSOQL escapes s for use inside a quoted SOQL string literal, by Salesforce's "Quoted
// String Escape Sequences": backslash, single and double quote, newline, carriage return, tab,
// backspace and form feed become backslash sequences; every other byte stays as it is.
func EscapeSOQL(s string) string { return escape(s, false) }

// EscapeSOQLLike is EscapeSOQL for the pattern of a LIKE, where % and _ are wildcards: they
// are escaped too, so that s matches only itself.
func EscapeSOQLLike(s string) string { return escape(s, true) }

// Quote is s as a quoted SOQL string literal.
func Quote(s string) string { return "'" + EscapeSOQL(s) + "'" }

func escape(s string, like bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '%', '_':
			if like {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// filterFields are the SOQL conditions of the typed filters, per object: equality with the
// quoted literal, or with like set a LIKE whose pattern is pre + the value escaped for LIKE +
// post. Filters missing for an object are not offered on it.
type filterSpec struct {
	field     string
	like      bool
	pre, post string // wildcards around the value of a LIKE
}

var filterFields = map[string]map[string][]filterSpec{
	"domain": {
		crm.Account:     {{field: "Website", like: true, pre: "%", post: "%"}},
		crm.Contact:     {{field: "Email", like: true, pre: "%@"}},
		crm.Lead:        {{field: "Email", like: true, pre: "%@"}, {field: "Website", like: true, pre: "%", post: "%"}},
		crm.Opportunity: nil,
		crm.User:        {{field: "Email", like: true, pre: "%@"}},
	},
	"email": {crm.Contact: {{field: "Email"}}, crm.Lead: {{field: "Email"}}, crm.User: {{field: "Email"}}},
	"phone": {
		crm.Account: {{field: "Phone"}},
		crm.Contact: {{field: "Phone"}, {field: "MobilePhone"}},
		crm.Lead:    {{field: "Phone"}, {field: "MobilePhone"}},
		crm.User:    {{field: "Phone"}, {field: "MobilePhone"}},
	},
	"owner_id": {
		crm.Account: {{field: "OwnerId"}}, crm.Contact: {{field: "OwnerId"}}, crm.Lead: {{field: "OwnerId"}},
		crm.Opportunity: {{field: "OwnerId"}},
	},
	"account_id": {crm.Contact: {{field: "AccountId"}}, crm.Opportunity: {{field: "AccountId"}}},
	"city": {
		crm.Account: {{field: "BillingCity"}}, crm.Contact: {{field: "MailingCity"}}, crm.Lead: {{field: "City"}},
		crm.User: {{field: "City"}},
	},
	"postal_code": {
		crm.Account: {{field: "BillingPostalCode"}}, crm.Contact: {{field: "MailingPostalCode"}},
		crm.Lead: {{field: "PostalCode"}}, crm.User: {{field: "PostalCode"}},
	},
	"name": {
		crm.Account: {{field: "Name"}}, crm.Contact: {{field: "Name"}}, crm.Lead: {{field: "Name"}},
		crm.Opportunity: {{field: "Name"}}, crm.User: {{field: "Name"}},
	},
}

// buildQuery writes the SOQL of one page of q: standard fields (and the external id field on
// the objects that carry it), typed filters as escaped literals, Id > After, ORDER BY Id and
// one record more than the page, to tell whether another page follows.
func (c *Client) buildQuery(q crm.Query) (string, error) {
	if err := crm.CheckObject(q.Object); err != nil {
		return "", err
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		return "", apperr.Field("query.limit", "must be between 1 and 1000")
	}
	var where []string
	names := make([]string, 0, len(q.Filters))
	for name := range q.Filters {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := strings.TrimSpace(q.Filters[name])
		if name == "external_id" {
			if q.Object == crm.User {
				return "", apperr.Field("query.external_id", "is not a filter on User")
			}
			where = append(where, c.cfg.ExternalIDField+" = "+Quote(v))
			continue
		}
		byObject, ok := filterFields[name]
		if !ok {
			return "", apperr.Field("query."+name, "is not a filter (domain, email, phone, owner_id, account_id, city, postal_code, name, external_id)")
		}
		specs := byObject[q.Object]
		if len(specs) == 0 {
			return "", apperr.Field("query."+name, "is not a filter on %s", q.Object)
		}
		if name == "owner_id" || name == "account_id" {
			if _, ok := crm.To18(v); !ok {
				return "", apperr.Field("query."+name, "%q is not a Salesforce id", v)
			}
		}
		if name == "domain" {
			v = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(v, "https://"), "http://"))
			v = strings.TrimPrefix(strings.TrimRight(v, "/"), "www.")
		}
		var ors []string
		for _, sp := range specs {
			if name == "phone" {
				ors = append(ors, phoneCondition(sp.field, v))
				continue
			}
			if sp.like {
				ors = append(ors, sp.field+" LIKE '"+sp.pre+EscapeSOQLLike(v)+sp.post+"'")
			} else {
				ors = append(ors, sp.field+" = "+Quote(v))
			}
		}
		if len(ors) == 1 {
			where = append(where, ors[0])
		} else {
			where = append(where, "("+strings.Join(ors, " OR ")+")")
		}
	}
	if !q.Since.IsZero() {
		// A datetime literal is unquoted; it is formatted here, never taken from input.
		where = append(where, "SystemModstamp >= "+q.Since.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if q.After != "" {
		id, ok := crm.To18(q.After)
		if !ok {
			return "", apperr.Field("query.cursor", "is not a cursor this API returned")
		}
		where = append(where, "Id > "+Quote(id))
	}
	var b strings.Builder
	b.WriteString("SELECT FIELDS(STANDARD)")
	if q.Object != crm.User {
		b.WriteString(", " + c.cfg.ExternalIDField)
	}
	b.WriteString(" FROM " + q.Object)
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	b.WriteString(" ORDER BY Id ASC LIMIT " + strconv.Itoa(q.Limit+1))
	return b.String(), nil
}

// phoneCondition matches a phone field however the number was typed: Salesforce keeps phones
// as entered ("(415) 555-1212"), so a number with 7 or more digits is matched on its last 10
// digits in order, with anything between them (LIKE '%4%1%5%5%5%5%1%2%1%2'); a shorter value
// must match exactly. The pattern holds only digits and wildcards.
func phoneCondition(field, v string) string {
	var digits []byte
	for i := 0; i < len(v); i++ {
		if v[i] >= '0' && v[i] <= '9' {
			digits = append(digits, v[i])
		}
	}
	if len(digits) < 7 {
		return field + " = " + Quote(v)
	}
	digits = digits[max(0, len(digits)-10):]
	var b strings.Builder
	for _, d := range digits {
		b.WriteByte('%')
		b.WriteByte(d)
	}
	return field + " LIKE '" + b.String() + "'"
}

// timeLayouts are Salesforce's datetime formats ("2011-07-07T00:37:00.000+0000").
var timeLayouts = []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05.000Z07:00", time.RFC3339Nano}

func parseTime(v any) time.Time {
	s, _ := v.(string)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
