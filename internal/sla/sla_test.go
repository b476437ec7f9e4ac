package sla

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // tests must not depend on the host's zoneinfo

	"github.com/stretchr/testify/require"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func weekdays() []time.Weekday {
	return []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
}

func everyDay() []time.Weekday {
	return []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
}

func mustHours(t testing.TB, loc *time.Location, days []time.Weekday, from, to time.Duration) *BusinessHours {
	t.Helper()
	bh, err := NewBusinessHours(loc, days, from, to)
	require.NoError(t, err)
	return bh
}

func TestDeadline(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	office := mustHours(t, ny, weekdays(), 9*time.Hour, 18*time.Hour)
	allDay := mustHours(t, ny, everyDay(), 0, 24*time.Hour)
	daily9to18 := mustHours(t, ny, everyDay(), 9*time.Hour, 18*time.Hour)
	night := mustHours(t, ny, everyDay(), 0, 4*time.Hour)
	gap := mustHours(t, ny, everyDay(), time.Hour, 5*time.Hour)
	at := func(y int, m time.Month, d, h, mi int) time.Time { return time.Date(y, m, d, h, mi, 0, 0, ny) }

	tests := []struct {
		name  string
		start time.Time
		sla   time.Duration
		bh    *BusinessHours
		want  time.Time
	}{
		{"wall clock", at(2026, 11, 20, 17, 0), 24 * time.Hour, nil, at(2026, 11, 21, 17, 0)},
		{"wall clock across DST start is 24 real hours", at(2026, 3, 7, 12, 0), 24 * time.Hour, nil, at(2026, 3, 8, 13, 0)},
		{"inside hours same day", at(2026, 11, 17, 10, 0), 4 * time.Hour, office, at(2026, 11, 17, 14, 0)},
		{"filling the day ends at close, not next opening", at(2026, 11, 17, 9, 0), 9 * time.Hour, office, at(2026, 11, 17, 18, 0)},
		{"friday afternoon carries to monday", at(2026, 11, 20, 17, 0), 4 * time.Hour, office, at(2026, 11, 23, 12, 0)},
		{"friday evening starts monday", at(2026, 11, 20, 19, 30), 4 * time.Hour, office, at(2026, 11, 23, 13, 0)},
		{"saturday starts monday", at(2026, 11, 21, 11, 0), 4 * time.Hour, office, at(2026, 11, 23, 13, 0)},
		{"sunday night starts monday", at(2026, 11, 22, 23, 59), time.Hour, office, at(2026, 11, 23, 10, 0)},
		{"before opening starts at opening", at(2026, 11, 17, 6, 15), time.Hour, office, at(2026, 11, 17, 10, 0)},
		{"exactly at close starts next day", at(2026, 11, 17, 18, 0), time.Hour, office, at(2026, 11, 18, 10, 0)},
		{"24h of business time is 2.67 days", at(2026, 11, 16, 9, 0), 24 * time.Hour, office, at(2026, 11, 18, 15, 0)},
		{"24h from thursday noon skips weekend", at(2026, 11, 19, 12, 0), 24 * time.Hour, office, at(2026, 11, 23, 18, 0)},
		{"multi-week SLA", at(2026, 11, 16, 9, 0), 90 * time.Hour, office, at(2026, 11, 27, 18, 0)},
		{"DST start weekend keeps 09:00 local", at(2026, 3, 6, 17, 0), 4 * time.Hour, office, at(2026, 3, 9, 12, 0)},
		{"DST start on an open sunday", at(2026, 3, 7, 17, 0), 2 * time.Hour, daily9to18, at(2026, 3, 8, 10, 0)},
		{"DST start 23h day counted as real time", at(2026, 3, 8, 0, 0), 24 * time.Hour, allDay, at(2026, 3, 9, 1, 0)},
		{"DST start window spanning the gap is 3 real hours", at(2026, 3, 8, 0, 0), 3 * time.Hour, gap, at(2026, 3, 8, 5, 0)},
		{"DST start window spanning the gap carries over", at(2026, 3, 8, 0, 0), 4 * time.Hour, gap, at(2026, 3, 9, 2, 0)},
		{"DST end weekend keeps 09:00 local", at(2026, 10, 30, 17, 0), 4 * time.Hour, office, at(2026, 11, 2, 12, 0)},
		{"DST end 25h day counted as real time", at(2026, 11, 1, 0, 0), 24 * time.Hour, allDay, at(2026, 11, 1, 23, 0)},
		{"DST end window 00-04 is 5 real hours", at(2026, 11, 1, 0, 0), 5 * time.Hour, night, at(2026, 11, 1, 4, 0)},
		{"DST end window carries over", at(2026, 11, 1, 0, 0), 6 * time.Hour, night, at(2026, 11, 2, 1, 0)},
		{"zero SLA is the start", at(2026, 11, 21, 11, 0), 0, office, at(2026, 11, 21, 11, 0)},
		{"negative SLA is the start", at(2026, 11, 21, 11, 0), -time.Hour, office, at(2026, 11, 21, 11, 0)},
		{"negative SLA wall clock is the start", at(2026, 11, 21, 11, 0), -time.Hour, nil, at(2026, 11, 21, 11, 0)},
		{"invalid hours fall back to wall clock", at(2026, 11, 21, 11, 0), time.Hour, &BusinessHours{Loc: ny}, at(2026, 11, 21, 12, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := tc.start.UTC()
			got := Deadline(start, tc.sla, tc.bh)
			require.True(t, tc.want.Equal(got), "want %s, got %s", tc.want, got.In(ny))
			require.Equal(t, time.UTC, got.Location(), "result keeps the start's location")
			if tc.sla > 0 {
				require.Equal(t, tc.sla, Elapsed(start, got, tc.bh))
			}
		})
	}
}

