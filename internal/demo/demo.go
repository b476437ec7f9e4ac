// Package demo generates pqlbot's bundled demo dataset: a deterministic,
// realistic month of product usage for about 200 B2B accounts, shaped so
// that the built-in example model (SPEC §4) has something to say about each
// kind of account a RevOps team meets: hand-raisers, strong and weak
// trials, sign-ups with personal email, companies too small to sell to, a
// support-heavy account, paying customers and trials that went quiet.
//
// Generation is pure: the same Options (seed, now, size) always give the
// same Dataset, message ids included, so replaying it twice into pqlbot is
// idempotent. cmd/pqldemo sends it through the real Segment client.
package demo

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/analytics-go/v3"
)

// Category is the kind of account, i.e. the story the demo tells with it.
type Category string

// The categories, each with what the example model should make of it.
const (
	// HandRaiser asked for sales (Demo Requested, Upgrade Started, Sales
	// Contact Requested): tier hand_raiser, routed to #ae-hand-raisers.
	HandRaiser Category = "hand_raiser"
	// StrongTrial does everything the model rewards in the last week: high tier.
	StrongTrial Category = "strong_trial"
	// PromisingTrial uses the core workflow with a team and real data, but
	// has not invited anyone lately, looked at pricing or connected
	// production: tier mid, which the example model does not notify.
	PromisingTrial Category = "promising_trial"
	// WeakTrial signed up and poked around: below the alerting tiers.
	WeakTrial Category = "weak_trial"
	// PersonalEmail signed up with gmail.com addresses: fails the email gate
	// however active it is.
	PersonalEmail Category = "personal_email"
	// TinyCompany has fewer than 10 employees: fails the employees gate.
	TinyCompany Category = "tiny_company"
	// SupportHeavy is active but opened 3+ tickets this week: the negative
	// signal takes points off.
	SupportHeavy Category = "support_heavy"
	// PaidCustomer is already on plan "paid": suppressed.
	PaidCustomer Category = "paid_customer"
	// Dormant was strong weeks ago and silent since: outside recency_days.
	Dormant Category = "dormant"
)

// Categories lists every category in a fixed order.
var Categories = []Category{HandRaiser, StrongTrial, PromisingTrial, WeakTrial, PersonalEmail, TinyCompany, SupportHeavy, PaidCustomer, Dormant}

// share is each category's part of the accounts, in thousandths; the rest
// go to WeakTrial, the most common kind of sign-up.
var share = map[Category]int{
	HandRaiser: 60, StrongTrial: 150, PromisingTrial: 50, PersonalEmail: 100, TinyCompany: 100,
	SupportHeavy: 15, PaidCustomer: 75, Dormant: 100,
}

// Size is the company size band, matching the example model's segments.
type Size string

// Size bands by employees.
const (
	Enterprise Size = "enterprise" // 500 and more
	MidMarket  Size = "mid_market" // 50 to 499
	SMB        Size = "smb"        // 10 to 49
	Tiny       Size = "tiny"       // under 10: below the fit gate
)

// Message types, as in the Segment spec.
const (
	TypeIdentify = "identify"
	TypeGroup    = "group"
	TypeTrack    = "track"
	TypePage     = "page"
)

// The event and page names of the example model, plus the plan values.
const (
	EventWorkflowCompleted    = "Workflow Completed"
	EventTeammateInvited      = "Teammate Invited"
	EventRecordsImported      = "Records Imported"
	EventIntegrationConnected = "Integration Connected"
	EventTicketOpened         = "Ticket Opened"
	EventDemoRequested        = "Demo Requested"
	EventUpgradeStarted       = "Upgrade Started"
	EventSalesContact         = "Sales Contact Requested"
	PagePricing               = "Pricing"

	PlanTrial = "trial"
	PlanFree  = "free"
	PlanPaid  = "paid"
)

// Events the model does not score: everyday product noise.
var (
	noiseEvents = []string{"Report Viewed", "Project Created", "Search Performed", "Dashboard Shared", "Export Downloaded"}
	noisePages  = []string{"Dashboard", "Docs", "Settings", "Integrations", "Changelog"}
)

