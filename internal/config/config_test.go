package config

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoad(t *testing.T) {
	base := []string{"DATABASE_URL=postgres://u@h/db", "PQLBOT_WRITE_KEYS= k1, k2 ,"}
	cases := []struct {
		name  string
		mode  Mode
		extra []string
		want  string // error substring; empty means success
	}{
		{"defaults", ModeServe, nil, ""},
		{"missing database", ModeServe, []string{"DATABASE_URL="}, "DATABASE_URL: required"},
		{"bad database scheme", ModeServe, []string{"DATABASE_URL=mysql://x"}, "DATABASE_URL: must be a postgres"},
		{"missing write keys", ModeServe, []string{"PQLBOT_WRITE_KEYS="}, "PQLBOT_WRITE_KEYS: required"},
		{"write keys not needed to migrate", ModeDatabase, []string{"PQLBOT_WRITE_KEYS="}, ""},
		{"nothing needed offline", ModeOffline, []string{"DATABASE_URL="}, ""},
		{"malformed duration names the variable", ModeServe, []string{"PQLBOT_SHUTDOWN_TIMEOUT=soon"}, "PQLBOT_SHUTDOWN_TIMEOUT: malformed value"},
		{"unknown PQLBOT variable", ModeServe, []string{"PQLBOT_WRITEKEYS=x"}, "PQLBOT_WRITEKEYS: unknown variable"},
		{"token without secret", ModeServe, []string{"SLACK_BOT_TOKEN=xoxb-1"}, "SLACK_SIGNING_SECRET: required"},
		{"socket mode needs no secret", ModeServe, []string{"SLACK_BOT_TOKEN=xoxb-1", "SLACK_APP_TOKEN=xapp-1"}, ""},
		{"app token shape", ModeServe, []string{"SLACK_BOT_TOKEN=xoxb-1", "SLACK_APP_TOKEN=xoxb-2"}, "SLACK_APP_TOKEN: must be an app-level token"},
		{"bad slack url", ModeServe, []string{"SLACK_API_URL=localhost"}, "SLACK_API_URL: must be an http(s) URL"},
		{"account url placeholder", ModeServe, []string{"PQLBOT_ACCOUNT_URL=https://crm/x"}, "PQLBOT_ACCOUNT_URL: must contain {account}"},
		{"bad log level", ModeServe, []string{"PQLBOT_LOG_LEVEL=loud"}, "PQLBOT_LOG_LEVEL"},
		{"debug listener", ModeServe, []string{"PQLBOT_DEBUG_ADDR=127.0.0.1:6060"}, ""},
		{"debug address shape", ModeServe, []string{"PQLBOT_DEBUG_ADDR=6060"}, "PQLBOT_DEBUG_ADDR: must be host:port"},
		{"debug address is not the service port", ModeServe, []string{"PQLBOT_DEBUG_ADDR=:8080"}, "PQLBOT_DEBUG_ADDR: must differ from HTTP_ADDR"},
		{"lease too short", ModeServe, []string{"PQLBOT_LEASE=1s"}, "PQLBOT_LEASE: must be between 3s and 10m"},
		{"lease too long", ModeServe, []string{"PQLBOT_LEASE=1h"}, "PQLBOT_LEASE: must be between 3s and 10m"},
		{"debounce too long", ModeServe, []string{"PQLBOT_RESCORE_DEBOUNCE=2m"}, "PQLBOT_RESCORE_DEBOUNCE: must be between 0 and 1m"},
		{"test pause dir is known", ModeServe, []string{"PQLBOT_TEST_PAUSE_DIR=/tmp/x"}, ""},
		{"cors origins", ModeServe, []string{"PQLBOT_CORS_ORIGINS=https://app.example.com, http://localhost:3000"}, ""},
		{"cors any origin", ModeServe, []string{"PQLBOT_CORS_ORIGINS=*"}, ""},
		{"cors origin with a path", ModeServe, []string{"PQLBOT_CORS_ORIGINS=https://app.example.com/"}, `PQLBOT_CORS_ORIGINS: "https://app.example.com/" must be * or an origin`},
		{"cors origin without scheme", ModeServe, []string{"PQLBOT_CORS_ORIGINS=app.example.com"}, "PQLBOT_CORS_ORIGINS"},
		{"unknown variable lists the known ones", ModeServe, []string{"PQLBOT_CORS=x"}, "PQLBOT_CORS: unknown variable (known: PQLBOT_ACCOUNT_URL, PQLBOT_CORS_ORIGINS,"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadFrom(context.Background(), tc.mode, append(append([]string{}, base...), tc.extra...))
			if tc.want != "" {
				require.ErrorContains(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, ":8080", c.HTTPAddr)
			require.Equal(t, 20*time.Second, c.ShutdownTimeout)
			require.Equal(t, 10*time.Second, c.Lease)
			require.Equal(t, "https://slack.com/api/", c.SlackAPIURL)
			if tc.mode == ModeServe {
				require.Equal(t, []string{"k1", "k2"}, c.WriteKeys)
			}
			if tc.name == "cors origins" {
				require.Equal(t, []string{"https://app.example.com", "http://localhost:3000"}, c.CORSOrigins)
			}
		})
	}
}

func TestSecretsNeverEchoed(t *testing.T) {
	_, err := LoadFrom(context.Background(), ModeServe, []string{"DATABASE_URL=postgres://u:hunter2@h/db", "PQLBOT_WRITE_KEYS=k", "PQLBOT_SHUTDOWN_TIMEOUT=hunter2"})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}