func TestElapsed(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	office := mustHours(t, ny, weekdays(), 9*time.Hour, 18*time.Hour)
	at := func(y int, m time.Month, d, h, mi int) time.Time { return time.Date(y, m, d, h, mi, 0, 0, ny) }
	tests := []struct {
		name       string
		start, end time.Time
		bh         *BusinessHours
		want       time.Duration
	}{
		{"wall clock", at(2026, 11, 20, 17, 0), at(2026, 11, 23, 10, 0), nil, 65 * time.Hour},
		{"over a weekend", at(2026, 11, 20, 17, 0), at(2026, 11, 23, 10, 0), office, 2 * time.Hour},
		{"wholly outside hours", at(2026, 11, 20, 19, 0), at(2026, 11, 22, 23, 0), office, 0},
		{"end before start", at(2026, 11, 20, 12, 0), at(2026, 11, 20, 11, 0), office, 0},
		{"equal instants", at(2026, 11, 20, 12, 0), at(2026, 11, 20, 12, 0), nil, 0},
		{"end before start wall clock", at(2026, 11, 20, 12, 0), at(2026, 11, 20, 11, 0), nil, 0},
		{"a full week", at(2026, 11, 16, 0, 0), at(2026, 11, 23, 0, 0), office, 45 * time.Hour},
		{"across DST end", at(2026, 10, 30, 17, 0), at(2026, 11, 2, 9, 30), office, 90 * time.Minute},
		{"claimed before opening", at(2026, 11, 17, 7, 0), at(2026, 11, 17, 8, 0), office, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Elapsed(tc.start, tc.end, tc.bh))
		})
	}
}

func TestWarnAtAndRemaining(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	office := mustHours(t, ny, weekdays(), 9*time.Hour, 18*time.Hour)
	start := time.Date(2026, 11, 16, 9, 0, 0, 0, ny)

	t.Run("three quarters of 24 business hours", func(t *testing.T) {
		require.True(t, time.Date(2026, 11, 17, 18, 0, 0, 0, ny).Equal(WarnAt(start, 24*time.Hour, 0.75, office)))
	})
	t.Run("wall clock share", func(t *testing.T) {
		require.True(t, start.Add(3*time.Hour).Equal(WarnAt(start, 4*time.Hour, 0.75, nil)))
	})
	t.Run("share above one is the deadline", func(t *testing.T) {
		require.True(t, Deadline(start, 4*time.Hour, office).Equal(WarnAt(start, 4*time.Hour, 1.5, office)))
	})
	for _, share := range []float64{0, -1, math.NaN()} {
		t.Run("degenerate share is the start", func(t *testing.T) {
			require.True(t, start.Equal(WarnAt(start, 4*time.Hour, share, office)))
		})
	}
	t.Run("remaining before deadline", func(t *testing.T) {
		due := Deadline(start, 24*time.Hour, office) // Wed 15:00
		require.Equal(t, 6*time.Hour, Remaining(time.Date(2026, 11, 18, 9, 0, 0, 0, ny), due, office))
	})
	t.Run("remaining after deadline is negative business time", func(t *testing.T) {
		due := time.Date(2026, 11, 20, 17, 0, 0, 0, ny)
		require.Equal(t, -2*time.Hour, Remaining(time.Date(2026, 11, 23, 10, 0, 0, 0, ny), due, office))
	})
	t.Run("remaining wall clock", func(t *testing.T) {
		require.Equal(t, -time.Hour, Remaining(start.Add(5*time.Hour), start.Add(4*time.Hour), nil))
	})
}

