package ingestplan

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/pqlbot/pqlbot/internal/events"
)

// Backfilled is an event stored by an earlier commit that this commit's
// links attributed (the store's back-fill reports them).
type Backfilled struct {
	Account, Type, Name, Person string
	At                          time.Time
	Sums                        map[string]float64
	EventID                     int64 // the events row, for the filtered roll-ups
}

// DayKey is one row of account_daily.
type DayKey struct {
	Account, Kind, Name string
	Day                 time.Time
}

// DayUserKey is one row of account_daily_users: a person active that day.
type DayUserKey struct {
	Account, Person string
	Day             time.Time
}

// DayAgg is what a commit adds to one account_daily row.
type DayAgg struct {
	N    int64
	Sums map[string]float64
}

// AccountDelta is what a commit changes on one account.
type AccountDelta struct {
	Traits map[string]any
	// TraitsJSON is Traits as sent when one message gave them all (the
	// usual case): stored as is, not re-encoded from the decoded values.
	TraitsJSON  json.RawMessage
	First, Last time.Time
}

// UserDelta is what a commit changes on one person.
type UserDelta struct {
	Email      string
	Traits     map[string]any
	TraitsJSON json.RawMessage // as AccountDelta's
	Account    string
}

// addTraits merges one message's traits into a delta's.
func addTraits(into *map[string]any, raw *json.RawMessage, m *events.Message) map[string]any {
	t := m.TraitMap()
	if len(t) == 0 {
		return nil
	}
	if *into == nil {
		*into, *raw = map[string]any{}, m.Traits
	} else {
		*raw = nil
	}
	maps.Copy(*into, t)
	return t
}

// Deltas are the writes that depend on which rows were new.
type Deltas struct {
	Accounts   map[string]*AccountDelta
	Users      map[string]*UserDelta
	Daily      map[DayKey]*DayAgg
	DailyUsers map[DayUserKey]bool
	// Memberships are (account, person) pairs to record.
	Memberships []Link
	// Identified are persons whose traits changed: their accounts'
	// derived traits (email_domain) change too.
	Identified []string
	// Rescore are the accounts this commit touched, sorted.
	Rescore []string
}

// Rollup computes the deltas once the store knows which rows it inserted
// (inserted reports a (source, messageId) as new) and which earlier events
// the back-fill attributed. touched are further accounts the store changed
// executing the plan (re-keyed daily users of a merge).
func (p *Plan) Rollup(inserted func(source, messageID string) bool, backfilled []Backfilled, touched []string) *Deltas {
	d := &Deltas{
		Accounts:   map[string]*AccountDelta{},
		Users:      map[string]*UserDelta{},
		Daily:      map[DayKey]*DayAgg{},
		DailyUsers: map[DayUserKey]bool{},
	}
	acct := func(id string) *AccountDelta {
		a := d.Accounts[id]
		if a == nil {
			a = &AccountDelta{}
			d.Accounts[id] = a
		}
		return a
	}
	user := func(id string) *UserDelta {
		u := d.Users[id]
		if u == nil {
			u = &UserDelta{}
			d.Users[id] = u
		}
		return u
	}
	activity := func(account, kind, name, person string, at time.Time, sums map[string]float64) {
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		k := DayKey{Account: account, Kind: kind, Name: name, Day: day}
		a := d.Daily[k]
		if a == nil {
			a = &DayAgg{}
			d.Daily[k] = a
		}
		a.N++
		for prop, v := range sums {
			if a.Sums == nil {
				a.Sums = map[string]float64{}
			}
			a.Sums[prop] += v
		}
		if person != "" {
			d.DailyUsers[DayUserKey{Account: account, Person: person, Day: day}] = true
		}
		ad := acct(account)
		ad.First = minTime(ad.First, at)
		ad.Last = maxTime(ad.Last, at)
	}

	var fresh []*Row
	for i := range p.Rows {
		if inserted(p.Rows[i].Source, p.Rows[i].M.MessageID) {
			fresh = append(fresh, &p.Rows[i])
		}
	}
	// Traits apply in event-time order so the latest wins.
	sort.SliceStable(fresh, func(i, j int) bool { return fresh[i].M.Timestamp.Before(fresh[j].M.Timestamp) })
	identified := map[string]bool{}
	for _, r := range fresh {
		m := r.M
		switch m.Type {
		case events.TypeGroup:
			a := acct(m.GroupID)
			a.First = minTime(a.First, m.Timestamp)
			addTraits(&a.Traits, &a.TraitsJSON, m)
		case events.TypeIdentify:
			identified[r.Person] = true
			u := user(r.Person)
			if t := addTraits(&u.Traits, &u.TraitsJSON, m); t != nil {
				if e, ok := t["email"].(string); ok {
					u.Email = e
				}
			}
		default:
			if kind := m.Kind(); kind != "" && r.Account != "" {
				activity(r.Account, kind, m.Name, r.Person, m.Timestamp, m.Sums)
			}
		}
	}
	for _, b := range backfilled {
		if kind := (&events.Message{Type: b.Type}).Kind(); kind != "" {
			activity(b.Account, kind, b.Name, p.Person(b.Person), b.At.UTC(), b.Sums)
		}
	}
	// Links and memberships hold whether or not the group call was a
	// redelivery: writing them again is idempotent.
	for _, l := range p.Links {
		user(l.Person).Account = l.Account
		acct(l.Account)
	}
	seen := map[Link]bool{}
	for _, l := range p.memberships {
		if !seen[l] {
			seen[l] = true
			d.Memberships = append(d.Memberships, l)
		}
	}
	slices.SortFunc(d.Memberships, func(a, b Link) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Person, b.Person))
	})
	d.Identified = sortedKeys(identified)
	queue := map[string]bool{}
	for id := range d.Accounts {
		queue[id] = true
	}
	for _, l := range p.Backfill {
		queue[l.Account] = true
	}
	for _, id := range touched {
		queue[id] = true
	}
	d.Rescore = sortedKeys(queue)
	return d
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
