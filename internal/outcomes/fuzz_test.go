package outcomes

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseCSV checks that no input makes ParseCSV panic or hang, and that
// what it returns is usable: every row is complete and valid text, every
// bad line has a line number and a message, and rows and bad lines never
// share a line.
func FuzzParseCSV(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.csv")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, bad, err := ParseCSV(bytes.NewReader(data), now)
		if err != nil {
			if len(rows) > 0 || len(bad) > 0 {
				t.Fatal("rows or bad lines returned with an error")
			}
			return
		}
		lines := map[int]bool{}
		for _, r := range rows {
			if r.Line < 2 || r.Account == "" || !utf8.ValidString(r.Account) || strings.ContainsRune(r.Account, 0) {
				t.Fatalf("bad row %+v", r)
			}
			if r.Kind == "" || r.At.IsZero() || r.At.After(now.Add(futureSlack)) || r.Amount < 0 {
				t.Fatalf("bad row %+v", r)
			}
			lines[r.Line] = true
		}
		for _, e := range bad {
			if e.Line < 1 || e.Msg == "" || e.Error() == "" {
				t.Fatalf("bad line error %+v", e)
			}
			if lines[e.Line] {
				t.Fatalf("line %d is both a row and an error", e.Line)
			}
		}
	})
}
