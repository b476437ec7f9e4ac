// Package sla is the pure clock math behind alert SLAs: deadlines, warning
// instants and elapsed time, either in wall-clock time or counted only inside
// configured business hours in one time zone.
//
// Nothing here reads the clock or does I/O; callers pass the instants in. Local
// days are always built with time.Date in the business-hours location, never by
// adding 24h, so days that are 23 or 25 hours long (DST changes) come out right.
package sla

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pqlbot/pqlbot/internal/words"
)

// BusinessHours describes when an SLA clock runs: on the open Days, between
// From and To (wall-clock offsets since local midnight) in Loc. A nil
// *BusinessHours means the clock always runs (wall-clock SLAs).
type BusinessHours struct {
	// Loc is the time zone the opening hours are expressed in.
	Loc *time.Location
	// Days marks the open weekdays, indexed by time.Weekday (Sunday = 0).
	Days [7]bool
	// From and To are the local opening and closing wall-clock times as
	// offsets since midnight, e.g. 9h and 18h. To may be 24h (open until
	// midnight). They are read as clock readings, so 09:00 stays 09:00 on a
	// DST change day.
	From, To time.Duration
}

// NewBusinessHours builds validated business hours from a location, the open
// weekdays and the local opening and closing times.
func NewBusinessHours(loc *time.Location, days []time.Weekday, from, to time.Duration) (*BusinessHours, error) {
	bh := &BusinessHours{Loc: loc, From: from, To: to}
	for _, d := range days {
		if d < time.Sunday || d > time.Saturday {
			return nil, fmt.Errorf("business hours: invalid weekday %d", d)
		}
		bh.Days[d] = true
	}
	if err := bh.Validate(); err != nil {
		return nil, err
	}
	return bh, nil
}

// Validate reports whether the business hours describe some open time every
// week. Deadline and friends treat invalid hours as "always open" rather than
// loop forever, so configuration loading should call Validate and refuse
// invalid values.
func (bh *BusinessHours) Validate() error {
	if bh.Loc == nil {
		return errors.New("business hours: time zone is required")
	}
	if bh.From < 0 || bh.From >= 24*time.Hour {
		return fmt.Errorf("business hours: from %s is outside the day", clockString(bh.From))
	}
	if bh.To <= 0 || bh.To > 24*time.Hour {
		return fmt.Errorf("business hours: to %s is outside the day", clockString(bh.To))
	}
	if bh.From >= bh.To {
		return fmt.Errorf("business hours: from %s must be before to %s", clockString(bh.From), clockString(bh.To))
	}
	open := false
	for _, d := range bh.Days {
		open = open || d
	}
	if !open {
		return errors.New("business hours: at least one day must be open")
	}
	return nil
}