// Options say what to generate.
type Options struct {
	// Seed makes the dataset; the same seed gives the same accounts, events
	// and message ids.
	Seed uint64
	// Now is the end of the dataset: every timestamp is before it.
	Now time.Time
	// Accounts is how many accounts to make (0: 200). At least one per category.
	Accounts int
	// Days is how far back activity goes (0: 30). At least 21, so that
	// dormant accounts can be active and then silent for 14 days.
	Days int
}

// User is a person in an account.
type User struct {
	ID    string
	Email string
	Name  string
	Title string
}

// Account is one generated company (or personal workspace).
type Account struct {
	ID        string
	Name      string
	Domain    string
	Employees int
	Industry  string
	Plan      string
	Category  Category
	Size      Size
	Users     []User
}

// Message is one Segment call, independent of any client library.
type Message struct {
	Type      string
	MessageID string
	UserID    string
	// GroupID is the account: the group call's groupId, and context.groupId
	// on track and page calls.
	GroupID string
	// Name is the track event or the page name.
	Name       string
	Timestamp  time.Time
	Properties map[string]any
	Traits     map[string]any
}

// Dataset is a generated demo: accounts and their messages in time order.
type Dataset struct {
	Accounts []Account
	Messages []Message
}

// Generate builds the dataset for opts.
func Generate(opts Options) (Dataset, error) {
	if opts.Accounts == 0 {
		opts.Accounts = 200
	}
	if opts.Days == 0 {
		opts.Days = 30
	}
	if opts.Now.IsZero() {
		return Dataset{}, errors.New("demo: Options.Now is required")
	}
	if opts.Accounts < len(Categories) {
		return Dataset{}, fmt.Errorf("demo: %d accounts: need at least %d, one per category", opts.Accounts, len(Categories))
	}
	if opts.Days < 21 {
		return Dataset{}, fmt.Errorf("demo: %d days: need at least 21", opts.Days)
	}
	g := &generator{
		r:    rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15)),
		seed: opts.Seed,
		now:  opts.Now.UTC().Truncate(time.Millisecond),
		days: opts.Days,
	}
	names := g.companyNames(opts.Accounts)
	var ds Dataset
	i := 0
	for _, c := range Categories {
		for k := range categoryCount(c, opts.Accounts) {
			a := g.account(i, k, c, names[i])
			ds.Accounts = append(ds.Accounts, a)
			ds.Messages = append(ds.Messages, g.activity(&a)...)
			i++
		}
	}
	// Time order, as a live product would send them; ties keep generation
	// order (identify before group before the first event).
	slices.SortStableFunc(ds.Messages, func(a, b Message) int { return a.Timestamp.Compare(b.Timestamp) })
	return ds, nil
}

// categoryCount is how many of n accounts fall in c.
func categoryCount(c Category, n int) int {
	if c == WeakTrial {
		rest := n
		for _, o := range Categories {
			if o != WeakTrial {
				rest -= categoryCount(o, n)
			}
		}
		return rest
	}
	return max(1, n*share[c]/1000)
}

type generator struct {
	r    *rand.Rand
	seed uint64
	now  time.Time
	days int
	// seq numbers the current account's messages, for their ids.
	seq int
}

