package main

import (
	"github.com/pqlbot/pqlbot/internal/metrics"
)

// observer adapts the metrics registry to the small observer interfaces the
// services declare.
type observer struct{ m *metrics.Metrics }

func (o observer) Ingested(typ string, n int) {
	o.m.EventsIngested.WithLabelValues(typ).Add(float64(n))
}
func (o observer) Rejected(reason string) { o.m.EventsRejected.WithLabelValues(reason).Inc() }
func (o observer) AlertPosted(tier string) {
	o.m.AlertsByTierState.WithLabelValues(tier, metrics.AlertPosted).Inc()
}
func (o observer) AlertDecided(action, tier string) {
	if action == "create" {
		o.m.AlertsByTierState.WithLabelValues(tier, metrics.AlertOpened).Inc()
	}
}

func (o observer) AlertTransition(tier, transition string) {
	o.m.AlertsByTierState.WithLabelValues(tier, transition).Inc()
}
func (o observer) JobTakenOver(string) { o.m.Takeovers.WithLabelValues(metrics.WorkOutbox).Inc() }
func (o observer) Nudged()             { o.m.SLANudges.Inc() }
func (o observer) Breached()           { o.m.SLABreaches.Inc() }
