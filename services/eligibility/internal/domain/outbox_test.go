package domain_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
)

// fakeSink records every conversion it is sent and answers as policy says.
type fakeSink struct {
	mu     sync.Mutex
	calls  int
	policy func(ctx context.Context, call int, batch []domain.Conversion) error
	// sent is every event id sent per journey, in order; acked the ids acknowledged.
	sent  map[string][]string
	acked map[string]string
	// order is the journeys in the order first sent.
	order []string
	// inFlight is what a hanging policy was sent, for the restart test.
	inFlight []string
}

func newFakeSink(policy func(ctx context.Context, call int, batch []domain.Conversion) error) *fakeSink {
	return &fakeSink{policy: policy, sent: map[string][]string{}, acked: map[string]string{}}
}

func (f *fakeSink) Send(ctx context.Context, batch []domain.Conversion) error {
	f.mu.Lock()
	f.calls++
	call := f.calls
	for _, c := range batch {
		if _, ok := f.sent[c.JourneyID]; !ok {
			f.order = append(f.order, c.JourneyID)
		}
		f.sent[c.JourneyID] = append(f.sent[c.JourneyID], c.EventID)
	}
	f.mu.Unlock()
	err := f.policy(ctx, call, batch)
	f.mu.Lock()
	defer f.mu.Unlock()
	var de *domain.DeliveryError
	switch {
	case err == nil:
		for _, c := range batch {
			f.acked[c.JourneyID] = c.EventID
		}
	case errors.As(err, &de):
		for i, r := range de.Results {
			if r == nil {
				f.acked[batch[i].JourneyID] = batch[i].EventID
			}
		}
	}
	return err
}

func (f *fakeSink) snapshot() (sent map[string][]string, acked map[string]string, order []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sent = map[string][]string{}
	for k, v := range f.sent {
		sent[k] = slices.Clone(v)
	}
	acked = map[string]string{}
	for k, v := range f.acked {
		acked[k] = v
	}
	return sent, acked, slices.Clone(f.order)
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func fastRelay(o *domain.Options) {
	o.Relay = domain.RelayOptions{BatchSize: 4, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, PollInterval: 5 * time.Millisecond, SendTimeout: 5 * time.Second}
}

func checkWithJourney(t *testing.T, svc *domain.Service, journey string) {
	t.Helper()
	if _, err := svc.Check(context.Background(), domain.CheckRequest{Raw: raw("1980-01-01", rules.Level2, salary(100), "2024-01-01"), Postcode: "L1 8JQ", JourneyID: journey}); err != nil {
		t.Fatal(err)
	}
}

func journeys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("j%02d", i)
	}
	return out
}

func TestRelayRetriesUntilAcknowledged(t *testing.T) {
	// Three failures of the whole batch; then the poisoned event is rejected for good
	// whenever it is sent, and on the fourth call every event but the first is to retry.
	var rejectedAfter int
	var sink *fakeSink
	sink = newFakeSink(func(ctx context.Context, call int, batch []domain.Conversion) error {
		if call <= 3 {
			return errors.New("outreach unavailable")
		}
		de := &domain.DeliveryError{Results: make([]error, len(batch))}
		partial := false
		for i, c := range batch {
			switch {
			case c.JourneyID == "poison":
				de.Results[i] = fmt.Errorf("bad event: %w", domain.ErrConversionRejected)
				sink.mu.Lock()
				rejectedAfter = len(sink.sent["poison"])
				sink.mu.Unlock()
				partial = true
			case call == 4 && i > 0:
				de.Results[i] = errors.New("try later")
				partial = true
			}
		}
		if partial {
			return de
		}
		return nil
	})
	e := newEnv(t, func(o *domain.Options) { o.Sink = sink; fastRelay(o) })
	want := journeys(10)
	all := append([]string{want[0], "poison"}, want[1:]...)
	for _, j := range all {
		checkWithJourney(t, e.svc, j)
	}
	waitFor(t, "every conversion acknowledged", func() bool {
		_, acked, _ := sink.snapshot()
		return len(acked) == len(want)
	})
	sent, _, _ := sink.snapshot()
	sink.mu.Lock()
	after := rejectedAfter
	sink.mu.Unlock()
	if after == 0 || len(sent["poison"]) != after {
		t.Errorf("the rejected conversion was sent %d times, rejected on send %d; want never again after rejection", len(sent["poison"]), after)
	}
	// Rejected and never acknowledged, yet gone from the outbox: dead-lettered.
	if _, acked, _ := sink.snapshot(); acked["poison"] != "" {
		t.Error("the sink acknowledged the poisoned conversion")
	}
	waitFor(t, "an empty outbox", func() bool {
		p, err := e.store.PendingConversions(context.Background(), 10)
		return err == nil && len(p) == 0
	})
	_, acked, order := sink.snapshot()
	for _, j := range want {
		for _, id := range sent[j] {
			if id != acked[j] {
				t.Errorf("journey %s sent with event ids %v, want one id every time", j, sent[j])
				break
			}
		}
	}
	if !slices.Equal(order, all) {
		t.Errorf("first deliveries in order %v, want %v", order, all)
	}
}

