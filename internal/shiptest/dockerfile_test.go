package shiptest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper-cased: FROM, RUN, USER, ...
	Args string
	Line int
}

// stage is a FROM and the instructions under it.
type stage struct {
	Base  string // image reference or earlier stage name
	Name  string // the AS name, if any
	Instr []instruction
}

// parseDockerfile splits a Dockerfile into instructions: comments and
// blank lines dropped, backslash continuations joined (comment lines inside
// a continuation are skipped, as BuildKit does).
func parseDockerfile(text string) []instruction {
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(body)
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start})
		cur.Reset()
	}
	return out
}

// stages groups instructions by FROM; ARGs before the first FROM are dropped.
func stages(instrs []instruction) []stage {
	var out []stage
	for _, in := range instrs {
		if in.Cmd == "FROM" {
			var fields []string
			for _, f := range strings.Fields(in.Args) {
				if !strings.HasPrefix(f, "--") { // --platform=...
					fields = append(fields, f)
				}
			}
			s := stage{Base: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.Name = fields[2]
			}
			out = append(out, s)
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].Instr = append(out[len(out)-1].Instr, in)
		}
	}
	return out
}

// imageTag returns the tag of an image reference ("" when there is none)
// and whether it is pinned by digest.
func imageTag(ref string) (tag string, digest bool) {
	if name, _, ok := strings.Cut(ref, "@"); ok {
		ref, digest = name, true
	}
	last := ref[strings.LastIndex(ref, "/")+1:] // a registry host may carry a :port
	if _, t, ok := strings.Cut(last, ":"); ok {
		tag = t
	}
	return tag, digest
}

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	require.NoError(t, err)
	return string(b)
}

// repoRoot is the module root, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "module root not found")
	return root
}

// goVersion is the go directive of go.mod ("1.26.8").
func goVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readRepoFile(t, "go.mod"))
	require.NotNil(t, m, "go.mod has no go directive")
	return m[1]
}

// imageUser is the final stage's user and group ids.
func imageUser(t *testing.T, final stage) (uid, gid int64) {
	t.Helper()
	user := ""
	for _, in := range final.Instr {
		if in.Cmd == "USER" {
			user = in.Args
		}
	}
	require.NotEmpty(t, user, "final stage sets no USER")
	u, g, _ := strings.Cut(user, ":")
	// Numeric, so the kubelet can verify runAsNonRoot without /etc/passwd.
	uid, err := strconv.ParseInt(u, 10, 64)
	require.NoError(t, err, "USER %q: use a numeric uid", user)
	gid = uid
	if g != "" {
		gid, err = strconv.ParseInt(g, 10, 64)
		require.NoError(t, err, "USER %q: use a numeric gid", user)
	}
	return uid, gid
}

func dockerStages(t *testing.T) []stage {
	t.Helper()
	return stages(parseDockerfile(readRepoFile(t, "Dockerfile")))
}

func TestParseDockerfile(t *testing.T) {
	text := "# syntax=docker/dockerfile:1\nARG X=1\nFROM --platform=$BUILDPLATFORM golang:1.26.8 AS build\n" +
		"RUN a \\\n  # a comment inside\n  b\n\nFROM scratch\nUSER 1:2\n"
	st := stages(parseDockerfile(text))
	require.Len(t, st, 2)
	require.Equal(t, stage{Base: "golang:1.26.8", Name: "build", Instr: []instruction{{Cmd: "RUN", Args: "a  b", Line: 4}}}, st[0])
	require.Equal(t, "scratch", st[1].Base)
	uid, gid := imageUser(t, st[1])
	require.Equal(t, []int64{1, 2}, []int64{uid, gid})

	tests := []struct {
		ref, tag string
		digest   bool
	}{
		{"golang", "", false},
		{"golang:1.26.8-bookworm", "1.26.8-bookworm", false},
		{"localhost:5000/pqlbot", "", false},
		{"localhost:5000/pqlbot:v1", "v1", false},
		{"gcr.io/distroless/static-debian12:nonroot@sha256:abc", "nonroot", true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			tag, digest := imageTag(tt.ref)
			require.Equal(t, tt.tag, tag)
			require.Equal(t, tt.digest, digest)
		})
	}
}

