package slackui

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/sla"
)

func TestAlertGolden(t *testing.T) {
	for name, v := range alertCases(t) {
		t.Run(name, func(t *testing.T) {
			goldenReply(t, name, Reply{Text: AlertText(v, now), Blocks: AlertBlocks(v, now)})
		})
	}
}

// TestAlertWithinBlockKitLimits renders every alert case, plus alerts with
// growing numbers of signals and facts, and checks Slack's limits.
func TestAlertWithinBlockKitLimits(t *testing.T) {
	for name, v := range alertCases(t) {
		for _, st := range []State{StateOpen, StateClaimed, StateContacted, StateClosedNotFit} {
			t.Run(fmt.Sprintf("%s/%s", name, st), func(t *testing.T) {
				v := v
				v.State = st
				require.NoError(t, ValidateMessage(AlertBlocks(v, now)))
				require.NoError(t, ValidateMessage(EscalationReply(v, "https://x.slack.com/archives/C1/p1", now).Blocks))
			})
		}
	}
	for _, n := range []int{0, 1, 11, 12, 13, 50, 200, 1000} {
		t.Run(fmt.Sprintf("%d signals", n), func(t *testing.T) {
			v := baseAlert()
			v.Signals = make([]SignalLine, n)
			for i := range v.Signals {
				v.Signals[i] = SignalLine{Name: longString("s", 100+i%200), Points: i%40 - 10, Detail: longString("d", 400)}
			}
			v.Fit = make([]Fact, n)
			for i := range v.Fit {
				v.Fit[i] = Fact{Label: longString("l", 100), Value: longString("v", 1000)}
			}
			blocks := AlertBlocks(v, now)
			require.NoError(t, ValidateMessage(blocks))
			text := sectionText(t, blocks, "*Why now*")
			if n > maxAlertSignals {
				require.Contains(t, text, "more (")
			}
		})
	}
}

func sectionText(t *testing.T, blocks []slack.Block, prefix string) string {
	t.Helper()
	for _, b := range blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil && strings.HasPrefix(s.Text.Text, prefix) {
			return s.Text.Text
		}
	}
	t.Fatalf("no section starting with %q", prefix)
	return ""
}

func actionsOf(blocks []slack.Block) *slack.ActionBlock {
	for _, b := range blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			return a
		}
	}
	return nil
}

func TestAlertButtonsByState(t *testing.T) {
	cases := alertCases(t)
	tests := []struct {
		name    string
		view    AlertView
		actions []string
	}{
		{"open", cases["alert_open"], []string{ActionClaim, ActionNotFit}},
		{"empty state is open", func() AlertView { v := cases["alert_open"]; v.State = ""; return v }(), []string{ActionClaim, ActionNotFit}},
		{"breached open keeps claim", cases["alert_breached"], []string{ActionClaim, ActionNotFit}},
		{"claimed", cases["alert_claimed"], []string{ActionContacted, ActionRelease}},
		{"contacted", cases["alert_contacted_within"], nil},
		{"not fit", cases["alert_not_fit"], nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := actionsOf(AlertBlocks(tc.view, now))
			if tc.actions == nil {
				require.Nil(t, a)
				return
			}
			require.NotNil(t, a)
			require.Equal(t, BlockID(BlockActions, tc.view.AlertID), a.BlockID)
			var got []string
			for _, e := range a.Elements.ElementSet {
				b := e.(*slack.ButtonBlockElement)
				require.Equal(t, tc.view.AlertID, b.Value, "button value is the alert id")
				got = append(got, b.ActionID)
			}
			require.Equal(t, tc.actions, got)
			require.Equal(t, slack.StylePrimary, a.Elements.ElementSet[0].(*slack.ButtonBlockElement).Style)
		})
	}
}

