package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/internal/model"
)

// ErrIngesterClosed is returned for requests submitted after shutdown began.
var ErrIngesterClosed = errors.New("ingester is shutting down")

// IngesterOptions tune group commit.
type IngesterOptions struct {
	// Committers is how many transactions may be in flight at once.
	Committers int
	// MaxEvents caps the events in one commit.
	MaxEvents int
	// OnCommit is called after every successful commit (metrics, waking
	// the re-scorer). It must not block.
	OnCommit func(res IngestResult, events int, took time.Duration)
	// Outcomes are the model's outcome rules, recorded in each commit.
	Outcomes []model.OutcomeRule
	// Urgent reports whether a message should have its account re-scored
	// without the re-scorer's debounce (a hand-raise); nil means none is.
	Urgent func(*events.Message) bool
	// OnRefused is called with the number of messages the database refused
	// and the quarantine took instead. It must not block.
	OnRefused func(n int)
}

// Ingester is a group-commit batcher: concurrent requests share a
// transaction, so throughput is not one fsync per request, and each request
// is answered only after the transaction holding its rows has committed.
type Ingester struct {
	s    *Store
	opts IngesterOptions
	reqs chan *ingestReq

	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

type ingestReq struct {
	item IngestItem
	done chan error
}

// NewIngester starts the committers; Close stops them after draining.
func NewIngester(s *Store, opts IngesterOptions) *Ingester {
	if opts.Committers <= 0 {
		opts.Committers = 2
	}
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = 5000
	}
	g := &Ingester{s: s, opts: opts, reqs: make(chan *ingestReq, 4096)}
	for range opts.Committers {
		g.wg.Go(g.loop)
	}
	return g
}

// Submit queues msgs, and rejects for the quarantine, and waits until they
// are durably committed (or failed). If ctx ends first the request may still
// commit; the client's retry is then a harmless duplicate. A message the
// database refuses is quarantined and its neighbours committed: the error
// is ErrRejected only when no message of the request could be stored.
func (g *Ingester) Submit(ctx context.Context, source string, msgs []events.Message, rejects []events.Reject) error {
	r := &ingestReq{item: IngestItem{Source: source, Messages: msgs, Rejects: rejects}, done: make(chan error, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return ErrIngesterClosed
	}
	select {
	case g.reqs <- r:
		g.mu.RUnlock()
	case <-ctx.Done():
		g.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting requests, commits everything already queued and
// waits for the committers to finish.
func (g *Ingester) Close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.reqs)
	}
	g.mu.Unlock()
	g.wg.Wait()
}

func (g *Ingester) loop() {
	for first := range g.reqs {
		group := []*ingestReq{first}
		n := len(first.item.Messages)
	fill:
		for n < g.opts.MaxEvents {
			select {
			case r, ok := <-g.reqs:
				if !ok {
					break fill
				}
				group = append(group, r)
				n += len(r.item.Messages)
			default:
				break fill
			}
		}
		g.commit(group, n)
	}
}

func (g *Ingester) commit(group []*ingestReq, n int) {
	// Commits are not tied to any one request's context: a client that
	// hangs up must not abort the others' transaction.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	items := make([]IngestItem, len(group))
	for i, r := range group {
		items[i] = r.item
	}
	start := time.Now()
	var res IngestResult
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		res, err = g.s.ingest(ctx, items, g.opts.Outcomes, g.opts.Urgent)
		if err == nil || !retryable(err) {
			break
		}
	}
	if err == nil {
		if g.opts.OnCommit != nil {
			g.opts.OnCommit(res, n, time.Since(start))
		}
		for _, r := range group {
			r.done <- nil
		}
		return
	}
	if !dataError(err) {
		// The database is unreachable or failing: every request in the
		// group gets the error (the senders retry); splitting the group
		// would only multiply the load on a struggling server.
		for _, r := range group {
			r.done <- fmt.Errorf("ingest: %w", err)
		}
		return
	}
	if len(group) == 1 {
		group[0].done <- g.isolate(ctx, group[0].item, err)
		return
	}
	// One request's rows are what the database refused: commit each alone
	// so the others are not failed with it.
	for _, r := range group {
		g.commit([]*ingestReq{r}, len(r.item.Messages))
	}
}

// isolate commits a refused request message by message, so one value the
// database refuses does not sink its neighbours, and quarantines the
// messages refused.
func (g *Ingester) isolate(ctx context.Context, item IngestItem, cause error) error {
	var refused []events.Message
	stored := 0
	for i, m := range item.Messages {
		one := IngestItem{Source: item.Source, Messages: item.Messages[i : i+1]}
		start := time.Now()
		res, err := g.s.ingest(ctx, []IngestItem{one}, g.opts.Outcomes, g.opts.Urgent)
		switch {
		case err == nil:
			stored++
			if g.opts.OnCommit != nil {
				g.opts.OnCommit(res, 1, time.Since(start))
			}
		case dataError(err):
			refused = append(refused, m)
			cause = err
		default:
			return fmt.Errorf("ingest: %w", err)
		}
	}
	q := IngestItem{Source: item.Source, Rejects: append(item.Rejects[:len(item.Rejects):len(item.Rejects)], refusedRejects(refused, cause)...)}
	if _, err := g.s.Ingest(ctx, []IngestItem{q}); err != nil {
		return fmt.Errorf("ingest: quarantine: %w", err)
	}
	if g.opts.OnRefused != nil && len(refused) > 0 {
		g.opts.OnRefused(len(refused))
	}
	if stored == 0 && len(refused) > 0 {
		return fmt.Errorf("%w: %v", ErrRejected, cause)
	}
	return nil
}

// ErrRejected marks a request whose data the database refused (a value
// validation let through): retrying cannot help, so it is a client error.
var ErrRejected = errors.New("rejected by the database")

// dataError reports PostgreSQL data exceptions and integrity violations
// (SQLSTATE classes 22 and 23): a property of the rows, not of the server.
func dataError(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (strings.HasPrefix(pg.Code, "22") || strings.HasPrefix(pg.Code, "23"))
}
