package sandbox

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Faults are the failures the sandbox injects. The zero value injects none.
type Faults struct {
	// FailRate is the share of requests (0 to 1) answered with a transient error,
	// HTTP 500 and code 2, before the sandbox acts on them.
	FailRate float64
	// DropRate is the share of successful sends (0 to 1) whose answer is lost
	// after the send was recorded: the connection is closed without a response,
	// as when a timeout hits after Graph acted.
	DropRate float64
	// Latency is added to every request.
	Latency time.Duration
	// Jitter is the largest random latency added on top of Latency.
	Jitter time.Duration
	// MaxListItems, when above 0, is the most items a page of a listing
	// (feed, comments, conversations, messages) may ask for: a larger limit
	// is answered as Graph answers a page too heavy to build, HTTP 500, code
	// 1, "Please reduce the amount of data you're asking for, then retry
	// your request".
	MaxListItems int
}

// faults holds the current Faults and the generator their rolls come from.
type faults struct {
	mu  sync.Mutex
	f   Faults
	rng *rand.Rand
}

func (fl *faults) init(seed int64, f Faults) {
	fl.f = f
	fl.rng = seededRand(seed, 1)
}

// SetFaults replaces the injected faults; it takes effect for the next request.
func (s *Sandbox) SetFaults(f Faults) {
	s.fl.mu.Lock()
	s.fl.f = f
	s.fl.mu.Unlock()
}

// Faults returns the injected faults.
func (s *Sandbox) Faults() Faults {
	s.fl.mu.Lock()
	defer s.fl.mu.Unlock()
	return s.fl.f
}

// roll reports whether an event of probability p happens.
func (fl *faults) roll(p func(Faults) float64) bool {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	share := p(fl.f)
	return share > 0 && fl.rng.Float64() < share
}

func (fl *faults) maxListItems() int {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.f.MaxListItems
}

func (fl *faults) fail() bool { return fl.roll(func(f Faults) float64 { return f.FailRate }) }
func (fl *faults) drop() bool { return fl.roll(func(f Faults) float64 { return f.DropRate }) }

// delay waits for the injected latency or until ctx is done.
func (fl *faults) delay(ctx context.Context) error {
	fl.mu.Lock()
	d := fl.f.Latency
	if fl.f.Jitter > 0 {
		d += time.Duration(fl.rng.Int64N(int64(fl.f.Jitter) + 1))
	}
	fl.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dropAnswer closes the client's connection without an answer.
func dropAnswer(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	// HTTP/2, or a ResponseWriter that cannot be hijacked: the server resets the
	// stream or closes the connection.
	panic(http.ErrAbortHandler)
}