// ParseClock parses a local wall-clock time "HH:MM" (00:00 to 24:00) into an
// offset since midnight.
func ParseClock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("clock %q: want HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("clock %q: want HH:MM between 00:00 and 24:00", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// ParseWeekday parses a weekday name: "mon", "monday", "Mon" and so on.
func ParseWeekday(s string) (time.Weekday, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	for d := time.Sunday; d <= time.Saturday; d++ {
		full := strings.ToLower(d.String())
		if v == full || v == full[:3] {
			return d, nil
		}
	}
	return 0, fmt.Errorf("weekday %q: want mon, tue, wed, thu, fri, sat or sun", s)
}

func clockString(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

func (bh *BusinessHours) usable() bool {
	return bh != nil && bh.Validate() == nil
}

// window returns the open interval of the local calendar day (y, m, d), and
// false when that day is closed. Opening and closing are built with time.Date
// from clock readings so DST days keep their local 09:00 and 18:00. A clock
// reading that does not exist that day (inside a spring-forward gap) is
// normalised by time.Date; both Deadline and Elapsed use the same window, so
// they stay consistent with each other.
func (bh *BusinessHours) window(y int, m time.Month, d int) (open, close time.Time, ok bool) {
	day := time.Date(y, m, d, 12, 0, 0, 0, bh.Loc)
	if !bh.Days[day.Weekday()] {
		return time.Time{}, time.Time{}, false
	}
	open = clockOn(y, m, d, bh.From, bh.Loc)
	close = clockOn(y, m, d, bh.To, bh.Loc)
	if !close.After(open) {
		return time.Time{}, time.Time{}, false
	}
	return open, close, true
}

func clockOn(y int, m time.Month, d int, off time.Duration, loc *time.Location) time.Time {
	h := int(off / time.Hour)
	mi := int(off % time.Hour / time.Minute)
	s := int(off % time.Minute / time.Second)
	ns := int(off % time.Second)
	return time.Date(y, m, d, h, mi, s, ns, loc)
}

// nextDay returns the local calendar date after (y, m, d).
func nextDay(y int, m time.Month, d int) (int, time.Month, int) {
	return time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC).Date()
}

// Deadline returns the instant at which sla of clock time has passed since
// start. With nil (or invalid) business hours that is start+sla; otherwise
// only time inside business hours counts, so an alert posted on Friday
// evening or at the weekend starts counting at the next opening. A zero or
// negative sla yields start. The result is in start's location.
func Deadline(start time.Time, sla time.Duration, bh *BusinessHours) time.Time {
	if sla <= 0 {
		return start
	}
	if !bh.usable() {
		return start.Add(sla)
	}
	remaining := sla
	t := start.In(bh.Loc)
	y, m, d := t.Date()
	for {
		if open, close, ok := bh.window(y, m, d); ok {
			if t.Before(open) {
				t = open
			}
			if t.Before(close) {
				avail := close.Sub(t)
				if remaining <= avail {
					return t.Add(remaining).In(start.Location())
				}
				remaining -= avail
			}
		}
		y, m, d = nextDay(y, m, d)
	}
}

// Elapsed returns the clock time between start and end: end-start with nil
// (or invalid) business hours, otherwise only the part inside business hours.
// It is zero when end is not after start. Elapsed(start, Deadline(start, d,
// bh), bh) == d for every d > 0.
func Elapsed(start, end time.Time, bh *BusinessHours) time.Duration {
	if !end.After(start) {
		return 0
	}
	if !bh.usable() {
		return end.Sub(start)
	}
	var total time.Duration
	y, m, d := start.In(bh.Loc).Date()
	for {
		open, close, ok := bh.window(y, m, d)
		if ok {
			if !open.Before(end) {
				return total
			}
			from, to := open, close
			if start.After(from) {
				from = start
			}
			if end.Before(to) {
				to = end
			}
			if to.After(from) {
				total += to.Sub(from)
			}
		} else if !clockOn(y, m, d, 0, bh.Loc).Before(end) {
			return total
		}
		y, m, d = nextDay(y, m, d)
	}
}

// WarnAt returns the instant at which warnShare of the SLA has elapsed
// (the nudge point, sla_warn_at). warnShare is clamped to [0, 1].
func WarnAt(start time.Time, sla time.Duration, warnShare float64, bh *BusinessHours) time.Time {
	if !(warnShare > 0) { // also catches NaN
		return start
	}
	if warnShare > 1 {
		warnShare = 1
	}
	return Deadline(start, time.Duration(float64(sla)*warnShare), bh)
}

// Remaining returns the clock time left from now until due: positive before
// the deadline, negative (the time over) after it, counted in business hours
// when bh is set.
func Remaining(now, due time.Time, bh *BusinessHours) time.Duration {
	if now.After(due) {
		return -Elapsed(due, now, bh)
	}
	return Elapsed(now, due, bh)
}

// FormatDuration is words.Duration, the one duration format of every
// surface, named here for the clock's callers.
func FormatDuration(d time.Duration) string { return words.Duration(d) }