func TestAlertStatusLines(t *testing.T) {
	cases := alertCases(t)
	tests := []struct {
		name string
		want string
	}{
		{"alert_open", "🟢 *Open* · due <!date^1795528800^{ago}|in 22 h>"},
		{"alert_claimed", "🙋 *Claimed* by <@U0REP1> 35 min after the alert"},
		{"alert_contacted_within", "✅ *Contacted* by <@U0REP1> 3 h 12 min after the alert — within SLA"},
		{"alert_contacted_over", "✅ *Contacted* by <@U0REP1> 6 h after the alert — *2 h over SLA*"},
		{"alert_not_fit", "🚫 *Closed* as not a fit by <@U0REP2>: competitor"},
		{"alert_breached", "🚨 *SLA breached* <!date^1795528800^{ago}|"},
		{"alert_breached_claimed", "🚨 *SLA breached* <!date^1795446000^{ago}|1 h ago> · claimed by <@U0REP1>, not contacted yet"},
		{"alert_open_business_time", "· reminder sent"},
		{"alert_hand_raiser", "🟢 *Open* · due <!date^1795456800^{ago}|in 2 h> — <!date^1795456800^{date_short_pretty} {time}|2026-11-23 18:00 UTC>\n<!subteam^S0AEGROUP>"},
		{"alert_moved", "➡️ *Moved* to <#C0HANDRS1> after a hand-raise"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := json.Marshal(slack.Blocks{BlockSet: AlertBlocks(cases[tc.name], now)})
			require.NoError(t, err)
			var decoded any
			require.NoError(t, json.Unmarshal(raw, &decoded))
			require.Contains(t, allText(decoded), tc.want)
			// The status is the first thing under the header.
			require.Contains(t, AlertBlocks(cases[tc.name], now)[1].(*slack.SectionBlock).Text.Text, tc.want)
		})
	}
	t.Run("contacted over SLA in business hours counts business time", func(t *testing.T) {
		v := baseAlert()
		v.Hours = officeHours(t)
		v.SLA = 4 * time.Hour
		fri := time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC) // Friday 15:00 New York
		v.PostedAt, v.DueAt = fri, sla.Deadline(fri, v.SLA, v.Hours)
		v.State, v.ContactedBy = StateContacted, "U0REP1"
		v.ContactedAt = time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC) // Monday 12:00: 3 h Friday + 3 h Monday
		require.Contains(t, StatusLine(v.Status(), now), "6 h after the alert — *2 h over SLA*")
	})
	t.Run("done alerts collapse to header, status and one summary line", func(t *testing.T) {
		for _, name := range []string{"alert_contacted_within", "alert_contacted_over", "alert_not_fit", "alert_moved"} {
			blocks := AlertBlocks(cases[name], now)
			require.Len(t, blocks, 3, name)
			require.Nil(t, actionsOf(blocks), name)
		}
		require.Contains(t, AlertBlocks(cases["alert_moved"], now)[2].(*slack.ContextBlock).ContextElements.Elements[0].(*slack.TextBlockObject).Text,
			"Hiro Walsh (IT Administrator) requested sales contact · high · score 82 · SDR · #sdr-pql")
	})
	t.Run("mention only while open", func(t *testing.T) {
		claimed := cases["alert_hand_raiser_claimed"]
		raw, err := json.Marshal(slack.Blocks{BlockSet: AlertBlocks(claimed, now)})
		require.NoError(t, err)
		require.NotContains(t, string(raw), "subteam")
		require.NotContains(t, AlertText(claimed, now), "subteam")
	})
}

// allText concatenates every "text" string in decoded block JSON.
func allText(v any) string { return texts(v, false) }

// mrkdwnText concatenates the text of every mrkdwn object: the only text
// Slack parses for mentions and links (plain_text is shown verbatim).
func mrkdwnText(v any) string { return texts(v, true) }

func texts(v any, mrkdwnOnly bool) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "text" && (!mrkdwnOnly || v["type"] == "mrkdwn") {
					b.WriteString(s + "\n")
				} else {
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return b.String()
}

