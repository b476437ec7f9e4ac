package socketmode_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	sm "github.com/slack-go/slack/socketmode"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/handlers"
	"github.com/pqlbot/pqlbot/internal/slackui"
	"github.com/pqlbot/pqlbot/internal/socketmode"
)

// fakeSocketSlack stands in for Slack's side of Socket Mode:
// apps.connections.open hands out a websocket URL; on connection it says
// hello, sends the envelopes queued on send and passes the client's acks
// to acks.
type fakeSocketSlack struct {
	srv  *httptest.Server
	send chan string
	acks chan sm.Response
}

func newFakeSocketSlack(t *testing.T) *fakeSocketSlack {
	t.Helper()
	f := &fakeSocketSlack{send: make(chan string, 8), acks: make(chan sm.Response, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer xapp-test" {
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws"})
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		// slack-go sends Slack's Origin, which is not this host.
		up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": "A0PQLBOT1"}})
		go func() {
			for {
				var res sm.Response
				if err := conn.ReadJSON(&res); err != nil {
					return
				}
				f.acks <- res
			}
		}()
		for {
			select {
			case msg := <-f.send:
				if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
					return
				}
			case <-r.Context().Done():
				return
			}
		}
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// The whole Socket Mode path: a real slack-go socketmode client connected
// to a local stand-in receives a slash command envelope, the adapter runs
// it through handlers.Commands and the answer comes back in the ack.
func TestRunOverAWebsocket(t *testing.T) {
	f := newFakeSocketSlack(t)
	api := slack.New("xoxb-test", slack.OptionAppLevelToken("xapp-test"), slack.OptionAPIURL(f.srv.URL+"/api/"))
	client := sm.New(api)
	a := &socketmode.Adapter{Commands: &handlers.Commands{Service: &replyService{reply: slackui.HelpReply("/pql", "")}}}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, client) }()

	payload := strings.Replace(slashPayload, "%s", "https://hooks.slack.com/x", 1)
	f.send <- `{"type":"slash_commands","envelope_id":"env-ws-1","accepts_response_payload":true,"payload":` + payload + `}`

	select {
	case res := <-f.acks:
		require.Equal(t, "env-ws-1", res.EnvelopeID)
		b, err := json.Marshal(res.Payload)
		require.NoError(t, err)
		var msg slack.WebhookMessage
		require.NoError(t, json.Unmarshal(b, &msg))
		require.Equal(t, slack.ResponseTypeEphemeral, msg.ResponseType)
		require.Equal(t, "pqlbot help", msg.Text)
	case <-time.After(10 * time.Second):
		t.Fatal("no ack over the websocket")
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