func TestRelaySurvivesRestart(t *testing.T) {
	var mu sync.Mutex
	var sink *fakeSink
	// The first process acknowledges two batches, then its sink hangs mid-stream until
	// the process stops.
	var first *fakeSink
	first = newFakeSink(func(ctx context.Context, call int, batch []domain.Conversion) error {
		if call <= 2 {
			return nil
		}
		first.mu.Lock()
		for _, c := range batch {
			first.inFlight = append(first.inFlight, c.JourneyID)
		}
		first.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	})
	sink = first
	e := newEnv(t, func(o *domain.Options) {
		mu.Lock()
		o.Sink = sink
		mu.Unlock()
		fastRelay(o)
	})
	want := journeys(20)
	for _, j := range want {
		checkWithJourney(t, e.svc, j)
	}
	waitFor(t, "the first process to hang mid-stream", func() bool {
		first.mu.Lock()
		defer first.mu.Unlock()
		return first.calls >= 3
	})
	second := newFakeSink(func(context.Context, int, []domain.Conversion) error { return nil })
	mu.Lock()
	sink = second
	mu.Unlock()
	e.restart()
	waitFor(t, "every conversion acknowledged by one process or the other", func() bool {
		_, a1, _ := first.snapshot()
		_, a2, _ := second.snapshot()
		for _, j := range want {
			if a1[j] == "" && a2[j] == "" {
				return false
			}
		}
		return true
	})

	sent1, acked1, _ := first.snapshot()
	sent2, _, order2 := second.snapshot()
	first.mu.Lock()
	inFlight := first.inFlight
	first.mu.Unlock()
	for _, j := range want {
		ids := append(slices.Clone(sent1[j]), sent2[j]...)
		for _, id := range ids {
			if id != ids[0] {
				t.Errorf("journey %s delivered with event ids %v, want the same id each time", j, ids)
				break
			}
		}
		// Acknowledged before the restart: removed, never resent.
		if acked1[j] != "" && len(sent2[j]) != 0 {
			t.Errorf("journey %s was acknowledged before the restart and sent again after it", j)
		}
	}
	if len(inFlight) == 0 {
		t.Fatal("no batch was in flight at the restart")
	}
	// The batch in flight at the restart was delivered again, with the same ids, first.
	if len(order2) < len(inFlight) || !slices.Equal(order2[:len(inFlight)], inFlight) {
		t.Errorf("after the restart the first deliveries were %v, want the batch in flight %v first", order2, inFlight)
	}
}

func TestOutboxDisabledWithoutSink(t *testing.T) {
	e := newEnv(t, nil)
	checkWithJourney(t, e.svc, "ignored")
	if p, err := e.store.PendingConversions(context.Background(), 10); err != nil || len(p) != 0 {
		t.Errorf("without a sink the outbox holds %d entries, %v; want none", len(p), err)
	}
}

func TestConversionDurableBeforeCheckReturns(t *testing.T) {
	sink := newFakeSink(func(ctx context.Context, call int, batch []domain.Conversion) error {
		return errors.New("down")
	})
	e := newEnv(t, func(o *domain.Options) {
		o.Sink = sink
		o.Relay = domain.RelayOptions{MinBackoff: time.Hour, MaxBackoff: time.Hour}
	})
	checkWithJourney(t, e.svc, "j-durable")
	p, err := e.store.PendingConversions(context.Background(), 10)
	if err != nil || len(p) != 1 {
		t.Fatalf("outbox after the check = %v, %v; want one entry", p, err)
	}
	c := p[0].Conversion
	if c.JourneyID != "j-durable" || c.EventID == "" || c.Outcome != rules.OutcomeEligible || len(c.Areas) == 0 || c.RulesetVersion == "" || c.Time.IsZero() {
		t.Errorf("conversion %+v lacks a field", c)
	}
}