func TestSignalsSortedLargestFirst(t *testing.T) {
	text := sectionText(t, AlertBlocks(baseAlert(), now), "*Why now*")
	var order []string
	for _, l := range strings.Split(text, "\n")[1:] {
		order = append(order, strings.SplitN(strings.TrimPrefix(l, "• *"), "*", 2)[0])
	}
	require.Equal(t, []string{"+25", "+20", "+20", "+12", "+10", "+10", "-15"}, order)
	require.Contains(t, text, "• *+20* Pricing page 2+ visits — 3× page Pricing in 7 days\n• *+20* Teammates invited")
}

func TestTruncationSummarisesTheRest(t *testing.T) {
	v := baseAlert()
	v.Signals = nil
	for i := range 30 {
		v.Signals = append(v.Signals, SignalLine{Name: fmt.Sprintf("Signal %02d", i), Points: 30 - i})
	}
	text := sectionText(t, AlertBlocks(v, now), "*Why now*")
	require.Contains(t, text, "• *+30* Signal 00")
	require.Contains(t, text, "• *+19* Signal 11")
	require.NotContains(t, text, "Signal 12")
	// 18 more signals worth 18+17+...+1 = 171 points
	require.True(t, strings.HasSuffix(text, "_+18 more (+171 points)_"), text)
}

// TestHostileTextCannotMention feeds mention and link syntax through every
// user-supplied field: none of it may survive as Slack markup.
func TestHostileTextCannotMention(t *testing.T) {
	evil := "<!channel> <@U999> <!here|x> <https://evil.example|click> &amp; *bold*"
	v := baseAlert()
	v.AccountName, v.Domain, v.Segment, v.OwnerRole, v.ModelVersion = evil, evil, evil, evil, evil
	v.AccountURL = "https://evil.example|x><!channel>"
	v.Signals = []SignalLine{{Name: evil, Detail: evil, Points: 5}}
	v.Fit = []Fact{{Label: evil, Value: evil}}
	v.State, v.ClaimedBy = StateClaimed, "<!channel>"
	v.Channel = evil

	check := func(t *testing.T, s string) {
		t.Helper()
		for _, bad := range []string{"<!channel>", "<@U999>", "<!here", "<https://evil", "|x>"} {
			require.NotContains(t, s, bad)
		}
	}
	raw, err := json.Marshal(slack.Blocks{BlockSet: AlertBlocks(v, now)})
	require.NoError(t, err)
	var decoded any
	require.NoError(t, json.Unmarshal(raw, &decoded))
	check(t, mrkdwnText(decoded))
	check(t, AlertText(v, now))
	check(t, NudgeText(v, now))
	check(t, UpgradeText(Upgrade{FromTier: evil, ToTier: evil, HandRaise: evil, NewSignals: v.Signals}))
	check(t, AlreadyClaimedText(evil))
	check(t, NotOwnerText(evil))
	esc := EscalationReply(v, evil, now)
	raw, err = json.Marshal(slack.Blocks{BlockSet: esc.Blocks})
	require.NoError(t, err)
	check(t, string(raw))
	check(t, esc.Text)
}

