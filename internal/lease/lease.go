// Package lease holds the one heartbeat pqlbot's leases share: work a
// replica holds (undecided scores, Slack jobs) is leased for a short time
// and renewed every third of it while the work runs, so a dead replica's
// work is taken over within one lease and a live one's never is.
package lease

import (
	"sync"
	"time"
)

// Beats is how many renewals fit in one lease: one missed (a slow
// database round trip) still leaves the lease running.
const Beats = 3

// Period is how often a lease of length lease is renewed, and how often
// replicas look for work whose lease ran out.
func Period(lease time.Duration) time.Duration { return lease / Beats }

// Heartbeat calls beat every Period(lease) until stop is called; stop
// waits for a beat in progress. The caller makes the first renewal itself
// when it must happen before the work starts.
func Heartbeat(lease time.Duration, beat func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(Period(lease))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				beat()
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}
