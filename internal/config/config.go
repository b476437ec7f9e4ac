// Package config turns the process environment into one validated Config.
//
// Every problem is reported as a single line that names the variable, so an
// operator can fix a bad deployment from the first log line.
package config

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Config is everything pqlbot reads from the environment.
type Config struct {
	DatabaseURL        string        `env:"DATABASE_URL"`
	HTTPAddr           string        `env:"HTTP_ADDR, default=:8080"`
	WriteKeys          []string      `env:"PQLBOT_WRITE_KEYS"`
	ModelFile          string        `env:"PQLBOT_MODEL_FILE"`
	SlackBotToken      string        `env:"SLACK_BOT_TOKEN"`
	SlackSigningSecret string        `env:"SLACK_SIGNING_SECRET"`
	SlackAppToken      string        `env:"SLACK_APP_TOKEN"`
	SlackAPIURL        string        `env:"SLACK_API_URL, default=https://slack.com/api/"`
	AccountURL         string        `env:"PQLBOT_ACCOUNT_URL"`
	ShutdownTimeout    time.Duration `env:"PQLBOT_SHUTDOWN_TIMEOUT, default=20s"`
	// Lease is the one recovery rule: work a replica holds (undecided
	// scores, Slack jobs) is taken over this long after its last
	// heartbeat. Heartbeats, the look for abandoned work and the SLA sweep
	// all run every third of it, so a crash costs about 1⅓ leases.
	Lease    time.Duration `env:"PQLBOT_LEASE, default=10s"`
	LogLevel string        `env:"PQLBOT_LOG_LEVEL, default=info"`
	// DebugAddr is where net/http/pprof listens, apart from the service
	// port so it is never exposed with it; empty turns it off.
	DebugAddr string `env:"PQLBOT_DEBUG_ADDR"`
	// CORSOrigins are the browser origins allowed to send events
	// (analytics.js); "*" allows any, none means no browser access.
	CORSOrigins []string `env:"PQLBOT_CORS_ORIGINS"`
	// RescoreDebounce is the least time between two re-scores of one
	// account: a busy account's events in between are scored together
	// (hand-raises are not held back). Longer costs less under load and
	// delays a busy account's threshold crossing by up to this much.
	RescoreDebounce time.Duration `env:"PQLBOT_RESCORE_DEBOUNCE, default=500ms"`
}

// known lists every PQLBOT_* variable; any other PQLBOT_* variable is a typo
// that would otherwise be silently ignored.
var known = map[string]bool{
	"PQLBOT_WRITE_KEYS": true, "PQLBOT_MODEL_FILE": true, "PQLBOT_ACCOUNT_URL": true,
	"PQLBOT_SHUTDOWN_TIMEOUT": true, "PQLBOT_LOG_LEVEL": true, "PQLBOT_DEBUG_ADDR": true, "PQLBOT_LEASE": true,
	"PQLBOT_CORS_ORIGINS": true, "PQLBOT_RESCORE_DEBOUNCE": true,
	// Test only (internal/failpoint): not a Config field, never in a
	// manifest.
	"PQLBOT_TEST_PAUSE_DIR": true,
}

// Mode says how strictly Load validates: serve needs everything, other
// subcommands only what they use.
type Mode int

const (
	// ModeServe requires the database, write keys and consistent Slack settings.
	ModeServe Mode = iota
	// ModeDatabase requires only DATABASE_URL (migrate, score).
	ModeDatabase
	// ModeOffline requires nothing (model check).
	ModeOffline
)

// Load reads the real environment.
func Load(ctx context.Context, mode Mode) (*Config, error) {
	return LoadFrom(ctx, mode, os.Environ())
}

