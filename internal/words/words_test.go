package words

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		noun string
		want string
	}{
		{0, "account", "0 accounts"},
		{1, "account", "1 account"},
		{2, "account", "2 accounts"},
		{1, "claimed alert", "1 claimed alert"},
		{3, "claimed alert", "3 claimed alerts"},
		{1, "open breach", "1 open breach"},
		{2, "open breach", "2 open breaches"},
		{2, "reply", "2 replies"},
		{2, "day", "2 days"},
		{2, "person", "2 people"},
		{1, "person", "1 person"},
		{2, "box", "2 boxes"},
		{2, "business", "2 businesses"},
		{-1, "point", "-1 point"},
		{-15, "point", "-15 points"},
		{2, "", "2 "},
	} {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, Count(tc.n, tc.noun))
		})
	}
}

func TestShare(t *testing.T) {
	require.Equal(t, "100% (1/1)", Share(1, 1))
	require.Equal(t, "67% (2/3)", Share(2, 3))
	require.Equal(t, "0% (0/4)", Share(0, 4))
	require.Equal(t, "— (0/0)", Share(0, 0))
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 min"},
		{30 * time.Second, "< 1 min"},
		{45 * time.Minute, "45 min"},
		{time.Hour, "1 h"},
		{65 * time.Minute, "1 h 5 min"},
		{47*time.Hour + 59*time.Minute, "47 h 59 min"},
		{48 * time.Hour, "2 d"},
		{51 * time.Hour, "2 d 3 h"},
		{-65 * time.Minute, "-1 h 5 min"},
		{-1 << 63, "-106751 d 23 h"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, Duration(tc.d))
		})
	}
	require.Equal(t, "overdue 1 h 5 min", Overdue(65*time.Minute))
	require.Equal(t, "3 h left", Left(3*time.Hour))
}