func TestThreadTexts(t *testing.T) {
	cases := alertCases(t)
	tests := []struct {
		name, got, want string
	}{
		{"upgrade tier", UpgradeText(Upgrade{FromTier: "mid", ToTier: "high", FromScore: 55, ToScore: 78}),
			"⬆️ Moved up from *mid* (55) to *high* (78)"},
		{"upgrade hand-raise with new signals", UpgradeText(Upgrade{FromTier: "high", ToTier: "hand_raiser", FromScore: 78, ToScore: 98, HandRaise: "Demo Requested",
			NewSignals: []SignalLine{{Name: "Pricing page 2+ visits", Points: 20, Detail: "2× page Pricing in 7 days"}}}),
			"✋ Hand-raise: *Demo Requested* — now *hand-raiser* (score 98)\nNew since the alert:\n• *+20* Pricing page 2+ visits — 2× page Pricing in 7 days"},
		{"nudge unclaimed", NudgeText(cases["alert_open"], posted.Add(18*time.Hour)),
			"⏰ *Acme Inc*: nobody has claimed this yet — 6 h left on the 24 h SLA (due <!date^1795528800^{date_short_pretty} {time}|2026-11-24 14:00 UTC>)."},
		{"nudge in business hours", NudgeText(cases["alert_open_business_time"], posted.Add(18*time.Hour)),
			"⏰ *Acme Inc*: nobody has claimed this yet — 15 h left on the 24 h SLA (due <!date^1795636800^{date_short_pretty} {time}|2026-11-25 20:00 UTC>)."},
		{"nudge claimed", NudgeText(cases["alert_claimed"], posted.Add(18*time.Hour)),
			"⏰ *Acme Inc*: claimed by <@U0REP1> but not contacted yet — 6 h left on the 24 h SLA (due <!date^1795528800^{date_short_pretty} {time}|2026-11-24 14:00 UTC>)."},
		{"nudge late", NudgeText(cases["alert_open"], posted.Add(25*time.Hour)),
			"⏰ *Acme Inc*: nobody has claimed this yet — the 24 h SLA ran out <!date^1795528800^{date_short_pretty} {time}|2026-11-24 14:00 UTC>."},
		{"nudge with the route's mention", NudgeText(cases["alert_hand_raiser"], posted.Add(3*time.Hour)),
			"<!subteam^S0AEGROUP> ⏰ *Ember Motors (Hiro Walsh)*: nobody has claimed this yet — 1 h left on the 4 h SLA (due <!date^1795456800^{date_short_pretty} {time}|2026-11-23 18:00 UTC>)."},
		{"already claimed", AlreadyClaimedText("U0REP1"), "Already claimed by <@U0REP1>."},
		{"not owner", NotOwnerText("U0REP1"), "Only <@U0REP1>, who claimed this alert, can do that."},
		{"not owner without id", NotOwnerText(""), "Only someone, who claimed this alert, can do that."},
		{"not fit question", NotFitReasonText("Acme <Inc>"), "Why is Acme &lt;Inc&gt; not a fit?"},
		{"alert text open", AlertText(cases["alert_open"], now), "🔥 Acme Inc — Dana Lee (Head of Operations) completed workflow · score 82 · SDR · due Tue 2:00 PM UTC"},
		{"alert text breached", AlertText(cases["alert_breached"], now), "🔥 Acme Inc — Dana Lee (Head of Operations) completed workflow · score 82 · SDR · SLA breached"},
		{"alert text claimed", AlertText(cases["alert_claimed"], now), "🔥 Acme Inc — Dana Lee (Head of Operations) completed workflow · score 82 · SDR · claimed by <@U0REP1> · due Tue 2:00 PM UTC"},
		{"alert text minimal", AlertText(cases["alert_minimal"], now), "📈 acct\u200b_\u200bmin — mid PQL · score 50"},
		{"alert text hand-raiser", AlertText(cases["alert_hand_raiser"], posted), "✋ Ember Motors — Hiro Walsh (IT Administrator) requested sales contact · score 35 · was 10 at alert · AE · due 1:00 PM EST <!subteam^S0AEGROUP>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.got)
			require.NotContains(t, strings.ReplaceAll(tc.got, "<@U0REP1>", ""), "<@", "only the claimant may be mentioned")
			require.NotContains(t, tc.got, "<!channel>")
			require.NotContains(t, tc.got, "<!here>")
		})
	}
	t.Run("upgrade never mentions", func(t *testing.T) {
		require.NotContains(t, UpgradeText(Upgrade{HandRaise: "x", NewSignals: []SignalLine{{Name: "<@U1>"}}}), "<@")
	})
}

func TestEscalationGolden(t *testing.T) {
	cases := alertCases(t)
	claimed := cases["alert_breached_claimed"]
	goldenReply(t, "escalation_claimed", EscalationReply(claimed, "https://acme.slack.com/archives/C0SDR/p1779544800000100", now))
	open := cases["alert_breached"]
	open.Channel = "C0123SDR"
	goldenReply(t, "escalation_unclaimed", EscalationReply(open, "", posted.Add(26*time.Hour)))
	// Edited in place once the alert is resolved after the breach.
	resolved := cases["alert_contacted_over"]
	goldenReply(t, "escalation_resolved", EscalationReply(resolved, "https://acme.slack.com/archives/C0SDR/p1779544800000100", posted.Add(7*time.Hour)))
	require.Contains(t, EscalationReply(resolved, "", now).Text, "Resolved after an SLA breach: Acme Inc")
}

