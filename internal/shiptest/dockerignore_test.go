package shiptest

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// ignoreRule is one .dockerignore line.
type ignoreRule struct {
	re     *regexp.Regexp
	negate bool
}

// parseDockerignore compiles .dockerignore lines with Docker's rules:
// patterns are relative to the context root, "*" and "?" stay inside one
// path element, "**" spans any number of them, "!" re-includes, and the
// last matching line wins.
func parseDockerignore(text string) []ignoreRule {
	var out []ignoreRule
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			r.negate, line = true, strings.TrimSpace(rest)
		}
		line = strings.TrimPrefix(path.Clean("/"+line), "/")
		r.re = regexp.MustCompile("^" + globRegexp(line) + "$")
		out = append(out, r)
	}
	return out
}

func globRegexp(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				b.WriteString(`\[`)
				continue
			}
			b.WriteString(p[i : i+j+1])
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String()
}

// excluded reports whether rel (slash-separated) is left out of the build
// context: a rule matching the file or any directory above it applies.
func excluded(rules []ignoreRule, rel string) bool {
	out := false
	for _, r := range rules {
		p := rel
		for {
			if r.re.MatchString(p) {
				out = !r.negate
				break
			}
			i := strings.LastIndexByte(p, '/')
			if i < 0 {
				break
			}
			p = p[:i]
		}
	}
	return out
}

var embedLine = regexp.MustCompile(`(?m)^//go:embed (.+)$`)

// buildInputs lists, relative to root, every file `go build` can read:
// go.mod, go.sum, non-test Go files and what //go:embed pulls in.
func buildInputs(t *testing.T, root string) []string {
	t.Helper()
	inputs := []string{"go.mod", "go.sum"}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// The go tool ignores these directories.
			if p != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		inputs = append(inputs, filepath.ToSlash(rel))
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range embedLine.FindAllStringSubmatch(string(src), -1) {
			for _, pat := range strings.Fields(m[1]) {
				pat = strings.TrimPrefix(strings.Trim(pat, "`\""), "all:")
				matches, err := filepath.Glob(filepath.Join(filepath.Dir(p), pat))
				require.NoError(t, err)
				require.NotEmpty(t, matches, "%s: //go:embed %s matches nothing", rel, pat)
				for _, f := range matches {
					r, err := filepath.Rel(root, f)
					require.NoError(t, err)
					inputs = append(inputs, filepath.ToSlash(r))
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	return inputs
}

func TestDockerignoreMatcher(t *testing.T) {
	rules := parseDockerignore("# c\n.git\n*.md\ndocs\n**/*.tmp\n!keep.tmp\n/bin/\n")
	tests := []struct {
		path string
		want bool
	}{
		{".git/HEAD", true},
		{"README.md", true},
		{"internal/model/notes.md", false}, // *.md is root-only
		{"docs/operations.md", true},
		{"internal/docs/x.go", false},
		{"a/b/c.tmp", true},
		{"c.tmp", true},
		{"keep.tmp", false},
		{"bin/pqlbot", true},
		{"cmd/pqlbot/main.go", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			require.Equal(t, tt.want, excluded(rules, tt.path))
		})
	}
}

func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	root := repoRoot(t)
	rules := parseDockerignore(readRepoFile(t, ".dockerignore"))
	inputs := buildInputs(t, root)
	require.Greater(t, len(inputs), 3)
	for _, f := range inputs {
		require.False(t, excluded(rules, f), ".dockerignore excludes %s, which go build needs", f)
	}
	// And it does its job: the context leaves out history and local files.
	for _, f := range []string{".git/HEAD", "docs/operations.md", "manifests/deployment.yaml", ".env"} {
		require.True(t, excluded(rules, f), "%s should stay out of the build context", f)
	}
}
