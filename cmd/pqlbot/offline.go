package main

import (
	"context"
	"fmt"
	"io"
)

func cmdModelCheck(path string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "pqlbot: model check is not built yet (%s)\n", path)
	return 1
}

func cmdScore(ctx context.Context, account string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "pqlbot: score is not built yet (%s)\n", account)
	return 1
}
