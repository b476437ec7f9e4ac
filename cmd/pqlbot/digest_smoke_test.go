package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/outcomes"
	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

type digestReplica struct {
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan error
}

// The weekly digest with the real binary: two replicas start together and
// one restarts within the same week; the digest (the latest Monday 09:00
// UTC slot, due at once) is posted exactly once.
func TestDigestSmokeTwoReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := pqlbotBinary(t)

	dbURL := storetest.NewURL(t)
	fake := slackfake.New(t)
	fake.SetToken(smokeBotToken)
	fake.AddChannel(slackfake.Channel{ID: "C0SDRPQL", Name: "sdr-pql"})
	fake.AddChannel(slackfake.Channel{ID: "C0REVOPS", Name: "revops"})
	modelFile := filepath.Join(t.TempDir(), "model.yaml")
	require.NoError(t, os.WriteFile(modelFile, []byte(`version: digest-smoke
tiers: [{name: high, min_score: 10}]
routes: [{tier: high, channel: "#sdr-pql"}]
signals: [{name: Workflows, event: Workflow Completed, points: 20}]
outcomes:
  won: [{event: Order Completed}]
digest: {channel: "#revops", every: week}
`), 0o600))
	// A won account, so the digest has something to say.
	st, err := store.Open(context.Background(), dbURL)
	require.NoError(t, err)
	defer st.Close()
	_, err = st.Migrate(context.Background())
	require.NoError(t, err)
	_, err = st.Pool().Exec(context.Background(), `INSERT INTO accounts (account_id, name, domain, first_event_at) VALUES ('acme', 'Acme', 'acme.io', now() - interval '20 days')`)
	require.NoError(t, err)
	_, err = st.ImportOutcomes(context.Background(), []outcomes.Row{{Line: 2, Account: "acme.io", Kind: model.OutcomeWon, At: time.Now().UTC().Add(-48 * time.Hour)}})
	require.NoError(t, err)

	start := func(name string) *digestReplica {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		r := &digestReplica{log: &lockedBuffer{}, exited: make(chan error, 1)}
		r.cmd = exec.Command(bin, "serve")
		r.cmd.Env = append(baseEnv(),
			"DATABASE_URL="+dbURL, "HTTP_ADDR="+addr, "PQLBOT_WRITE_KEYS="+smokeWriteKey,
			"SLACK_BOT_TOKEN="+smokeBotToken, "SLACK_SIGNING_SECRET="+smokeSecret, "SLACK_API_URL="+fake.APIURL(),
			"PQLBOT_MODEL_FILE="+modelFile, "PQLBOT_SHUTDOWN_TIMEOUT=10s", "PQLBOT_LOG_LEVEL=debug",
		)
		r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
		require.NoError(t, r.cmd.Start())
		go func() { r.exited <- r.cmd.Wait() }()
		t.Cleanup(func() {
			_ = r.cmd.Process.Kill()
			if t.Failed() {
				t.Logf("%s log:\n%s", name, r.log.String())
			}
		})
		waitReady(t, "http://"+addr+"/readyz", r.exited)
		return r
	}
	// waitLog waits until the replica has decided about the digest: it
	// either posted it or found it sent.
	waitLog := func(r *digestReplica, what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(r.log.String(), what) {
			require.True(t, time.Now().Before(deadline), "no %q in the log", what)
			time.Sleep(50 * time.Millisecond)
		}
	}

	var a, b *digestReplica
	var wg sync.WaitGroup
	wg.Go(func() { a = start("replica a") })
	wg.Go(func() { b = start("replica b") })
	wg.Wait()
	fake.WaitFor("chat.postMessage", 1, 30*time.Second)
	for _, r := range []*digestReplica{a, b} {
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(r.log.String(), `"msg":"digest posted"`) && !strings.Contains(r.log.String(), "digest sent already") {
			require.True(t, time.Now().Before(deadline), "a replica never decided about the digest")
			time.Sleep(50 * time.Millisecond)
		}
	}

	const derived = `"msg":"outcomes re-derived for new outcome rules"`
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(a.log.String()+b.log.String(), derived); {
		require.True(t, time.Now().Before(deadline), "outcomes never re-derived at start")
		time.Sleep(50 * time.Millisecond)
	}

	// Replica b restarts within the week.
	require.NoError(t, b.cmd.Process.Signal(syscall.SIGTERM))
	<-b.exited
	b2 := start("replica b, restarted")
	waitLog(b2, "digest sent already")

	msgs := fake.Messages("C0REVOPS")
	require.Len(t, msgs, 1, "one digest across two replicas and a restart")
	require.Contains(t, msgs[0].Text, "Weekly PQL program digest")
	require.Contains(t, string(msgs[0].Blocks), "Won in the period")
	all := a.log.String() + b.log.String() + b2.log.String()
	require.Equal(t, 1, strings.Count(all, `"msg":"digest posted"`))
	// The model's outcome rules are new to this database: the stored
	// events are re-derived once at start, by one replica; the restart
	// finds them derived with the same rules.
	require.Equal(t, 1, strings.Count(all, derived))
}