var (
	prefixes = []string{"Acme", "Atlas", "Beacon", "Birch", "Bright", "Cedar", "Cobalt", "Copper", "Delta", "Ember",
		"Falcon", "Granite", "Harbor", "Indigo", "Juniper", "Kestrel", "Lumen", "Maple", "Meridian", "Nimbus",
		"North", "Orbit", "Pine", "Quartz", "River", "Sable", "Summit", "Tidal", "Vertex", "Willow", "Yonder", "Zephyr"}
	suffixes = []string{"Analytics", "Labs", "Logistics", "Health", "Robotics", "Foods", "Systems", "Works",
		"Capital", "Media", "Energy", "Bio", "Security", "Retail", "Cloud", "Freight", "Learning", "Insurance",
		"Studios", "Motors"}
	tlds       = []string{"com", "com", "com", "io", "co"}
	industries = []string{"Software", "Financial Services", "Healthcare", "Retail", "Manufacturing",
		"Logistics", "Education", "Media", "Real Estate", "Insurance"}
	firstNames = []string{"Ada", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
		"Kemi", "Liam", "Maya", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera",
		"Wei", "Ximena", "Yusuf", "Zoe"}
	lastNames = []string{"Abara", "Brandt", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad",
		"Ito", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi",
		"Schmidt", "Tanaka", "Usman", "Varga", "Walsh", "Xu", "Yilmaz", "Zimmer"}
	titles = []string{"Founder", "CTO", "VP Engineering", "Head of Operations", "Data Engineer",
		"Product Manager", "Analyst", "Software Engineer", "Head of RevOps", "IT Administrator"}
)

// companyNames picks n distinct company names.
func (g *generator) companyNames(n int) []string {
	all := make([]string, 0, len(prefixes)*len(suffixes))
	for _, p := range prefixes {
		for _, s := range suffixes {
			all = append(all, p+" "+s)
		}
	}
	g.r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for len(all) < n {
		// More accounts than name pairs: number the extra ones.
		all = append(all, fmt.Sprintf("%s %d", all[len(all)%(len(prefixes)*len(suffixes))], len(all)))
	}
	return all[:n]
}

func (g *generator) pick(list []string) string { return list[g.r.IntN(len(list))] }

// between returns an int in [lo, hi].
func (g *generator) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

// size picks the size band of the k-th account of a category: the first
// two are enterprise and mid-market so every category shows both.
func (g *generator) size(c Category, k int) Size {
	if c == TinyCompany {
		return Tiny
	}
	switch k {
	case 0:
		return Enterprise
	case 1:
		return MidMarket
	}
	switch p := g.r.IntN(100); {
	case p < 15:
		return Enterprise
	case p < 55:
		return MidMarket
	default:
		return SMB
	}
}

func (g *generator) employees(s Size) int {
	switch s {
	case Enterprise:
		return g.between(500, 8000)
	case MidMarket:
		return g.between(50, 499)
	case SMB:
		return g.between(10, 49)
	default:
		return g.between(2, 9)
	}
}

func (g *generator) account(i, k int, c Category, name string) Account {
	a := Account{
		ID:       fmt.Sprintf("acct-%03d", i+1),
		Name:     name,
		Category: c,
		Size:     g.size(c, k),
		Industry: g.pick(industries),
		Plan:     PlanTrial,
	}
	a.Employees = g.employees(a.Size)
	slug := strings.ToLower(strings.ReplaceAll(name, " ", ""))
	a.Domain = slug + "." + g.pick(tlds)
	switch c {
	case PersonalEmail:
		// A personal workspace: the sign-up form still asked for a size.
		a.Domain, a.Plan = "gmail.com", PlanFree
	case PaidCustomer:
		a.Plan = PlanPaid
	}

	var n int
	switch c {
	case StrongTrial, SupportHeavy, PaidCustomer, Dormant:
		n = g.between(3, 8)
	case PromisingTrial:
		n = g.between(3, 5)
	case HandRaiser:
		n = g.between(2, 5)
	case WeakTrial, TinyCompany:
		n = g.between(1, 3)
	case PersonalEmail:
		n = g.between(1, 2)
	}
	used := map[string]bool{}
	for j := range n {
		first, last := g.pick(firstNames), g.pick(lastNames)
		local := strings.ToLower(first + "." + last)
		if c == PersonalEmail {
			local = strings.ToLower(first+last) + fmt.Sprint(g.between(1, 99))
		}
		for used[local] {
			local += fmt.Sprint(j)
		}
		used[local] = true
		a.Users = append(a.Users, User{
			ID:    fmt.Sprintf("%s-u%d", a.ID, j+1),
			Email: local + "@" + a.Domain,
			Name:  first + " " + last,
			Title: g.pick(titles),
		})
	}
	if c == PersonalEmail {
		a.Name = strings.Fields(a.Users[0].Name)[0] + "'s workspace"
	}
	return a
}