// TestDeadlineElapsedProperty checks that Elapsed inverts Deadline and that
// Deadline is monotonic, over random instants across whole years (DST
// changes included) and several kinds of business hours, including a
// half-hour DST zone and a window that straddles the spring-forward gap.
func TestDeadlineElapsedProperty(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	lordHowe := mustLoc(t, "Australia/Lord_Howe")
	kolkata := mustLoc(t, "Asia/Kolkata")
	configs := map[string]*BusinessHours{
		"wall clock":        nil,
		"ny office":         mustHours(t, ny, weekdays(), 9*time.Hour, 18*time.Hour),
		"ny always":         mustHours(t, ny, everyDay(), 0, 24*time.Hour),
		"ny gap window":     mustHours(t, ny, everyDay(), time.Hour+30*time.Minute, 3*time.Hour),
		"lord howe office":  mustHours(t, lordHowe, weekdays(), 8*time.Hour+30*time.Minute, 17*time.Hour),
		"lord howe at 2:00": mustHours(t, lordHowe, everyDay(), 2*time.Hour, 2*time.Hour+45*time.Minute),
		"kolkata one day":   mustHours(t, kolkata, []time.Weekday{time.Wednesday}, 10*time.Hour, 11*time.Hour),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, bh := range configs {
		t.Run(name, func(t *testing.T) {
			for range 3000 {
				start := base.Add(time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour))))
				d := time.Duration(rng.Int64N(int64(10*24*time.Hour))) + 1
				due := Deadline(start, d, bh)
				require.False(t, due.Before(start), "start %s d %s", start, d)
				require.Equal(t, d, Elapsed(start, due, bh), "start %s d %s due %s", start, d, due)
				d2 := d + time.Duration(rng.Int64N(int64(48*time.Hour)))
				require.False(t, Deadline(start, d2, bh).Before(due), "monotonic: start %s d %s d2 %s", start, d, d2)
				if name == "ny always" || bh == nil {
					require.True(t, start.Add(d).Equal(due), "always-open hours equal wall clock")
				}
			}
		})
	}
}

func TestBusinessHoursValidation(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name     string
		loc      *time.Location
		days     []time.Weekday
		from, to time.Duration
		wantErr  string
	}{
		{"ok", ny, weekdays(), 9 * time.Hour, 18 * time.Hour, ""},
		{"until midnight", ny, weekdays(), 9 * time.Hour, 24 * time.Hour, ""},
		{"no zone", nil, weekdays(), 9 * time.Hour, 18 * time.Hour, "time zone is required"},
		{"no days", ny, nil, 9 * time.Hour, 18 * time.Hour, "at least one day"},
		{"inverted", ny, weekdays(), 18 * time.Hour, 9 * time.Hour, "from 18:00 must be before to 09:00"},
		{"empty", ny, weekdays(), 9 * time.Hour, 9 * time.Hour, "must be before"},
		{"to past midnight", ny, weekdays(), 9 * time.Hour, 25 * time.Hour, "to 25:00 is outside the day"},
		{"negative from", ny, weekdays(), -time.Hour, 9 * time.Hour, "is outside the day"},
		{"bad weekday", ny, []time.Weekday{9}, 9 * time.Hour, 18 * time.Hour, "invalid weekday"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bh, err := NewBusinessHours(tc.loc, tc.days, tc.from, tc.to)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, bh)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestParseClock(t *testing.T) {
	good := map[string]time.Duration{"09:00": 9 * time.Hour, "9:30": 9*time.Hour + 30*time.Minute, "00:00": 0, "24:00": 24 * time.Hour, " 18:05 ": 18*time.Hour + 5*time.Minute}
	for in, want := range good {
		t.Run(in, func(t *testing.T) {
			got, err := ParseClock(in)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
	for _, in := range []string{"", "9", "9:0", "25:00", "24:01", "12:60", "-1:00", "ab:cd", "123:00", "9h"} {
		t.Run("bad "+in, func(t *testing.T) {
			_, err := ParseClock(in)
			require.ErrorContains(t, err, "HH:MM")
		})
	}
}

func TestParseWeekday(t *testing.T) {
	for in, want := range map[string]time.Weekday{"mon": time.Monday, "Tuesday": time.Tuesday, " SUN ": time.Sunday, "sat": time.Saturday} {
		t.Run(in, func(t *testing.T) {
			got, err := ParseWeekday(in)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
	_, err := ParseWeekday("mo")
	require.ErrorContains(t, err, `weekday "mo"`)
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0 min"},
		{30 * time.Second, "< 1 min"},
		{35 * time.Minute, "35 min"},
		{35*time.Minute + 59*time.Second, "35 min"},
		{time.Hour, "1 h"},
		{3*time.Hour + 12*time.Minute, "3 h 12 min"},
		{24 * time.Hour, "24 h"},
		{47*time.Hour + 59*time.Minute, "47 h 59 min"},
		{48 * time.Hour, "2 d"},
		{52*time.Hour + 30*time.Minute, "2 d 4 h"},
		{-2 * time.Hour, "-2 h"},
		{math.MinInt64, "-106751 d 23 h"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, FormatDuration(tc.in))
		})
	}
}

func BenchmarkDeadline(b *testing.B) {
	ny := mustLoc(b, "America/New_York")
	office := mustHours(b, ny, weekdays(), 9*time.Hour, 18*time.Hour)
	start := time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC)
	for b.Loop() {
		Deadline(start, 24*time.Hour, office)
	}
}
