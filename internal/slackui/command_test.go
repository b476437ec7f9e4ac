package slackui

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in   string
		want Command
	}{
		{"", Command{Kind: CommandHelp}},
		{"   \t ", Command{Kind: CommandHelp}},
		{"help", Command{Kind: CommandHelp}},
		{"HELP me please", Command{Kind: CommandHelp}},
		{"score acme.com", Command{Kind: CommandScore, Target: "acme.com", TargetKind: TargetDomain, Raw: "acme.com"}},
		{"  Score   WWW.Acme.COM  ", Command{Kind: CommandScore, Target: "acme.com", TargetKind: TargetDomain, Raw: "WWW.Acme.COM"}},
		{"score <http://acme.com|acme.com>", Command{Kind: CommandScore, Target: "acme.com", TargetKind: TargetDomain, Raw: "http://acme.com"}},
		{"score https://www.acme.co.uk/pricing?x=1", Command{Kind: CommandScore, Target: "acme.co.uk", TargetKind: TargetDomain, Raw: "https://www.acme.co.uk/pricing?x=1"}},
		{"score Bob@Acme.com", Command{Kind: CommandScore, Target: "bob@acme.com", TargetKind: TargetEmail, Raw: "Bob@Acme.com"}},
		{"score <mailto:bob@acme.com|bob@acme.com>", Command{Kind: CommandScore, Target: "bob@acme.com", TargetKind: TargetEmail, Raw: "bob@acme.com"}},
		{"score acct_42", Command{Kind: CommandScore, Target: "acct_42", TargetKind: TargetAccountID, Raw: "acct_42"}},
		{"score 0012345", Command{Kind: CommandScore, Target: "0012345", TargetKind: TargetAccountID, Raw: "0012345"}},
		{"score 1.2.3", Command{Kind: CommandScore, Target: "1.2.3", TargetKind: TargetAccountID, Raw: "1.2.3"}},
		{"score Org-ABC", Command{Kind: CommandScore, Target: "Org-ABC", TargetKind: TargetAccountID, Raw: "Org-ABC"}},
		{"score  Acme   Systems ", Command{Kind: CommandScore, Target: "Acme Systems", TargetKind: TargetName, Raw: "Acme Systems"}},
		{"score Dev's workspace", Command{Kind: CommandScore, Target: "Dev's workspace", TargetKind: TargetName, Raw: "Dev's workspace"}},
		{"top", Command{Kind: CommandTop, N: 10}},
		{"top 5", Command{Kind: CommandTop, N: 5}},
		{"top 5 High", Command{Kind: CommandTop, N: 5, Tier: "high"}},
		{"top high 5", Command{Kind: CommandTop, N: 5, Tier: "high"}},
		{"top hand-raiser", Command{Kind: CommandTop, N: 10, Tier: "hand_raiser"}},
		{"top 25", Command{Kind: CommandTop, N: 25}},
		{"mine", Command{Kind: CommandMine}},
		{"MINE", Command{Kind: CommandMine}},
		{"sla", Command{Kind: CommandSLA, Days: 7}},
		{"sla 30d", Command{Kind: CommandSLA, Days: 30}},
		{"sla 90D", Command{Kind: CommandSLA, Days: 90}},
		{"sla 30d <@U0REP1|bob>", Command{Kind: CommandSLA, Days: 30, UserID: "U0REP1", UserName: "bob"}},
		{"sla <@U0REP1> 7d", Command{Kind: CommandSLA, Days: 7, UserID: "U0REP1"}},
		{"sla @bob.smith", Command{Kind: CommandSLA, Days: 7, UserName: "bob.smith"}},
		{"sla 90d <#C0SDR|sdr-pql>", Command{Kind: CommandSLA, Days: 90, ChannelID: "C0SDR", ChannelName: "sdr-pql"}},
		{"sla <#C0SDR|>", Command{Kind: CommandSLA, Days: 7, ChannelID: "C0SDR"}},
		{"sla #SDR-pql", Command{Kind: CommandSLA, Days: 7, ChannelName: "sdr-pql"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseCommand(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	t.Run("period", func(t *testing.T) {
		c, err := ParseCommand("sla 30d")
		require.NoError(t, err)
		require.Equal(t, 30*24*60*60, int(c.Period().Seconds()))
	})
}

func TestParseCommandErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown subcommand", "scroe acme.com", "unknown subcommand `scroe`"},
		{"score without target", "score", "`score` needs a domain, account name, account id or email"},
		{"score two targets", "score acme.com globex.com", "`score` takes one domain, account id or email (or an account name), got `acme.com globex.com`"},
		{"score huge name", "score Acme " + strings.Repeat("a", 300), "too long for an account name"},
		{"bad email", "score bob@", "`bob@` is not a valid email address"},
		{"bad url", "score http://", "`http://` is not a valid domain"},
		{"huge target", "score " + strings.Repeat("a", 300), "is not a domain, account name, account id or email"},
		{"top zero", "top 0", "between 1 and 25, got `0`"},
		{"top too many", "top 1000", "between 1 and 25, got `1000`"},
		{"top negative", "top -3", "between 1 and 25, got `-3`"},
		{"top overflow", "top 99999999999999999999999", "between 1 and 25"},
		{"top two numbers", "top 5 6", "`top` takes one number"},
		{"top two tiers", "top high mid", "`top` takes one tier"},
		{"top bad tier", "top h!gh", "`h!gh` is not a tier name"},
		{"top three args", "top 5 high now", "`top` takes at most a number and a tier"},
		{"mine with args", "mine please", "`mine` takes no arguments, got `please`"},
		{"bad period", "sla 14d", "the period must be 7d, 30d or 90d, got `14d`"},
		{"bare number period", "sla 30", "the period must be 7d, 30d or 90d, got `30`"},
		{"two periods", "sla 7d 30d", "`sla` takes one period"},
		{"two filters", "sla @bob #sales", "`sla` takes one @user or #channel"},
		{"user group", "sla <!subteam^S123|@sales>", "user groups are not supported"},
		{"junk filter", "sla bob", "`bob` is neither a period"},
		{"malformed mention", "sla <@bob>", "`<@bob>` is neither a period"},
		{"too many sla args", "sla 7d @a @b", "`sla` takes at most a period"},
		{"very long", "score " + strings.Repeat("x", 1000), "too long"},
		{"long multibyte", strings.Repeat("é", 501), "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCommand(tc.in)
			require.Error(t, err)
			var ce *CommandError
			require.True(t, errors.As(err, &ce))
			require.Contains(t, err.Error(), tc.want)
			require.LessOrEqual(t, utf8.RuneCountInString(err.Error()), 200)
		})
	}
}