// Day spans of the windows, kept a day inside the model's (7, 14, 30 UTC
// calendar days ending today) so a timestamp is inside however the hours fall.
const (
	week    = 6
	twoWeek = 13
	month   = 29
)

// ago is a time between lo and hi days before now (lo ≥ 0), never within
// the last minute, on the millisecond.
func (g *generator) ago(lo, hi float64) time.Time {
	d := lo + g.r.Float64()*(hi-lo)
	t := g.now.Add(-time.Duration(d * float64(24*time.Hour)))
	if limit := g.now.Add(-time.Minute); t.After(limit) {
		t = limit
	}
	return t.Truncate(time.Millisecond)
}

// activity makes every message of one account.
func (g *generator) activity(a *Account) []Message {
	g.seq = 0
	var out []Message
	emit := func(m Message) {
		g.seq++
		m.MessageID = fmt.Sprintf("demo-%d-%s-%04d", g.seed, a.ID, g.seq)
		out = append(out, m)
	}
	track := func(u User, at time.Time, event string, props map[string]any) {
		emit(Message{Type: TypeTrack, UserID: u.ID, GroupID: a.ID, Name: event, Timestamp: at, Properties: props})
	}
	page := func(u User, at time.Time, name string) {
		path := "/" + strings.ToLower(name)
		emit(Message{Type: TypePage, UserID: u.ID, GroupID: a.ID, Name: name, Timestamp: at,
			Properties: map[string]any{"path": path, "url": "https://app.example.com" + path, "title": name}})
	}

	// The account's life: sign-up, and the span its activity covers (in
	// days before now). Dormant accounts stop 16+ days ago.
	days := float64(g.days)
	var signup, lastActive float64
	switch a.Category {
	case Dormant:
		signup, lastActive = days-float64(g.between(1, 7)), 16+g.r.Float64()*2
	case StrongTrial, PromisingTrial, SupportHeavy, PaidCustomer, PersonalEmail, TinyCompany:
		signup, lastActive = 8+g.r.Float64()*(days-9), 0
	default:
		signup, lastActive = 2+g.r.Float64()*(days-3), 0
	}

	// Users join: the first at sign-up, the others before the last week
	// when the account needs 3+ of them active in it.
	joined := make([]time.Time, len(a.Users))
	for j, u := range a.Users {
		at := g.now.Add(-time.Duration(signup * float64(24*time.Hour))).Truncate(time.Millisecond)
		if j > 0 {
			latest := max(lastActive, 0.5)
			if len(a.Users) >= 3 && a.Category != Dormant {
				latest = week + 0.5
			}
			at = g.ago(min(latest, signup), signup)
		}
		joined[j] = at
		emit(Message{Type: TypeIdentify, UserID: u.ID, Timestamp: at,
			Traits: map[string]any{"email": u.Email, "name": u.Name, "title": u.Title}})
		emit(Message{Type: TypeGroup, UserID: u.ID, GroupID: a.ID, Timestamp: at.Add(time.Second),
			Traits: map[string]any{"name": a.Name, "domain": a.Domain, "employees": a.Employees,
				"industry": a.Industry, "plan": a.Plan}})
	}
	// user picks someone who had joined by t; at is clamped after their
	// group call so no event precedes its user's existence.
	user := func(at time.Time) (User, time.Time) {
		var ok []int
		for j, t := range joined {
			if !t.Add(2 * time.Second).After(at) {
				ok = append(ok, j)
			}
		}
		if len(ok) == 0 {
			return a.Users[0], joined[0].Add(2 * time.Second)
		}
		j := ok[g.r.IntN(len(ok))]
		return a.Users[j], at
	}
	// span clamps a [lo, hi] days-ago range to the account's active life.
	span := func(lo, hi float64) (float64, float64) {
		lo, hi = max(lo, lastActive), min(hi, signup)
		if hi < lo {
			hi = lo
		}
		return lo, hi
	}
	some := func(n int, lo, hi float64, f func(User, time.Time)) {
		if max(lo, lastActive) > min(hi, signup) {
			return // the range lies outside the account's life
		}
		lo, hi = span(lo, hi)
		for range n {
			u, at := user(g.ago(lo, hi))
			f(u, at)
		}
	}
	workflow := func(u User, at time.Time) {
		track(u, at, EventWorkflowCompleted, map[string]any{
			"workflow_id": fmt.Sprintf("wf_%d", g.between(1, 40)), "duration_ms": g.between(800, 90000)})
	}
	pricing := func(u User, at time.Time) { page(u, at, PagePricing) }
	invite := func(u User, at time.Time) {
		track(u, at, EventTeammateInvited, map[string]any{"role": g.pick([]string{"member", "admin", "viewer"})})
	}
	records := func(u User, at time.Time, n int) {
		track(u, at, EventRecordsImported, map[string]any{"records": n, "source": g.pick([]string{"csv", "api", "salesforce"})})
	}
	integration := func(u User, at time.Time, kind string) {
		track(u, at, EventIntegrationConnected, map[string]any{"type": kind, "provider": g.pick([]string{"postgres", "snowflake", "mysql", "bigquery"})})
	}
	noise := func(n int) {
		some(n, 0, days, func(u User, at time.Time) {
			if g.r.IntN(2) == 0 {
				track(u, at, g.pick(noiseEvents), nil)
			} else {
				page(u, at, g.pick(noisePages))
			}
		})
	}

	// strong is what the model rewards: in the last week (relative to the
	// end of activity), 3+ workflows by 3+ users, 2+ pricing visits, 2+
	// invites, 100+ records over the month, a production database.
	// core is the usage half of it: 3+ workflows by every user in the
	// week, 100+ records imported over the month.
	core := func(end float64) {
		lo, hi := span(end, end+week)
		// Every user works in the window: that is "3+ active users".
		for j, u := range a.Users {
			if at := g.ago(lo, hi); !joined[j].Add(2 * time.Second).After(at) {
				workflow(u, at)
			}
		}
		some(g.between(3, 9), end, end+week, workflow)
		total := 0
		for total < 100 {
			n := g.between(20, 180)
			total += n
			u, at := user(g.ago(span(end, end+month)))
			records(u, at, n)
		}
	}
	strong := func() {
		end := lastActive
		core(end)
		some(g.between(2, 4), end, end+week, pricing)
		some(g.between(2, 4), end, end+twoWeek, invite)
		u, at := user(g.ago(span(end, end+twoWeek)))
		integration(u, at, "production_database")
	}

	switch a.Category {
	case StrongTrial, PaidCustomer, PersonalEmail, Dormant:
		strong()
		noise(g.between(15, 40))
	case TinyCompany:
		strong()
		noise(g.between(5, 15))
	case SupportHeavy:
		strong()
		some(g.between(3, 6), 0, week, func(u User, at time.Time) {
			track(u, at, EventTicketOpened, map[string]any{
				"priority": g.pick([]string{"high", "urgent", "normal"}),
				"subject":  g.pick([]string{"Import keeps failing", "Workflow stuck", "SSO login error", "API timeouts"})})
		})
		noise(g.between(15, 40))
	case HandRaiser:
		// Moderate use, then an explicit ask for sales in the last few days.
		some(g.between(1, 4), 0, week, workflow)
		some(g.between(0, 2), 0, week, pricing)
		u, at := user(g.ago(0, 4))
		switch g.r.IntN(3) {
		case 0:
			track(u, at, EventDemoRequested, map[string]any{"source": "in_app"})
		case 1:
			track(u, at, EventUpgradeStarted, map[string]any{"plan": "team"})
		default:
			track(u, at, EventSalesContact, map[string]any{"topic": g.pick([]string{"security review", "volume pricing", "SSO"})})
		}
		noise(g.between(5, 20))
	case PromisingTrial:
		// Invites and a pricing look only long enough ago to be out of
		// their windows; a test integration, not production.
		core(0)
		some(g.between(0, 1), 0, week, pricing)
		some(g.between(0, 2), twoWeek+1, days, invite)
		u, at := user(g.ago(span(0, month)))
		integration(u, at, g.pick([]string{"csv_upload", "sandbox_database"}))
		noise(g.between(10, 30))
	case WeakTrial:
		// Thin use spread over the month: at most 2 workflows and one
		// pricing visit in any week, a small import, no production database.
		some(g.between(0, 2), 0, week, workflow)
		some(g.between(0, 3), week+1, days, workflow)
		some(g.between(0, 1), 0, week, pricing)
		if g.r.IntN(2) == 0 {
			u, at := user(g.ago(span(0, month)))
			records(u, at, g.between(5, 60))
		}
		if g.r.IntN(3) == 0 {
			u, at := user(g.ago(span(0, month)))
			integration(u, at, g.pick([]string{"csv_upload", "sandbox_database", "spreadsheet"}))
		}
		noise(g.between(2, 12))
	}
	return out
}