func TestDockerfile(t *testing.T) {
	st := dockerStages(t)
	require.GreaterOrEqual(t, len(st), 2, "multi-stage: build, then a minimal runtime")
	names := map[string]bool{}
	for _, s := range st {
		if s.Name != "" {
			names[s.Name] = true
		}
	}
	build, final := st[0], st[len(st)-1]

	t.Run("bases are pinned", func(t *testing.T) {
		for _, s := range st {
			if names[s.Base] || s.Base == "scratch" {
				continue
			}
			tag, digest := imageTag(s.Base)
			require.True(t, tag != "" || digest, "FROM %s: pin a tag or digest", s.Base)
			require.NotEqual(t, "latest", tag, "FROM %s: latest is not a pin", s.Base)
			require.NotContains(t, s.Base, "$", "FROM %s: no build-arg bases", s.Base)
		}
	})

	t.Run("builder matches go.mod", func(t *testing.T) {
		require.True(t, strings.HasPrefix(build.Base, "golang:"), "first stage builds with golang, got %s", build.Base)
		tag, _ := imageTag(build.Base)
		v := goVersion(t)
		require.True(t, tag == v || strings.HasPrefix(tag, v+"-"),
			"builder golang:%s must be exactly go.mod's go %s", tag, v)
	})

	t.Run("static build of cmd/pqlbot", func(t *testing.T) {
		var all strings.Builder
		for _, in := range build.Instr {
			all.WriteString(in.Cmd + " " + in.Args + "\n")
		}
		text := all.String()
		require.Contains(t, text, "CGO_ENABLED=0")
		require.Regexp(t, `go build .*-trimpath`, text)
		require.Regexp(t, `-ldflags="-s -w"`, text)
		require.Regexp(t, `go build .*\./cmd/pqlbot`, text)
		if _, err := os.Stat(filepath.Join(repoRoot(t), "cmd", "pqlbot")); os.IsNotExist(err) {
			t.Skip("cmd/pqlbot does not exist yet: cannot check the build target")
		}
	})

	t.Run("runtime stage", func(t *testing.T) {
		require.True(t, final.Base == "scratch" || strings.HasPrefix(final.Base, "gcr.io/distroless/static"),
			"final stage %s: use distroless static or scratch (no shell, no package manager)", final.Base)
		uid, gid := imageUser(t, final)
		require.NotZero(t, uid, "USER must not be root")
		require.NotZero(t, gid, "USER group must not be root")
		cmds := map[string][]instruction{}
		for _, in := range final.Instr {
			cmds[in.Cmd] = append(cmds[in.Cmd], in)
		}
		for _, forbidden := range []string{"RUN", "ADD"} {
			require.Empty(t, cmds[forbidden], "final stage has no shell: no %s", forbidden)
		}
		require.Len(t, cmds["ENTRYPOINT"], 1)
		var entry []string
		require.NoError(t, json.Unmarshal([]byte(cmds["ENTRYPOINT"][0].Args), &entry), "ENTRYPOINT must be exec form")
		require.Equal(t, []string{"/pqlbot"}, entry)
		require.Len(t, cmds["CMD"], 1)
		var cmd []string
		require.NoError(t, json.Unmarshal([]byte(cmds["CMD"][0].Args), &cmd), "CMD must be exec form")
		require.Equal(t, []string{"serve"}, cmd)
		require.Len(t, cmds["COPY"], 1)
		require.Contains(t, cmds["COPY"][0].Args, "--from="+build.Name)
		require.Len(t, cmds["EXPOSE"], 1)
	})
}
