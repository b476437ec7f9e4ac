package program

import (
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
)

// DigestSlot is the latest digest due at or before now: the most recent
// Monday (every week) or 1st of the month (every month) at 09:00 in loc.
// Key names it ("week:2026-11-30", "month:2026-12") and is what makes it go
// out once: the store records each key once. Only the latest slot is ever
// due, so after downtime the digest catches up once, not once per missed
// period.
func DigestSlot(every string, loc *time.Location, now time.Time) (key string, due time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	y, m, d := local.Date()
	switch every {
	case model.DigestMonthly:
		due = time.Date(y, m, 1, model.DigestHour, 0, 0, 0, loc)
		if due.After(now) {
			due = time.Date(y, m-1, 1, model.DigestHour, 0, 0, 0, loc)
		}
		return "month:" + due.Format("2006-01"), due.UTC()
	default:
		back := (int(local.Weekday()) + 6) % 7 // days since Monday
		due = time.Date(y, m, d-back, model.DigestHour, 0, 0, 0, loc)
		if due.After(now) {
			due = time.Date(y, m, d-back-7, model.DigestHour, 0, 0, 0, loc)
		}
		return "week:" + due.Format("2006-01-02"), due.UTC()
	}
}

// DigestLocation is the digest's time zone: the business-hours zone, else
// UTC.
func DigestLocation(m *model.Model) *time.Location {
	if m.BusinessHours != nil && m.BusinessHours.Location != nil {
		return m.BusinessHours.Location
	}
	return time.UTC
}
