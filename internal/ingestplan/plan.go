// Package ingestplan holds the rules of ingest as a pure planner: given the
// messages of one commit and the identity and account links the store
// already holds for their ids, it decides which rows to write, how ids merge
// into people, which accounts events belong to, the roll-up deltas and which
// accounts to re-score. The store reads the links, executes the plan and
// reports back what it inserted and back-filled; nothing here does I/O.
//
// The rules (SPEC §3):
//   - A message carrying both anonymousId and userId links the anonymous id
//     to the user, unless that anonymous id already belongs to another user
//     (a shared device does not merge two people). alias merges previousId
//     (and everything linked to it) into userId.
//   - Every event of a linked id, before or after the link, counts for one
//     person and that person's account; distinct users count people.
//   - Attribution: context.groupId, else a top-level groupId, else the
//     person's account at the event's time (a group call in the same commit
//     at or before it, else the stored link, else the commit's first group
//     call: events that precede a person's first group call are attributed
//     when it arrives).
//   - Roll-ups count only rows the commit inserted (a redelivery counts
//     once); traits apply in event-time order so the latest wins.
package ingestplan

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"github.com/pqlbot/pqlbot/internal/events"
)

// Msg is one message of a commit and the source (write key) it came from.
type Msg struct {
	Source string
	M      *events.Message
}

// Links is what the store holds about the ids of a commit, read before
// planning.
type Links struct {
	// Person maps an id that was merged into another to its person (the
	// table is kept flat: one hop). Ids absent are their own person.
	Person map[string]string
	// Account maps a person to the account of its latest group call.
	Account map[string]string
}

// Row is an event to insert, attributed.
type Row struct {
	Source  string
	M       *events.Message
	Person  string
	Account string // "" when not known yet
}

// Merge says every id of person From now belongs to person Into.
type Merge struct{ From, Into string }

// Link ties a person to an account.
type Link struct{ Person, Account string }

// Plan is what a commit writes before the store knows which rows were new.
type Plan struct {
	// Rows are the commit's events, repeats inside the commit removed,
	// ordered by (source, messageId) so concurrent commits lock alike.
	Rows       []Row
	Duplicates int
	// Merges to record in the identity table, in order.
	Merges []Merge
	// Links are the persons' group links as of this commit (the latest by
	// event time), to store on the user and in account membership.
	Links []Link
	// Backfill lists persons whose earlier unattributed events (of any of
	// their ids) now belong to an account.
	Backfill []Link

	person map[string]string // final resolution, with the commit's merges
	// memberships are (account, person) pairs the commit's group calls made.
	memberships []Link
}

// LinkIDs lists the ids of messages that may link ids (a message carrying
// both anonymousId and userId, an alias): the store reads their committed
// links before locking, for IDs.
func LinkIDs(msgs []Msg) []string {
	ids := map[string]bool{}
	for _, x := range msgs {
		m := x.M
		if m.Type == events.TypeAlias || m.UserID != "" && m.AnonymousID != "" {
			for _, id := range []string{m.UserID, m.AnonymousID, m.PreviousID} {
				if id != "" {
					ids[id] = true
				}
			}
		}
	}
	return sortedKeys(ids)
}

// IDs lists the ids a commit needs links for and must lock: exclusive for
// ids whose links the commit may change (group calls, merges), shared for
// ids it only looks up. Both are sorted and disjoint.
//
// committed holds the links of LinkIDs read before any lock. A link never
// comes undone (merging persons moves all their ids together), so a
// message that can no longer link anything only looks up: an anonymousId
// that already belongs to a person (Build never moves it), an alias whose
// ids are already one person. That is every call analytics.js makes after
// identify: without this each would take exclusive locks and serialise
// concurrent commits of the same user for nothing.
func IDs(msgs []Msg, committed Links) (exclusive, shared []string) {
	person := func(id string) string { return cmp.Or(committed.Person[id], id) }
	ex, sh := map[string]bool{}, map[string]bool{}
	for _, x := range msgs {
		m := x.M
		links := m.Type == events.TypeGroup ||
			m.Type == events.TypeAlias && person(m.PreviousID) != person(m.UserKey()) ||
			m.UserID != "" && m.AnonymousID != "" && person(m.AnonymousID) == m.AnonymousID
		for _, id := range []string{m.UserID, m.AnonymousID, m.PreviousID} {
			switch {
			case id == "":
			case links:
				ex[id] = true
			default:
				sh[id] = true
			}
		}
	}
	for id := range ex {
		delete(sh, id)
	}
	return sortedKeys(ex), sortedKeys(sh)
}

