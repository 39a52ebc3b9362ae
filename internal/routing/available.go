package routing

import (
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // members' time zones resolve even on hosts without a zoneinfo database

	"github.com/lanternhq/lantern/internal/apperr"
)

// WorkingHours are the hours a member takes assignments, in their own time zone.
type WorkingHours struct {
	TimeZone string   `json:"time_zone" doc:"IANA time zone, e.g. America/New_York"`
	Days     []string `json:"days" doc:"Working days: mon, tue, wed, thu, fri, sat, sun"`
	Start    string   `json:"start" doc:"Start of the working day, HH:MM (inclusive)"`
	End      string   `json:"end" doc:"End of the working day, HH:MM (exclusive), after start"`
}

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// minutes parses HH:MM into minutes after midnight.
func minutes(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

func (w *WorkingHours) check(field string) error {
	if w.TimeZone == "" {
		return apperr.Field(field+".time_zone", "is required (an IANA time zone such as Europe/Berlin)")
	}
	if _, err := time.LoadLocation(w.TimeZone); err != nil || strings.EqualFold(w.TimeZone, "local") {
		return apperr.Field(field+".time_zone", "%q is not an IANA time zone", w.TimeZone)
	}
	if len(w.Days) == 0 {
		return apperr.Field(field+".days", "must name at least one day (mon ... sun)")
	}
	for _, d := range w.Days {
		if !slices.Contains(weekdays, d) {
			return apperr.Field(field+".days", "%q is not one of mon, tue, wed, thu, fri, sat, sun", d)
		}
	}
	start, ok := minutes(w.Start)
	if !ok {
		return apperr.Field(field+".start", "%q is not a time of day HH:MM", w.Start)
	}
	end, ok := minutes(w.End)
	if !ok {
		return apperr.Field(field+".end", "%q is not a time of day HH:MM", w.End)
	}
	if end <= start {
		return apperr.Field(field+".end", "must be after start")
	}
	return nil
}

// open reports whether t falls within the working hours.
func (w *WorkingHours) open(t time.Time) bool {
	loc, err := time.LoadLocation(w.TimeZone)
	if err != nil {
		return false // checked on write; a zone that vanished from the system is closed, not a guess
	}
	t = t.In(loc)
	if !slices.Contains(w.Days, weekdays[t.Weekday()]) {
		return false
	}
	start, _ := minutes(w.Start)
	end, _ := minutes(w.End)
	m := t.Hour()*60 + t.Minute()
	return m >= start && m < end
}

// CapUsage is a member's assignments in the cap windows.
type CapUsage struct {
	Day  int64 `json:"day" doc:"Assignments in the last 24 hours"`
	Week int64 `json:"week" doc:"Assignments in the last 7 days"`
}

// availability says why a member cannot take an assignment at now ("" when they can), and
// whether the reason is being away (which earns catch-up credit) rather than a cap.
func availability(m *Member, now time.Time, u CapUsage) (skip string, away bool) {
	switch {
	case m.Status == Paused:
		return "paused", true
	case m.Status == OutOfOffice && m.OutOfOfficeUntil != nil && now.Before(*m.OutOfOfficeUntil):
		return "out of office until " + m.OutOfOfficeUntil.UTC().Format(time.RFC3339), true
	case m.WorkingHours != nil && !m.WorkingHours.open(now):
		w := m.WorkingHours
		return fmt.Sprintf("outside working hours (%s %s-%s %s)", strings.Join(w.Days, ","), w.Start, w.End, w.TimeZone), true
	case m.CapDay != nil && u.Day >= int64(*m.CapDay):
		return fmt.Sprintf("daily cap reached (%d of %d in the last 24 hours)", u.Day, *m.CapDay), false
	case m.CapWeek != nil && u.Week >= int64(*m.CapWeek):
		return fmt.Sprintf("weekly cap reached (%d of %d in the last 7 days)", u.Week, *m.CapWeek), false
	}
	return "", false
}