// Segment returns m as an analytics-go message, ready for Client.Enqueue.
// MessageId and Timestamp are set, so the client keeps them.
func (m Message) Segment() (analytics.Message, error) {
	ctx := &analytics.Context{GroupID: m.GroupID}
	switch m.Type {
	case TypeIdentify:
		return analytics.Identify{MessageId: m.MessageID, UserId: m.UserID, Timestamp: m.Timestamp,
			Traits: analytics.Traits(m.Traits)}, nil
	case TypeGroup:
		return analytics.Group{MessageId: m.MessageID, UserId: m.UserID, GroupId: m.GroupID,
			Timestamp: m.Timestamp, Traits: analytics.Traits(m.Traits)}, nil
	case TypeTrack:
		return analytics.Track{MessageId: m.MessageID, UserId: m.UserID, Event: m.Name, Timestamp: m.Timestamp,
			Context: ctx, Properties: analytics.Properties(m.Properties)}, nil
	case TypePage:
		return analytics.Page{MessageId: m.MessageID, UserId: m.UserID, Name: m.Name, Timestamp: m.Timestamp,
			Context: ctx, Properties: analytics.Properties(m.Properties)}, nil
	}
	return nil, fmt.Errorf("demo: message %s: unknown type %q", m.MessageID, m.Type)
}