// Build plans a commit.
func Build(msgs []Msg, known Links) *Plan {
	p := &Plan{person: make(map[string]string)}
	seen := make(map[[2]string]bool, len(msgs))
	for _, x := range msgs {
		k := [2]string{x.Source, x.M.MessageID}
		if seen[k] {
			p.Duplicates++
			continue
		}
		seen[k] = true
		p.Rows = append(p.Rows, Row{Source: x.Source, M: x.M})
	}
	// Links apply in event-time order, whatever order the messages came in.
	order := make([]int, len(p.Rows))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return p.Rows[order[a]].M.Timestamp.Before(p.Rows[order[b]].M.Timestamp) })

	// 1. Identity: merge ids into people.
	resolve := func(id string) string {
		// Bounded: a corrupt cycle in stored links must not hang ingest.
		for range 64 {
			next, ok := p.person[id]
			if !ok {
				if stored, ok := known.Person[id]; ok && stored != id {
					next = stored
				} else {
					return id
				}
			}
			id = next
		}
		return id
	}
	accountOf := func(person string) string { return known.Account[person] }
	merged := map[string]string{} // person -> account carried over by a merge
	merge := func(from, into string, explicit bool) {
		pf, pi := resolve(from), resolve(into)
		if pf == pi {
			return
		}
		// An anonymous id already linked to another user stays with it.
		if !explicit && pf != from {
			return
		}
		p.person[pf] = pi
		p.Merges = append(p.Merges, Merge{From: pf, Into: pi})
		// A person without an account takes the one its merged id had.
		if accountOf(pi) == "" && merged[pi] == "" {
			if a := cmp.Or(merged[pf], accountOf(pf)); a != "" {
				merged[pi] = a
			}
		}
	}
	for _, i := range order {
		m := p.Rows[i].M
		if m.UserID != "" && m.AnonymousID != "" {
			merge(m.AnonymousID, m.UserID, false)
		}
		if m.Type == events.TypeAlias {
			merge(m.PreviousID, m.UserKey(), true)
		}
	}

	// 2. Group links in the commit, per person, in time order.
	type timedLink struct {
		at      time.Time
		account string
	}
	links := map[string][]timedLink{}
	for _, i := range order {
		r := &p.Rows[i]
		r.Person = resolve(r.M.UserKey())
		if r.M.Type == events.TypeGroup {
			links[r.Person] = append(links[r.Person], timedLink{r.M.Timestamp, r.M.GroupID})
			p.memberships = append(p.memberships, Link{Person: r.Person, Account: r.M.GroupID})
		}
	}
	stored := func(person string) string { return cmp.Or(accountOf(person), merged[person]) }
	accountAt := func(person string, at time.Time) string {
		ls := links[person]
		var a string
		for _, l := range ls {
			if l.at.After(at) {
				break
			}
			a = l.account
		}
		switch {
		case a != "":
			return a
		case stored(person) != "":
			return stored(person)
		case len(ls) > 0:
			return ls[0].account
		}
		return ""
	}

	// 3. Attribution.
	for i := range p.Rows {
		r := &p.Rows[i]
		switch {
		case r.M.Type == events.TypeGroup:
			r.Account = r.M.GroupID
		case r.M.ContextGroupID != "":
			r.Account = r.M.ContextGroupID
		case r.M.GroupID != "":
			r.Account = r.M.GroupID
		default:
			r.Account = accountAt(r.Person, r.M.Timestamp)
		}
	}

	// 4. What to store about people: each person's latest link, and which
	// persons' waiting events an account now claims.
	persons := map[string]bool{}
	for person := range links {
		persons[person] = true
	}
	for person := range merged {
		persons[person] = true
	}
	for _, m := range p.Merges {
		persons[m.Into] = true
	}
	for _, person := range sortedKeys(persons) {
		if resolve(person) != person {
			continue // merged away later in the commit
		}
		latest := stored(person)
		if ls := links[person]; len(ls) > 0 {
			latest = ls[len(ls)-1].account
		}
		if latest == "" {
			continue
		}
		if latest != accountOf(person) {
			p.Links = append(p.Links, Link{Person: person, Account: latest})
		}
		// Events stored before the first link (or under ids merged in now)
		// go to the account the person had first in this commit.
		first := stored(person)
		if first == "" {
			first = links[person][0].account
		}
		p.Backfill = append(p.Backfill, Link{Person: person, Account: first})
	}

	slices.SortFunc(p.Rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.M.MessageID, b.M.MessageID))
	})
	for id := range p.person {
		p.person[id] = resolve(id)
	}
	return p
}

// Person is the person an id belongs to once the commit's merges apply.
func (p *Plan) Person(id string) string {
	if q, ok := p.person[id]; ok {
		return q
	}
	return id
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
