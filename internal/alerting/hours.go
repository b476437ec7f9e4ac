package alerting

import (
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/sla"
)

// Hours converts the model's business hours for the SLA clock; nil means
// wall-clock SLAs.
func Hours(m *model.Model) *sla.BusinessHours {
	bh := m.BusinessHours
	if bh == nil || bh.Location == nil {
		return nil
	}
	out, err := sla.NewBusinessHours(bh.Location, bh.Days, time.Duration(bh.From)*time.Minute, time.Duration(bh.To)*time.Minute)
	if err != nil {
		// The model validated these at load; an impossible value falls
		// back to wall-clock time rather than stopping alerts.
		return nil
	}
	return out
}