// FuzzParseCommand checks that no input panics, that accepted commands are
// well formed, and that the help reply for any problem renders within
// Block Kit limits. Seeds live in testdata/fuzz/FuzzParseCommand.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "score acme.com", "score Acme   Systems", "score Dev's workspace", "top 5 high", "sla 30d <@U1|bob>", "sla <#C1|x>", "mine"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseCommand(in)
		if err != nil {
			var ce *CommandError
			if !errors.As(err, &ce) || ce.Problem == "" {
				t.Fatalf("error %v is not a *CommandError with a problem", err)
			}
			if !utf8.ValidString(ce.Problem) || utf8.RuneCountInString(ce.Problem) > 200 {
				t.Fatalf("problem %q is not short valid UTF-8", ce.Problem)
			}
			if verr := ValidateMessage(HelpReply("/pql", ce.Problem).Blocks); verr != nil {
				t.Fatalf("help for %q: %v", in, verr)
			}
			return
		}
		switch c.Kind {
		case CommandHelp, CommandMine:
		case CommandScore:
			if c.Target == "" || c.TargetKind == "" {
				t.Fatalf("score without a target: %+v", c)
			}
		case CommandTop:
			if c.N < 1 || c.N > MaxTopN {
				t.Fatalf("top N out of range: %+v", c)
			}
		case CommandSLA:
			if c.Days != 7 && c.Days != 30 && c.Days != 90 {
				t.Fatalf("sla days: %+v", c)
			}
			if (c.UserID != "" || c.UserName != "") && (c.ChannelID != "" || c.ChannelName != "") {
				t.Fatalf("sla with two filters: %+v", c)
			}
		default:
			t.Fatalf("unknown kind %q", c.Kind)
		}
	})
}

func TestHelp(t *testing.T) {
	goldenReply(t, "help", HelpReply("", ""))
	_, err := ParseCommand("sla 14d <@U1>")
	require.Error(t, err)
	goldenReply(t, "help_with_problem", HelpReply("/leads", err.Error()))
	require.Contains(t, HelpText("/leads", ""), "`/leads score &lt;domain | name | account id | email&gt;`")
	require.Contains(t, HelpText("not a command <!channel>", ""), "`/pql top [N] [tier]`", "a bad command name falls back to /pql")
	require.NotContains(t, HelpText("", "<!channel> `x`"), "<!channel>")
}
