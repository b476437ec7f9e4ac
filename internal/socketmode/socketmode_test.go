package socketmode_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	sm "github.com/slack-go/slack/socketmode"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/handlers"
	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/slackapi"
	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/internal/slackui"
	"github.com/pqlbot/pqlbot/internal/socketmode"
)

// ack is one acknowledgement the fake acker received.
type ack struct {
	envelopeID string
	payload    any
	at         time.Time
}

type fakeAcker struct {
	mu   sync.Mutex
	acks []ack
	err  error
}

func (f *fakeAcker) Ack(req sm.Request, payload ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	a := ack{envelopeID: req.EnvelopeID, at: time.Now()}
	if len(payload) > 0 {
		a.payload = payload[0]
	}
	f.acks = append(f.acks, a)
	return nil
}

func (f *fakeAcker) all() []ack {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ack(nil), f.acks...)
}

// envelope builds the event the socketmode client emits for a websocket
// message of type typ carrying payload, decoded the way the client decodes
// it.
func envelope(t *testing.T, typ, envelopeID, payload string) sm.Event {
	t.Helper()
	req := &sm.Request{Type: typ, EnvelopeID: envelopeID, Payload: json.RawMessage(payload), AcceptsResponsePayload: true}
	switch typ {
	case sm.RequestTypeSlashCommands:
		var cmd slack.SlashCommand
		require.NoError(t, json.Unmarshal(req.Payload, &cmd))
		return sm.Event{Type: sm.EventTypeSlashCommand, Data: cmd, Request: req}
	case sm.RequestTypeEventsAPI:
		ev, err := slackevents.ParseEvent(req.Payload, slackevents.OptionNoVerifyToken())
		require.NoError(t, err)
		return sm.Event{Type: sm.EventTypeEventsAPI, Data: ev, Request: req}
	case sm.RequestTypeInteractive:
		var cb slack.InteractionCallback
		require.NoError(t, json.Unmarshal(req.Payload, &cb))
		return sm.Event{Type: sm.EventTypeInteractive, Data: cb, Request: req}
	}
	t.Fatalf("unknown request type %s", typ)
	return sm.Event{}
}

// replyService answers every command with reply after delay.
type replyService struct {
	reply slackui.Reply
	delay time.Duration
	got   chan commands.Request
}

func (s *replyService) Handle(ctx context.Context, req commands.Request) slackui.Reply {
	if s.got != nil {
		s.got <- req
	}
	time.Sleep(s.delay)
	return s.reply
}

const slashPayload = `{"token":"x","team_id":"T0001","team_domain":"acme","channel_id":"C0SALES01","channel_name":"sales",
	"user_id":"U0ALICE01","user_name":"alice","command":"/pql","text":"top 5","response_url":"%s","trigger_id":"1.2.3","api_app_id":"A0PQLBOT1","is_enterprise_install":"false"}`

func TestSlashCommandIsAnsweredInTheAck(t *testing.T) {
	svc := &replyService{reply: slackui.HelpReply("/pql", ""), got: make(chan commands.Request, 1)}
	a := &socketmode.Adapter{Commands: &handlers.Commands{Service: svc}}
	acker := &fakeAcker{}

	a.Handle(context.Background(), envelope(t, sm.RequestTypeSlashCommands, "env-1", strings.Replace(slashPayload, "%s", "https://hooks.slack.com/x", 1)), acker)

	req := <-svc.got
	require.Equal(t, commands.Request{UserID: "U0ALICE01", UserName: "alice", TeamID: "T0001", ChannelID: "C0SALES01",
		Command: "/pql", Text: "top 5", ResponseURL: "https://hooks.slack.com/x"}, req)
	acks := acker.all()
	require.Len(t, acks, 1)
	require.Equal(t, "env-1", acks[0].envelopeID)
	msg, ok := acks[0].payload.(*slack.WebhookMessage)
	require.True(t, ok, "%T", acks[0].payload)
	require.Equal(t, slack.ResponseTypeEphemeral, msg.ResponseType)
	require.Equal(t, "pqlbot help", msg.Text)
	b, err := json.Marshal(sm.Response{EnvelopeID: "env-1", Payload: msg})
	require.NoError(t, err)
	require.Less(t, len(b), 20*1024)
}

// An answer too large for a Socket Mode ack (20 KB) or slower than the
// budget is acknowledged with a short note and delivered through the
// response_url.
func TestSlashCommandTooLargeOrSlowGoesThroughResponseURL(t *testing.T) {
	big := slackui.Reply{Text: "big"}
	for i := range 40 {
		big.Blocks = append(big.Blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", 2000)+string(rune('a'+i%26)), false, false), nil, nil))
	}
	cases := []struct {
		name string
		svc  *replyService
		want string
	}{
		{"too large", &replyService{reply: big}, "big"},
		{"too slow", &replyService{reply: slackui.HelpReply("/pql", ""), delay: 300 * time.Millisecond}, "pqlbot help"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := slackfake.New(t)
			cmds := &handlers.Commands{Service: c.svc, Responder: slackapi.New("xoxb-test", fake.APIURL()), Budget: 100 * time.Millisecond}
			a := &socketmode.Adapter{Commands: cmds}
			acker := &fakeAcker{}
			a.Handle(context.Background(), envelope(t, sm.RequestTypeSlashCommands, "env-2", strings.Replace(slashPayload, "%s", fake.ResponseURL("r2"), 1)), acker)

			acks := acker.all()
			require.Len(t, acks, 1)
			msg := acks[0].payload.(*slack.WebhookMessage)
			require.Contains(t, msg.Text, "Working on it")
			calls := fake.WaitFor("response_url", 1, 5*time.Second)
			var late slack.WebhookMessage
			require.NoError(t, json.Unmarshal(calls[0].JSON, &late))
			require.Equal(t, c.want, late.Text)
			require.Equal(t, slack.ResponseTypeEphemeral, late.ResponseType)
			cmds.Wait()
		})
	}
}