// LoadFrom reads a KEY=VALUE list, which lets tests avoid touching os.Environ.
func LoadFrom(ctx context.Context, mode Mode, environ []string) (*Config, error) {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	var unknown []string
	for k := range m {
		if strings.HasPrefix(k, "PQLBOT_") && !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		var names []string
		for _, k := range slices.Sorted(maps.Keys(known)) {
			if !strings.HasPrefix(k, "PQLBOT_TEST_") {
				names = append(names, k)
			}
		}
		return nil, fmt.Errorf("%s: unknown variable (known: %s)", unknown[0], strings.Join(names, ", "))
	}
	var c Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: envconfig.MapLookuper(m)}); err != nil {
		return nil, errors.New(trimEnvconfigError(err))
	}
	c.WriteKeys = compact(c.WriteKeys)
	c.CORSOrigins = compact(c.CORSOrigins)
	if err := c.validate(mode); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) validate(mode Mode) error {
	if mode == ModeOffline {
		return nil
	}
	if c.DatabaseURL == "" {
		return errors.New("DATABASE_URL: required")
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("DATABASE_URL: must be a postgres:// or postgresql:// URL")
	}
	if mode == ModeDatabase {
		return nil
	}
	if len(c.WriteKeys) == 0 {
		return errors.New("PQLBOT_WRITE_KEYS: required (comma-separated write keys)")
	}
	if !strings.Contains(c.HTTPAddr, ":") {
		return errors.New("HTTP_ADDR: must be host:port or :port")
	}
	if u, err := url.Parse(c.SlackAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("SLACK_API_URL: must be an http(s) URL")
	}
	if !strings.HasSuffix(c.SlackAPIURL, "/") {
		// slack-go appends method names directly to the base URL.
		c.SlackAPIURL += "/"
	}
	if c.SlackBotToken != "" && c.SlackAppToken == "" && c.SlackSigningSecret == "" {
		return errors.New("SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set and Socket Mode (SLACK_APP_TOKEN) is off")
	}
	if c.SlackAppToken != "" && c.SlackBotToken == "" {
		return errors.New("SLACK_BOT_TOKEN: required when SLACK_APP_TOKEN is set")
	}
	if c.SlackAppToken != "" && !strings.HasPrefix(c.SlackAppToken, "xapp-") {
		return errors.New("SLACK_APP_TOKEN: must be an app-level token (xapp-...)")
	}
	if c.DebugAddr != "" && !strings.Contains(c.DebugAddr, ":") {
		return errors.New("PQLBOT_DEBUG_ADDR: must be host:port or :port")
	}
	if c.DebugAddr != "" && c.DebugAddr == c.HTTPAddr {
		return errors.New("PQLBOT_DEBUG_ADDR: must differ from HTTP_ADDR (profiles are for operators, not the service port)")
	}
	if c.AccountURL != "" && !strings.Contains(c.AccountURL, "{account}") {
		return errors.New("PQLBOT_ACCOUNT_URL: must contain {account}")
	}
	if c.ShutdownTimeout <= 0 {
		return errors.New("PQLBOT_SHUTDOWN_TIMEOUT: must be positive")
	}
	if c.Lease < 3*time.Second || c.Lease > 10*time.Minute {
		// Below 3 s a heartbeat (every third) is too close to a slow
		// database round trip; above 10 minutes a crash delays alerts for
		// longer than anyone would want.
		return errors.New("PQLBOT_LEASE: must be between 3s and 10m")
	}
	if c.RescoreDebounce < 0 || c.RescoreDebounce > time.Minute {
		// Past a minute a busy account's alert would wait longer than any
		// rep would accept; 0 means the default.
		return errors.New("PQLBOT_RESCORE_DEBOUNCE: must be between 0 and 1m")
	}
	for _, o := range c.CORSOrigins {
		if o == "*" {
			continue
		}
		// The browser sends Origin as scheme://host[:port], nothing else:
		// anything more would never match.
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			return fmt.Errorf("PQLBOT_CORS_ORIGINS: %q must be * or an origin like https://app.example.com", o)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return errors.New("PQLBOT_LOG_LEVEL: must be debug, info, warn or error")
	}
	return nil
}

// DryRun reports whether alerts go to the log instead of Slack.
func (c *Config) DryRun() bool { return c.SlackBotToken == "" }

func compact(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// trimEnvconfigError keeps envconfig's message (which names the variable)
// on one line and never echoes a value, which could be a secret.
func trimEnvconfigError(err error) string {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	// envconfig names the Go field; operators know the variable.
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if strings.HasPrefix(msg, f.Name+": ") {
			name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
			want := map[string]string{"time.Duration": "a duration such as 20s or 1m"}[f.Type.String()]
			if want == "" {
				want = "a " + f.Type.String()
			}
			// The value itself is not repeated: it may be a secret.
			return name + ": malformed value, want " + want
		}
	}
	return msg
}
