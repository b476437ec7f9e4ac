package scoring

import (
	"fmt"
	"testing"
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
)

// benchFacts is a busy account: 30 days × 10 event names, some pages, a
// filtered series and five users a day.
func benchFacts() Facts {
	names := []string{"Workflow Completed", "Teammate Invited", "Records Imported", "Ticket Opened", "Logged In",
		"Report Exported", "Dashboard Viewed", "Comment Added", "File Uploaded", "Settings Changed"}
	f := Facts{
		AccountID: "acct_bench", Name: "Bench Co", Domain: "bench.co",
		Traits:       map[string]any{"employees": 240.0, "email_domain": "bench.co", "plan": "trial"},
		FirstEventAt: ago(29).Add(9 * time.Hour),
		LastEventAt:  now.Add(-time.Hour),
		Filtered:     map[string][]Bucket{"Production integration": {track("Integration Connected", 12, 1)}},
	}
	for d := 0; d < 30; d++ {
		for i, name := range names {
			b := track(name, d, int64(1+(d+i)%4))
			if name == "Records Imported" {
				b.Sums = map[string]float64{"records": 12, "bytes": 4096}
			}
			f.Buckets = append(f.Buckets, b)
		}
		f.Buckets = append(f.Buckets, page("Pricing", d, 1), page("Docs", d, 3))
		for u := 0; u < 5; u++ {
			f.ActiveUsers = append(f.ActiveUsers, UserDay{Day: ago(d), UserID: fmt.Sprintf("user_%d", (d+u)%9)})
		}
	}
	return f
}

func BenchmarkEvaluate(b *testing.B) {
	m := model.Default()
	f := benchFacts()
	b.ReportAllocs()
	for b.Loop() {
		_ = Evaluate(m, &f, now)
	}
}
