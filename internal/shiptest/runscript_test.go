package shiptest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The URL `make run` suggests trying must be the one pqlbot listens on,
// for every form HTTP_ADDR takes.
func TestRunScriptSuggestsTheListeningURL(t *testing.T) {
	script := filepath.Join(repoRoot(t), "scripts", "run.sh")
	for addr, want := range map[string]string{
		"":                "http://localhost:8080/v1/track",
		":9000":           "http://localhost:9000/v1/track",
		"127.0.0.1:18090": "http://127.0.0.1:18090/v1/track",
		"0.0.0.0:8081":    "http://localhost:8081/v1/track",
		"[::]:8082":       "http://localhost:8082/v1/track",
		"[::1]:8083":      "http://[::1]:8083/v1/track",
	} {
		cmd := exec.Command("bash", script, "--print-url")
		cmd.Env = append(os.Environ(), "HTTP_ADDR="+addr)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Equal(t, want, strings.TrimSpace(string(out)), "HTTP_ADDR=%q", addr)
	}
}
