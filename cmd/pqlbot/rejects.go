package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// cmdRejects lists the quarantined ingest messages: what was refused, why,
// and the message as it was sent, so a team can fix its tracking code.
func cmdRejects(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rejects", flag.ContinueOnError)
	fs.SetOutput(stderr)
	since := fs.Duration("since", 24*time.Hour, "how far back to list (e.g. 1h, 72h)")
	limit := fs.Int("limit", 100, "at most this many, newest first")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *since <= 0 || *limit <= 0 {
		fmt.Fprint(stderr, "usage: pqlbot rejects [--since DURATION] [--limit N]\n")
		return 2
	}
	_, st, err := openStore(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	defer st.Close()
	rs, err := st.Rejects(ctx, time.Now().Add(-*since), *limit)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	if len(rs) == 0 {
		fmt.Fprintf(stdout, "no messages quarantined in the last %s\n", *since)
		return 0
	}
	byReason := map[string]int{}
	for _, r := range rs {
		byReason[r.Reason]++
	}
	fmt.Fprintf(stdout, "%d message(s) quarantined in the last %s (newest first):\n", len(rs), *since)
	for _, r := range rs {
		fmt.Fprintf(stdout, "\n%s  source %s  #%d  %s  field %s\n  %s\n  message: %s\n",
			r.ReceivedAt.UTC().Format(time.RFC3339), r.Source, r.Index, r.Reason, r.Field, r.Error, printable(r.Raw, 400))
	}
	return 0
}

// printable shows a raw message on one terminal line: invalid UTF-8 and
// control characters (the usual reasons for a refusal) are escaped.
func printable(raw []byte, max int) string {
	var b strings.Builder
	for i := 0; i < len(raw) && b.Len() < max; {
		r, n := utf8.DecodeRune(raw[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, raw[i])
		case r < 0x20 || r == 0x7f:
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
		default:
			b.WriteRune(r)
		}
		i += n
	}
	if b.Len() >= max {
		b.WriteString(fmt.Sprintf("… (%d bytes)", len(raw)))
	}
	return b.String()
}