// Enqueuer is the part of analytics.Client that Replay uses.
type Enqueuer interface {
	Enqueue(analytics.Message) error
}

// Replay enqueues every message of ds on c, in order. The caller closes the
// client, which flushes what is buffered.
func Replay(ds Dataset, c Enqueuer) error {
	for _, m := range ds.Messages {
		msg, err := m.Segment()
		if err != nil {
			return err
		}
		if err := c.Enqueue(msg); err != nil {
			return fmt.Errorf("demo: enqueue %s: %w", m.MessageID, err)
		}
	}
	return nil
}

// Counts summarises a dataset: accounts per category and messages per type.
type Counts struct {
	Accounts   map[Category]int
	Sizes      map[Size]int
	Messages   map[string]int
	Users      int
	FirstEvent time.Time
	LastEvent  time.Time
}

// Count tallies ds.
func (ds Dataset) Count() Counts {
	c := Counts{Accounts: map[Category]int{}, Sizes: map[Size]int{}, Messages: map[string]int{}}
	for _, a := range ds.Accounts {
		c.Accounts[a.Category]++
		c.Sizes[a.Size]++
		c.Users += len(a.Users)
	}
	for _, m := range ds.Messages {
		c.Messages[m.Type]++
	}
	if len(ds.Messages) > 0 {
		c.FirstEvent = ds.Messages[0].Timestamp
		c.LastEvent = ds.Messages[len(ds.Messages)-1].Timestamp
	}
	return c
}

// Examples returns up to n accounts of category c, by id, for pointing
// people at (`pqlbot score <domain>`).
func (ds Dataset) Examples(c Category, n int) []Account {
	var out []Account
	for _, a := range ds.Accounts {
		if a.Category == c && len(out) < n {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y Account) int { return cmp.Compare(x.ID, y.ID) })
	return out
}
