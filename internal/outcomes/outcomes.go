// Package outcomes holds what became of accounts (won, opportunity, lost)
// as the rest of pqlbot reads it, and the parser of CRM exports
// (`pqlbot outcomes import`, SPEC §7).
//
// Outcomes have three sources: track events and account-trait changes that
// the model's `outcomes` rules name (derived by the store from stored
// events, when they arrive and again when the rules change), and imported
// CSV rows. The parser is pure and fuzzed; the store decides duplicates and
// matching in SQL.
package outcomes

import (
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
)

// Source says where an outcome came from.
type Source string

// Outcome sources.
const (
	SourceEvent  Source = "event"  // a track event named by a model rule
	SourceTrait  Source = "trait"  // a group call changed a trait to a listed value
	SourceImport Source = "import" // a row of `pqlbot outcomes import`
)

// Outcome is one recorded result for an account.
type Outcome struct {
	ID int64
	// AccountID is empty for an imported row whose account has not been
	// seen yet (AccountRef says what the file named).
	AccountID  string
	AccountRef string
	Kind       model.OutcomeKind
	At         time.Time
	Source     Source
	// Rule is the model rule that derived it ("won: event Order Completed").
	Rule string
	// Amount is the imported amount; HasAmount false when the file gave none.
	Amount    float64
	HasAmount bool
}
