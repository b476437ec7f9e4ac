package outcomes

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pqlbot/pqlbot/internal/model"
)

// Row is one good line of a CRM export.
type Row struct {
	// Line is the line the row starts on (the header is line 1).
	Line int
	// Account is the account id or domain as written (trimmed).
	Account string
	Kind    model.OutcomeKind
	At      time.Time
	// Amount is the deal amount; HasAmount is false when the column is
	// absent or empty.
	Amount    float64
	HasAmount bool
}

// LineError is one bad line: its number (the header is line 1), the column
// at fault (empty when the line as a whole is wrong) and what is wrong.
type LineError struct {
	Line   int
	Column string
	Msg    string
}

func (e LineError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Msg)
}

// Column names of the export, in order; amount is optional.
var columns = []string{"account", "outcome", "at", "amount"}

// Limits on one value: an account reference longer than this is not an id
// or a domain, and amounts beyond this are typing mistakes.
const (
	maxAccountLen = 255
	maxAmount     = 1e12
	// futureSlack allows an export from a clock a little ahead (or a date
	// in a time zone east of UTC).
	futureSlack = 36 * time.Hour
)

// ErrNoHeader is returned for an empty file.
var ErrNoHeader = errors.New("the file is empty: expected the header account,outcome,at[,amount] on line 1")

// ParseCSV reads a CRM export: the header `account,outcome,at[,amount]` on
// line 1, then one outcome per line. It returns the good rows and every bad
// line (both in file order); a wrong header is a LineError on line 1 and
// nothing else is read. now bounds the dates: an outcome more than a day and
// a half in the future is a mistake. err is only for a reader that fails.
func ParseCSV(r io.Reader, now time.Time) (rows []Row, bad []LineError, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, nil, ErrNoHeader
	case err != nil:
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, []LineError{{Line: 1, Msg: "the header is not valid CSV: " + pe.Err.Error()}}, nil
		}
		return nil, nil, fmt.Errorf("read header: %w", err)
	}
	width, herr := checkHeader(header)
	if herr != "" {
		return nil, []LineError{{Line: 1, Msg: herr}}, nil
	}

	for {
		before := cr.InputOffset()
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad = append(bad, LineError{Line: pe.StartLine, Msg: "not valid CSV: " + pe.Err.Error()})
			if cr.InputOffset() == before {
				// No progress: the rest cannot be read.
				break
			}
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read: %w", err)
		}
		line, _ := cr.FieldPos(0)
		row, lerr := parseRow(rec, width, line, now)
		if lerr != nil {
			bad = append(bad, *lerr)
			continue
		}
		rows = append(rows, row)
	}
	return rows, bad, nil
}

// checkHeader returns how many columns the file has (3 or 4), or what is
// wrong with its header.
func checkHeader(h []string) (int, string) {
	got := make([]string, len(h))
	for i, c := range h {
		c = strings.TrimSpace(c)
		if i == 0 {
			c = strings.TrimPrefix(c, "\uFEFF") // spreadsheet exports start with a BOM
		}
		got[i] = strings.ToLower(c)
	}
	if (len(got) == 3 || len(got) == 4) && slicesEqual(got, columns[:len(got)]) {
		return len(got), ""
	}
	return 0, fmt.Sprintf("the header must be account,outcome,at or account,outcome,at,amount; got %q", strings.Join(h, ","))
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func parseRow(rec []string, width, line int, now time.Time) (Row, *LineError) {
	fail := func(col, format string, args ...any) (Row, *LineError) {
		return Row{}, &LineError{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
	}
	if len(rec) != width {
		return fail("", "expected %d columns (%s), got %d", width, strings.Join(columns[:width], ","), len(rec))
	}
	for i, v := range rec {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return fail(columns[i], "not valid UTF-8 text")
		}
	}
	row := Row{Line: line, Account: strings.TrimSpace(rec[0])}
	switch {
	case row.Account == "":
		return fail("account", "empty: give the account id or its domain")
	case len(row.Account) > maxAccountLen:
		return fail("account", "longer than %d characters", maxAccountLen)
	}
	kind, ok := model.ParseOutcomeKind(strings.ToLower(strings.TrimSpace(rec[1])))
	if !ok {
		return fail("outcome", "must be won, opportunity or lost, got %q", clip(rec[1]))
	}
	row.Kind = kind
	at, ok := parseTime(strings.TrimSpace(rec[2]))
	if !ok {
		return fail("at", "must be a date YYYY-MM-DD or an RFC 3339 time like 2026-11-30T14:05:00Z, got %q", clip(rec[2]))
	}
	if at.After(now.Add(futureSlack)) {
		return fail("at", "%s is in the future", at.Format(time.RFC3339))
	}
	row.At = at
	if width == 4 {
		if s := strings.TrimSpace(rec[3]); s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return fail("amount", "must be a plain number like 1200 or 1200.50, got %q", clip(rec[3]))
			}
			if v < 0 || v > maxAmount {
				return fail("amount", "must be between 0 and %.0f, got %s", maxAmount, s)
			}
			row.Amount, row.HasAmount = v, true
		}
	}
	return row, nil
}

// parseTime reads YYYY-MM-DD (the start of that UTC day) or RFC 3339.
func parseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t, err = time.Parse(time.RFC3339, s)
	}
	if err != nil || t.Year() < 1970 {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// clip keeps a quoted bad value short enough for one line of output.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
