package api

import (
	"regexp"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
)

// isoLayouts are the ISO 8601 forms accepted for dates and times; without a zone, UTC.
var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
}

var dateOnly = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// parseInstant reads an ISO 8601 date or date-time. A bare date is the start of that UTC day,
// or with endOfDay the start of the next, so that to=2025-09-18 includes all of that day.
func parseInstant(field, v string, endOfDay bool) (time.Time, error) {
	t, ok := time.Time{}, false
	if dateOnly.MatchString(v) {
		if d, err := time.Parse("2006-01-02", v); err == nil {
			t, ok = d, true
			if endOfDay {
				t = t.AddDate(0, 0, 1)
			}
		}
	} else {
		for _, layout := range isoLayouts {
			if d, err := time.Parse(layout, v); err == nil {
				t, ok = d.UTC(), true
				break
			}
		}
	}
	if !ok {
		return time.Time{}, apperr.Field(field, "%q is not an ISO 8601 date or date-time (e.g. 2025-09-18T16:12:00Z)", v)
	}
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, apperr.Field(field, "%q is out of range (years 1970 to 9999)", v)
	}
	return t, nil
}

// dateRange reads a required [from, to) range given as from/to or from_date/to_date.
func dateRange(from, fromDate, to, toDate string) (time.Time, time.Time, error) {
	pick := func(name, alias, a, b string) (string, string, error) {
		switch {
		case a != "" && b != "" && a != b:
			return "", "", apperr.Field("query."+name, "given twice with different values (%s and %s); send one", name, alias)
		case a != "":
			return a, "query." + name, nil
		case b != "":
			return b, "query." + alias, nil
		}
		return "", "", apperr.Field("query."+name, "is required (ISO 8601, e.g. 2025-09-18T00:00:00Z; %s is accepted too)", alias)
	}
	fv, ff, err := pick("from", "from_date", from, fromDate)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	tv, tf, err := pick("to", "to_date", to, toDate)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	f, err := parseInstant(ff, fv, false)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	t, err := parseInstant(tf, tv, true)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if t.Before(f) {
		return time.Time{}, time.Time{}, apperr.Field(tf, "must not be before %s (%s < %s)", ff[len("query."):], t.Format(time.RFC3339), f.Format(time.RFC3339))
	}
	if !t.After(f) {
		return time.Time{}, time.Time{}, apperr.Field(tf, "must be after %s", ff[len("query."):])
	}
	return f, t, nil
}