// escalationGroup is three overnight breaches sharing the Monday 09:00
// deadline, as #sales-managers gets them: a hand-raiser nobody claimed, an
// SDR alert claimed but not contacted, and an enterprise alert.
func escalationGroup(t *testing.T) ([]AlertView, []string) {
	due := posted // Monday 09:00 in New York
	ember := handRaiserAlert(t)
	ember.PostedAt, ember.DueAt, ember.Breached = due.Add(-4*time.Hour), due, true
	acme := baseAlert()
	acme.PostedAt, acme.DueAt, acme.Breached = due.Add(-24*time.Hour), due, true
	acme.State, acme.ClaimedBy, acme.ClaimedAt = StateClaimed, "U0REP1", due.Add(30*time.Minute)
	globex := baseAlert()
	globex.AccountID, globex.AccountName, globex.Domain, globex.AccountURL = "acct_7", "Globex", "globex.com", ""
	globex.Tier, globex.Score, globex.Segment, globex.OwnerRole, globex.Channel = "high", 91, "enterprise", "AE", "#ae-enterprise"
	globex.PostedAt, globex.DueAt, globex.Breached = due.Add(-24*time.Hour), due, true
	globex.People = []people.Person{{UserID: "u-priya", Name: "Priya Nair", Title: "VP Engineering", Email: "priya@globex.com",
		Action: "Teammate Invited", ActionKind: people.ActionTrack, ActionAt: due.Add(-15 * time.Hour), Events: 12}}
	links := []string{
		"https://acme.slack.com/archives/C0AEHAND/p1795352400000100",
		"https://acme.slack.com/archives/C0SDR/p1795359600000200",
		"https://acme.slack.com/archives/C0AEENT/p1795359600000300",
	}
	return []AlertView{ember, acme, globex}, links
}

// Breaches due in the same minute are one post, edited as each resolves.
func TestEscalationGroupGolden(t *testing.T) {
	vs, links := escalationGroup(t)
	breached := EscalationGroupReply(vs, links, now)
	goldenReply(t, "escalation_group_breached", breached)
	require.Equal(t, "SLA breached: 3 alerts — Ember Motors, Acme Inc, Globex", breached.Text)

	// Acme is contacted late; Ember and Globex still wait, listed first.
	vs[1].State, vs[1].ContactedBy, vs[1].ContactedAt = StateContacted, "U0REP1", now.Add(-30*time.Minute)
	partly := EscalationGroupReply(vs, links, now)
	goldenReply(t, "escalation_group_partly", partly)
	require.Equal(t, "SLA breached: 3 alerts, 2 still waiting — Ember Motors, Globex, Acme Inc", partly.Text)

	vs[0].State, vs[0].ContactedBy, vs[0].ContactedAt = StateContacted, "U0AE7", now.Add(-10*time.Minute)
	vs[2].State, vs[2].ClosedBy, vs[2].CloseReason = StateClosedNotFit, "U0AE9", closereason.ExistingCustomer
	resolved := EscalationGroupReply(vs, links, now)
	goldenReply(t, "escalation_group_resolved", resolved)
	require.True(t, strings.HasPrefix(resolved.Text, "Resolved after an SLA breach: 3 alerts"), resolved.Text)
}

