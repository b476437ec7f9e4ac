package shiptest

import (
	"net/url"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// slackApp is the subset of Slack's app manifest schema that
// manifests/slack-app.yaml uses, decoded strictly so a misspelt key fails.
type slackApp struct {
	Metadata struct {
		MajorVersion int `yaml:"major_version"`
		MinorVersion int `yaml:"minor_version"`
	} `yaml:"_metadata"`
	DisplayInformation struct {
		Name            string `yaml:"name"`
		Description     string `yaml:"description"`
		BackgroundColor string `yaml:"background_color"`
	} `yaml:"display_information"`
	Features struct {
		AppHome struct {
			HomeTabEnabled             bool `yaml:"home_tab_enabled"`
			MessagesTabEnabled         bool `yaml:"messages_tab_enabled"`
			MessagesTabReadOnlyEnabled bool `yaml:"messages_tab_read_only_enabled"`
		} `yaml:"app_home"`
		BotUser struct {
			DisplayName  string `yaml:"display_name"`
			AlwaysOnline bool   `yaml:"always_online"`
		} `yaml:"bot_user"`
		SlashCommands []struct {
			Command      string `yaml:"command"`
			URL          string `yaml:"url"`
			Description  string `yaml:"description"`
			UsageHint    string `yaml:"usage_hint"`
			ShouldEscape bool   `yaml:"should_escape"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		EventSubscriptions struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			IsEnabled  bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		OrgDeployEnabled     bool `yaml:"org_deploy_enabled"`
		SocketModeEnabled    bool `yaml:"socket_mode_enabled"`
		TokenRotationEnabled bool `yaml:"token_rotation_enabled"`
	} `yaml:"settings"`
}

func TestSlackAppManifest(t *testing.T) {
	docs := readDocs(t, filepath.Join(repoRoot(t), "manifests", "slack-app.yaml"))
	require.Len(t, docs, 1)
	var app slackApp
	require.NoError(t, decodeStrict(docs[0], &app))

	require.Equal(t, 1, app.Metadata.MajorVersion)
	require.NotEmpty(t, app.DisplayInformation.Name)
	// Slack's limits: name ≤ 35 characters, description ≤ 140.
	require.LessOrEqual(t, len(app.DisplayInformation.Name), 35)
	require.LessOrEqual(t, len(app.DisplayInformation.Description), 140)
	require.NotEmpty(t, app.Features.BotUser.DisplayName)

	// Every request URL is https on one host, at the path pqlbot serves.
	host := ""
	checkURL := func(t *testing.T, raw, wantPath string) {
		t.Helper()
		u, err := url.Parse(raw)
		require.NoError(t, err)
		require.Equal(t, "https", u.Scheme, raw)
		require.Equal(t, wantPath, u.Path, raw)
		if host == "" {
			host = u.Host
		}
		require.Equal(t, host, u.Host, "all request URLs go to the same pqlbot")
	}

	t.Run("slash command", func(t *testing.T) {
		require.Len(t, app.Features.SlashCommands, 1)
		cmd := app.Features.SlashCommands[0]
		require.Equal(t, "/pql", cmd.Command)
		checkURL(t, cmd.URL, "/slack/commands")
		require.NotEmpty(t, cmd.Description)
		require.NotEmpty(t, cmd.UsageHint)
		// "/pql sla @user" needs user and channel ids, which Slack only
		// sends (as <@U…>, <#C…>) when the command escapes them.
		require.True(t, cmd.ShouldEscape)
	})

	t.Run("events and interactivity", func(t *testing.T) {
		checkURL(t, app.Settings.EventSubscriptions.RequestURL, "/slack/events")
		require.Equal(t, []string{"app_home_opened"}, app.Settings.EventSubscriptions.BotEvents)
		require.True(t, app.Settings.Interactivity.IsEnabled)
		checkURL(t, app.Settings.Interactivity.RequestURL, "/slack/interactions")
	})

	t.Run("app home", func(t *testing.T) {
		require.True(t, app.Features.AppHome.HomeTabEnabled)
		require.False(t, app.Features.AppHome.MessagesTabEnabled)
	})

	t.Run("least privilege scopes", func(t *testing.T) {
		require.ElementsMatch(t, []string{
			"chat:write",       // post and update alerts, thread replies, ephemerals
			"commands",         // /pql
			"channels:read",    // resolve #name routes
			"groups:read",      // ... in private channels
			"channels:history", // conversations.history: reconcile posts by metadata
			"groups:history",   // ... in private channels
			"users:read",       // rep names
		}, app.OAuthConfig.Scopes.Bot)
	})

	t.Run("HTTP mode by default", func(t *testing.T) {
		// Socket Mode is an opt-in switch documented in the file; the
		// default matches the Deployment, which has no SLACK_APP_TOKEN.
		require.False(t, app.Settings.SocketModeEnabled)
	})
}
