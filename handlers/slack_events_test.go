package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/handlers"
	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/slackapi"
	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

type eventsEnv struct {
	target string
	fake   *slackfake.Server
	st     *store.Store
	events *handlers.Events
}

func newEventsEnv(t *testing.T) *eventsEnv {
	t.Helper()
	st := storetest.New(t)
	fake := slackfake.New(t)
	svc := &commands.Service{
		Store: st, Model: model.Default(), Now: func() time.Time { return slashClock },
		Publisher: slackapi.New("xoxb-test", fake.APIURL()),
	}
	ev := &handlers.Events{
		Verifier: &handlers.SlackVerifier{Secret: slashSecret, Now: func() time.Time { return slashClock }},
		Seen:     st,
		Home:     svc,
	}
	srv := httptest.NewServer((&handlers.Server{SlackEvents: ev}).Routes())
	t.Cleanup(srv.Close)
	t.Cleanup(ev.Wait)
	return &eventsEnv{target: srv.URL + "/slack/events", fake: fake, st: st, events: ev}
}

func (e *eventsEnv) post(t *testing.T, body []byte, secret string, headers map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.target, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range slackfake.Sign(secret, slashClock, body) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

func homeOpened(eventID, user, tab string) []byte {
	b, _ := json.Marshal(map[string]any{
		"token": "deprecated", "team_id": "T0001", "api_app_id": "A0PQLBOT1", "type": "event_callback",
		"event_id": eventID, "event_time": slashClock.Unix(),
		"event": map[string]any{"type": "app_home_opened", "user": user, "channel": "D0HOME001", "tab": tab, "event_ts": "1795186800.000100"},
	})
	return b
}

func TestURLVerification(t *testing.T) {
	e := newEventsEnv(t)
	body := []byte(`{"token":"deprecated","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	status, out := e.post(t, body, slashSecret, nil)
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`, string(out))

	status, _ = e.post(t, body, "wrong-secret", nil)
	require.Equal(t, http.StatusUnauthorized, status)
}

func TestAppHomeOpenedPublishesOncePerEvent(t *testing.T) {
	e := newEventsEnv(t)

	status, _ := e.post(t, homeOpened("Ev0HOME01", "U0MANAGER", "home"), slashSecret, nil)
	require.Equal(t, http.StatusOK, status)
	calls := e.fake.WaitFor("views.publish", 1, 5*time.Second)
	var req struct {
		UserID string `json:"user_id"`
		View   struct {
			Type   string            `json:"type"`
			Blocks []json.RawMessage `json:"blocks"`
		} `json:"view"`
	}
	require.NoError(t, json.Unmarshal(calls[0].JSON, &req))
	require.Equal(t, "U0MANAGER", req.UserID)
	require.Equal(t, "home", req.View.Type)
	require.NotEmpty(t, req.View.Blocks)
	view, ok := e.fake.HomeView("U0MANAGER")
	require.True(t, ok)
	require.Contains(t, string(view), "SLA figures")

	// Slack retries the same event (it thought we timed out): handled once.
	for n := 1; n <= 3; n++ {
		status, _ = e.post(t, homeOpened("Ev0HOME01", "U0MANAGER", "home"), slashSecret,
			map[string]string{"X-Slack-Retry-Num": string(rune('0' + n)), "X-Slack-Retry-Reason": "http_timeout"})
		require.Equal(t, http.StatusOK, status)
	}
	e.events.Wait()
	require.Len(t, e.fake.Calls("views.publish"), 1)

	// A new opening is a new event.
	status, _ = e.post(t, homeOpened("Ev0HOME02", "U0MANAGER", "home"), slashSecret, nil)
	require.Equal(t, http.StatusOK, status)
	e.fake.WaitFor("views.publish", 2, 5*time.Second)
}

func TestEventsThatNeedNothing(t *testing.T) {
	e := newEventsEnv(t)
	cases := []struct {
		name string
		body []byte
	}{
		{"messages tab", homeOpened("Ev0MSG001", "U0MANAGER", "messages")},
		{"another event type", []byte(`{"type":"event_callback","event_id":"Ev0OTHER1","event":{"type":"app_mention","user":"U1","text":"hi","channel":"C1","ts":"1.2","event_ts":"1.2"}}`)},
		{"app rate limited", []byte(`{"type":"app_rate_limited","team_id":"T0001","minute_rate_limited":1518467820,"api_app_id":"A0PQLBOT1"}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _ := e.post(t, c.body, slashSecret, nil)
			require.Equal(t, http.StatusOK, status)
		})
	}
	e.events.Wait()
	require.Empty(t, e.fake.Calls("views.publish"))
}

func TestEventsRejected(t *testing.T) {
	e := newEventsEnv(t)
	status, _ := e.post(t, homeOpened("Ev0BAD001", "U0MANAGER", "home"), "wrong-secret", nil)
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = e.post(t, []byte(`{"type": "event_callback", "event": `), slashSecret, nil)
	require.Equal(t, http.StatusBadRequest, status)
	e.events.Wait()
	require.Empty(t, e.fake.Calls("views.publish"))
	first, err := e.st.MarkEventSeen(context.Background(), "Ev0BAD001")
	require.NoError(t, err)
	require.True(t, first, "a rejected event was not recorded")
}

type brokenDeduper struct{}

func (brokenDeduper) MarkEventSeen(context.Context, string) (bool, error) {
	return false, errors.New("database is down")
}

// When the event cannot be recorded, Slack is told to retry and nothing is
// published.
func TestEventDedupFailureAsksForRetry(t *testing.T) {
	e := newEventsEnv(t)
	e.events.Seen = brokenDeduper{}
	status, _ := e.post(t, homeOpened("Ev0DOWN01", "U0MANAGER", "home"), slashSecret, nil)
	require.Equal(t, http.StatusServiceUnavailable, status)
	e.events.Wait()
	require.Empty(t, e.fake.Calls("views.publish"))
}
