package outcomes

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
)

var now = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

func TestParseCSVGood(t *testing.T) {
	f, err := os.Open("testdata/good.csv")
	require.NoError(t, err)
	defer f.Close()
	rows, bad, err := ParseCSV(f, now)
	require.NoError(t, err)
	require.Empty(t, bad)
	require.Equal(t, []Row{
		{Line: 2, Account: "acme", Kind: model.OutcomeWon, At: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Amount: 12000, HasAmount: true},
		{Line: 3, Account: "globex.com", Kind: model.OutcomeOpportunity, At: time.Date(2026, 10, 15, 14, 5, 0, 0, time.UTC)},
		{Line: 4, Account: "https://www.Initech.com/about", Kind: model.OutcomeLost, At: time.Date(2026, 10, 20, 7, 0, 0, 0, time.UTC), HasAmount: true},
	}, rows)
}

func TestParseCSVBadLinesNamed(t *testing.T) {
	f, err := os.Open("testdata/bad.csv")
	require.NoError(t, err)
	defer f.Close()
	rows, bad, err := ParseCSV(f, now)
	require.NoError(t, err)
	var got []string
	for _, e := range bad {
		got = append(got, e.Error())
	}
	require.Equal(t, []string{
		`line 3, column account: empty: give the account id or its domain`,
		`line 4, column outcome: must be won, opportunity or lost, got "churned"`,
		`line 5, column at: must be a date YYYY-MM-DD or an RFC 3339 time like 2026-11-30T14:05:00Z, got "02/11/2026"`,
		`line 6, column amount: must be a plain number like 1200 or 1200.50, got "12k"`,
		`line 7: expected 4 columns (account,outcome,at,amount), got 3`,
		`line 8, column amount: must be between 0 and 1000000000000, got -5`,
		`line 9, column at: 2030-01-01T00:00:00Z is in the future`,
	}, got)
	require.Len(t, rows, 2)
	require.Equal(t, 2, rows[0].Line)
	require.Equal(t, 10, rows[1].Line)
}

func TestParseCSVHeader(t *testing.T) {
	for name, in := range map[string]string{
		"wrong names":   "acct,result,date\nacme,won,2026-11-01\n",
		"extra column":  "account,outcome,at,amount,owner\n",
		"columns moved": "outcome,account,at\n",
	} {
		t.Run(name, func(t *testing.T) {
			rows, bad, err := ParseCSV(strings.NewReader(in), now)
			require.NoError(t, err)
			require.Empty(t, rows)
			require.Len(t, bad, 1)
			require.Equal(t, 1, bad[0].Line)
			require.Contains(t, bad[0].Error(), "line 1: the header must be account,outcome,at")
		})
	}
	_, _, err := ParseCSV(strings.NewReader(""), now)
	require.ErrorIs(t, err, ErrNoHeader)

	// A spreadsheet's BOM and capitals, CRLF line ends, a three-column file.
	rows, bad, err := ParseCSV(strings.NewReader("\uFEFFAccount, Outcome ,AT\r\nacme,WON,2026-11-01\r\n"), now)
	require.NoError(t, err)
	require.Empty(t, bad)
	require.Equal(t, []Row{{Line: 2, Account: "acme", Kind: model.OutcomeWon, At: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}}, rows)
}

func TestParseCSVLineNumbersAfterMultilineField(t *testing.T) {
	in := "account,outcome,at\n\"ac\nme\",won,2026-11-01\nacme,nope,2026-11-01\n\nacme,won,bad\n"
	_, bad, err := ParseCSV(strings.NewReader(in), now)
	require.NoError(t, err)
	require.Equal(t, []LineError{
		{Line: 4, Column: "outcome", Msg: `must be won, opportunity or lost, got "nope"`},
		{Line: 6, Column: "at", Msg: `must be a date YYYY-MM-DD or an RFC 3339 time like 2026-11-30T14:05:00Z, got "bad"`},
	}, bad)
}

func TestParseCSVBrokenQuotes(t *testing.T) {
	in := "account,outcome,at\nac\"me,won,2026-11-01\nacme,won,2026-11-01\n"
	rows, bad, err := ParseCSV(strings.NewReader(in), now)
	require.NoError(t, err)
	require.Len(t, bad, 1)
	require.Equal(t, 2, bad[0].Line)
	require.Len(t, rows, 1)
	require.Equal(t, 3, rows[0].Line)
}