// fakeEvents records the order of acks and the work started after them.
type fakeEvents struct {
	acker   *fakeAcker
	err     error
	started chan time.Time
	ackSeen chan int
}

func (f *fakeEvents) Serve(_ context.Context, ev slackevents.EventsAPIEvent) (any, func(), error) {
	if f.err != nil {
		return nil, nil, f.err
	}
	return nil, func() {
		f.ackSeen <- len(f.acker.all())
		f.started <- time.Now()
	}, nil
}

const homePayload = `{"token":"x","team_id":"T0001","api_app_id":"A0PQLBOT1","type":"event_callback","event_id":"Ev0HOME01","event_time":1795186800,
	"event":{"type":"app_home_opened","user":"U0MANAGER","channel":"D0HOME001","tab":"home","event_ts":"1795186800.000100"}}`

func TestEventsAreAcknowledgedBeforeTheWork(t *testing.T) {
	acker := &fakeAcker{}
	ev := &fakeEvents{acker: acker, started: make(chan time.Time, 1), ackSeen: make(chan int, 1)}
	a := &socketmode.Adapter{Events: ev}
	a.Handle(context.Background(), envelope(t, sm.RequestTypeEventsAPI, "env-3", homePayload), acker)
	require.Equal(t, 1, <-ev.ackSeen, "the ack went out before the work started")
	<-ev.started
	require.Equal(t, "env-3", acker.all()[0].envelopeID)
	require.Nil(t, acker.all()[0].payload)
}

func TestFailedEventIsLeftForSlackToRetry(t *testing.T) {
	acker := &fakeAcker{}
	a := &socketmode.Adapter{Events: &fakeEvents{acker: acker, err: errors.New("database is down")}}
	a.Handle(context.Background(), envelope(t, sm.RequestTypeEventsAPI, "env-4", homePayload), acker)
	require.Empty(t, acker.all())
}

// homePublisher counts App Home publications.
type homePublisher struct {
	mu    sync.Mutex
	users []string
}

func (h *homePublisher) PublishHome(_ context.Context, userID string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.users = append(h.users, userID)
	return nil
}

type memDeduper struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (m *memDeduper) MarkEventSeen(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[id] {
		return false, nil
	}
	m.seen[id] = true
	return true, nil
}

// The same handlers.Events the HTTP endpoint uses: a redelivered event
// (Slack's retry_attempt) publishes once.
func TestSocketEventsShareTheHTTPHandler(t *testing.T) {
	home := &homePublisher{}
	events := &handlers.Events{Seen: &memDeduper{seen: map[string]bool{}}, Home: home}
	a := &socketmode.Adapter{Events: events}
	acker := &fakeAcker{}
	for i := range 3 {
		evt := envelope(t, sm.RequestTypeEventsAPI, "env-5", homePayload)
		evt.Request.RetryAttempt = i
		a.Handle(context.Background(), evt, acker)
	}
	events.Wait()
	require.Len(t, acker.all(), 3, "every delivery is acknowledged")
	require.Equal(t, []string{"U0MANAGER"}, home.users)
}

type fakeInteractions struct {
	acker *fakeAcker
	got   chan *slack.InteractionCallback
	acked int
}

func (f *fakeInteractions) Handle(_ context.Context, cb *slack.InteractionCallback) {
	f.acked = len(f.acker.all())
	f.got <- cb
}

func TestInteractionsAreAcknowledgedThenHandled(t *testing.T) {
	acker := &fakeAcker{}
	in := &fakeInteractions{acker: acker, got: make(chan *slack.InteractionCallback, 1)}
	a := &socketmode.Adapter{Interactions: in}
	payload := `{"type":"block_actions","user":{"id":"U0ALICE01","name":"alice"},"response_url":"https://hooks.slack.com/actions/x",
		"actions":[{"action_id":"pql_claim","block_id":"pql_actions:00000000-0000-4000-8000-000000000001","value":"00000000-0000-4000-8000-000000000001","type":"button"}]}`
	a.Handle(context.Background(), envelope(t, sm.RequestTypeInteractive, "env-6", payload), acker)
	cb := <-in.got
	require.Equal(t, 1, in.acked, "acknowledged before handling")
	require.Equal(t, slack.InteractionTypeBlockActions, cb.Type)
	require.Equal(t, "U0ALICE01", cb.User.ID)
	require.Len(t, cb.ActionCallback.BlockActions, 1)
	require.Equal(t, "pql_claim", cb.ActionCallback.BlockActions[0].ActionID)
}

func TestKindsWithoutAHandlerAreAcknowledgedAndDropped(t *testing.T) {
	acker := &fakeAcker{}
	a := &socketmode.Adapter{}
	a.Handle(context.Background(), envelope(t, sm.RequestTypeSlashCommands, "env-7", strings.Replace(slashPayload, "%s", "", 1)), acker)
	a.Handle(context.Background(), envelope(t, sm.RequestTypeEventsAPI, "env-8", homePayload), acker)
	a.Handle(context.Background(), envelope(t, sm.RequestTypeInteractive, "env-9", `{"type":"block_actions","user":{"id":"U1"}}`), acker)
	a.Handle(context.Background(), sm.Event{Type: sm.EventTypeConnected}, acker)
	a.Handle(context.Background(), sm.Event{Type: sm.EventTypeSlashCommand, Data: "garbage"}, acker)
	var ids []string
	for _, k := range acker.all() {
		ids = append(ids, k.envelopeID)
	}
	require.Equal(t, []string{"env-7", "env-8", "env-9"}, ids)
}
