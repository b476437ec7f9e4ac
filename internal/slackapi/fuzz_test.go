package slackapi_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/slackapi"
)

// FuzzParseTS checks that any timestamp ParseTS accepts survives a round
// trip through FormatTS, and that nothing makes it panic.
func FuzzParseTS(f *testing.F) {
	for _, seed := range []string{"1795428000.123456", "1795428000", "0.000001", "1.5", "", ".", "1.", "x.y", "1.1234567", "999999999999.999999"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ts string) {
		got, err := slackapi.ParseTS(ts)
		if err != nil {
			return
		}
		again, err := slackapi.ParseTS(slackapi.FormatTS(got))
		require.NoError(t, err)
		require.True(t, got.Equal(again), "%q: %v != %v", ts, got, again)
	})
}