// A flood of breaches in one minute stays one valid message.
func TestEscalationGroupWithinBlockKitLimits(t *testing.T) {
	base, _ := escalationGroup(t)
	for _, n := range []int{2, 44, 45, 46, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			vs := make([]AlertView, n)
			for i := range vs {
				vs[i] = base[i%len(base)]
				vs[i].AccountName = longString("Account", 300)
			}
			r := EscalationGroupReply(vs, nil, now)
			require.NoError(t, ValidateMessage(r.Blocks))
			if listed := len(r.Blocks) - 1; listed < n {
				listed-- // the "+N more" line
				require.Contains(t, blockJSON(r.Blocks[len(r.Blocks)-1]), fmt.Sprintf("+%d more", n-listed))
			}
		})
	}
}

func blockJSON(b slack.Block) string {
	bs, _ := json.Marshal(b)
	return string(bs)
}

func TestNotFitReasons(t *testing.T) {
	blocks := NotFitReasonBlocks("alert-1", "Acme Inc")
	require.NoError(t, ValidateMessage(blocks))
	goldenReply(t, "not_fit_reason", Reply{Text: NotFitReasonText("Acme Inc"), Blocks: blocks})
	a := actionsOf(blocks)
	require.Equal(t, "pql_not_fit_reason:alert-1", a.BlockID)
	sel := a.Elements.ElementSet[0].(*slack.SelectBlockElement)
	require.Equal(t, ActionNotFitReason, sel.ActionID)
	var codes []string
	for _, o := range sel.Options {
		r, ok := closereason.ParseNotFit(o.Value)
		require.True(t, ok)
		require.Equal(t, r.Label(), o.Text.Text)
		codes = append(codes, o.Value)
	}
	require.Equal(t, []string{"too_small", "student_personal", "competitor", "existing_customer", "other"}, codes)
	_, ok := closereason.ParseNotFit("bogus")
	require.False(t, ok)
	require.Equal(t, "legacy_code", closereason.Reason("legacy_code").Label())
}

func TestBlockIDs(t *testing.T) {
	p, id, ok := ParseBlockID(BlockID(BlockActions, "a:b"))
	require.True(t, ok)
	require.Equal(t, BlockActions, p)
	require.Equal(t, "a:b", id)
	for _, bad := range []string{"", "pql_actions", "pql_actions:", ":x"} {
		_, _, ok := ParseBlockID(bad)
		require.False(t, ok, bad)
	}
}

// TestBlockActionRoundTrip checks what the interactions handler will see:
// a click on a rendered button, as Slack sends it, parses as a block action
// carrying our block id, action id and alert id.
func TestBlockActionRoundTrip(t *testing.T) {
	v := baseAlert()
	blocks := AlertBlocks(v, now)
	a := actionsOf(blocks)
	btn := a.Elements.ElementSet[0].(*slack.ButtonBlockElement)
	payload := map[string]any{
		"type":    "block_actions",
		"user":    map[string]any{"id": "U0REP1"},
		"channel": map[string]any{"id": "C0SDR"},
		"message": map[string]any{"ts": "1779544800.000100", "blocks": blocks},
		"actions": []any{map[string]any{
			"type": "button", "block_id": a.BlockID, "action_id": btn.ActionID, "value": btn.Value, "action_ts": "1779546000.1",
		}},
	}
	raw, err := json.Marshal(payload)
	require.NoError(t, err)
	var cb slack.InteractionCallback
	require.NoError(t, json.Unmarshal(raw, &cb))
	require.Len(t, cb.ActionCallback.BlockActions, 1)
	got := cb.ActionCallback.BlockActions[0]
	require.Equal(t, ActionClaim, got.ActionID)
	require.Equal(t, v.AlertID, got.Value)
	_, id, ok := ParseBlockID(got.BlockID)
	require.True(t, ok)
	require.Equal(t, v.AlertID, id)
	require.Len(t, cb.Message.Blocks.BlockSet, len(blocks), "rendered blocks survive slack-go's decoder")
}

func BenchmarkAlertBlocks(b *testing.B) {
	v := baseAlert()
	for b.Loop() {
		AlertBlocks(v, now)
	}
}

func BenchmarkParseCommand(b *testing.B) {
	for b.Loop() {
		_, _ = ParseCommand("sla 30d <@U0REP1|bob>")
	}
}
