package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/program"
	"github.com/pqlbot/pqlbot/internal/sla"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

// The App Home, for whoever opens it (see slackui.HomeView). It is built
// from the same store reads as the slash commands and re-published after
// each click made in it.

// HomeSection is a further section of the App Home (program figures, ...):
// its blocks for userID at now. A section that fails is left out and
// logged; the rest of the Home is still published.
type HomeSection interface {
	HomeBlocks(ctx context.Context, userID string, now time.Time) ([]slack.Block, error)
}

// HomeView builds userID's App Home: their claimed, uncontacted alerts
// (Mark contacted / Release), the open alerts nobody claimed (Claim), the
// SLA figures for 7 and 30 days side by side with the rep table, the open
// breaches with an assign picker, the PQL program section, then
// s.HomeSections. notice, when set, is
// shown first (what became of the user's last click).
func (s *Service) HomeView(ctx context.Context, userID, notice string) (slack.HomeTabViewRequest, error) {
	now := s.now()
	bh := alerting.Hours(s.Model)
	alerts30, err := s.Store.PostedAlerts(ctx, now.Add(-30*day), now, Filter{}, SLARowLimit)
	if err != nil {
		return slack.HomeTabViewRequest{}, fmt.Errorf("alerts of the last 30 days: %w", err)
	}
	from7 := now.Add(-7 * day)
	var alerts7 []AlertRow
	for _, a := range alerts30 {
		if !a.PostedAt.Before(from7) {
			alerts7 = append(alerts7, a)
		}
	}
	mine, err := s.Store.ClaimedAlerts(ctx, userID)
	if err != nil {
		return slack.HomeTabViewRequest{}, fmt.Errorf("claimed alerts of %s: %w", userID, err)
	}
	overdueRows, err := s.Store.OverdueAlerts(ctx, now, HomeListLimit)
	if err != nil {
		return slack.HomeTabViewRequest{}, fmt.Errorf("open breaches: %w", err)
	}
	unclaimedRows, err := s.Store.UnclaimedAlerts(ctx, HomeListLimit)
	if err != nil {
		return slack.HomeTabViewRequest{}, fmt.Errorf("unclaimed alerts: %w", err)
	}

	d := slackui.HomeData{Now: now, UserID: userID, Notice: notice, BusinessHours: hoursWords(s.Model)}
	sortByDue(mine)
	for _, a := range mine {
		if len(d.Yours) == HomeListShown {
			break
		}
		ha, err := s.homeAlert(ctx, a, now, bh)
		if err != nil {
			return slack.HomeTabViewRequest{}, err
		}
		d.Yours = append(d.Yours, ha)
	}
	for _, a := range unclaimedRows {
		// A breached alert is listed once, with the breaches.
		if overdue(&a, now) {
			continue
		}
		if len(d.Open) == HomeListShown {
			break
		}
		ha, err := s.homeAlert(ctx, a, now, bh)
		if err != nil {
			return slack.HomeTabViewRequest{}, err
		}
		d.Open = append(d.Open, ha)
	}
	for _, a := range overdueRows {
		d.Breaches = append(d.Breaches, breachRow(a, now, bh, s.permalink))
	}
	sortBreaches(d.Breaches)
	r7 := Report(alerts7, now, 7, bh, s.Model, s.permalink)
	r30 := Report(alerts30, now, 30, bh, s.Model, s.permalink)
	d.Figures = []slackui.FigureColumn{{Label: "Last 7 d", Stats: r7.Totals}, {Label: "Last 30 d", Stats: r30.Totals}}
	d.Reps = r30.Reps
	sections := append([]HomeSection{programHome{s}}, s.HomeSections...)
	for _, sec := range sections {
		blocks, err := sec.HomeBlocks(ctx, userID, now)
		if err != nil {
			s.log().Error("app home section failed", "user_id", userID, "err", err)
			continue
		}
		if len(blocks) > 0 {
			d.More = append(d.More, blocks)
		}
	}
	return slackui.HomeView(d), nil
}

// programHome is the Home's "PQL program" section: the last 30 days'
// program figures (see /pql stats).
type programHome struct{ s *Service }

func (p programHome) HomeBlocks(ctx context.Context, _ string, now time.Time) ([]slack.Block, error) {
	fig, err := p.s.ProgramFigures(ctx, program.PeriodFor(program.Period30d, now))
	if err != nil {
		return nil, err
	}
	return slackui.ProgramHomeSection(fig), nil
}

// HomeListShown is how many of a Home list are looked up in full (with the
// person to contact); the view shows fewer still.
const HomeListShown = 25

func (s *Service) homeAlert(ctx context.Context, a AlertRow, now time.Time, bh *sla.BusinessHours) (slackui.HomeAlert, error) {
	ha := slackui.HomeAlert{
		AlertID: a.ID.String(), AccountID: a.AccountID, AccountName: a.AccountName, Domain: a.Domain,
		Tier: a.Tier, Score: a.Score, Channel: channelOf(a), PostedAt: a.PostedAt, DueAt: a.DueAt,
		Permalink: s.permalink(a.ChannelID, a.MessageTS),
	}
	if !a.PostedAt.IsZero() {
		ha.Waiting = sla.Elapsed(a.PostedAt, now, bh)
	}
	if !a.DueAt.IsZero() {
		ha.Left = sla.Remaining(now, a.DueAt, bh)
	}
	p, err := s.firstPerson(ctx, a.AccountID, now)
	if err != nil {
		return ha, err
	}
	ha.Person = p
	return ha, nil
}

// firstPerson is who to contact first at an account (the hand-raiser when
// there is one), nil when nobody is known.
func (s *Service) firstPerson(ctx context.Context, accountID string, now time.Time) (*people.Person, error) {
	q := people.For(s.Model, accountID, now)
	q.Limit = 1
	ps, err := s.Store.People(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("people of %s: %w", accountID, err)
	}
	if len(ps) == 0 {
		return nil, nil
	}
	return &ps[0], nil
}

// hoursWords describes the SLA clock for people: "Mon–Fri 09:00–18:00
// America/New_York"; "" for wall-clock SLAs.
func hoursWords(m *model.Model) string {
	bh := m.BusinessHours
	if bh == nil || bh.Location == nil {
		return ""
	}
	days := make([]string, len(bh.Days))
	for i, d := range bh.Days {
		days[i] = d.String()[:3]
	}
	ds := strings.Join(days, ", ")
	if len(days) == 5 && bh.Days[0] == time.Monday && bh.Days[4] == time.Friday {
		ds = "Mon–Fri"
	}
	return fmt.Sprintf("%s %02d:%02d–%02d:%02d %s", ds, bh.From/60, bh.From%60, bh.To/60, bh.To%60, bh.Timezone)
}

// PublishHome builds the App Home and publishes it to userID's Home tab.
func (s *Service) PublishHome(ctx context.Context, userID string) error {
	return s.PublishHomeNotice(ctx, userID, "")
}

// PublishHomeNotice publishes userID's App Home with notice shown first
// (after a click in the Home: the Home has no ephemeral replies).
func (s *Service) PublishHomeNotice(ctx context.Context, userID, notice string) error {
	if s.Publisher == nil {
		return fmt.Errorf("publish home for %s: no Slack client configured", userID)
	}
	view, err := s.HomeView(ctx, userID, notice)
	if err != nil {
		return fmt.Errorf("home view for %s: %w", userID, err)
	}
	if err := s.Publisher.PublishHome(ctx, userID, view); err != nil {
		return fmt.Errorf("publish home for %s: %w", userID, err)
	}
	return nil
}
