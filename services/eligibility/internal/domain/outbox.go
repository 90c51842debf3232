package domain

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// ConversionSink receives "eligibility checked" conversions from the outbox relay; the
// outreach service's client implements it.
type ConversionSink interface {
	// Send delivers conversions, oldest first. It returns nil when the receiver
	// acknowledged every one (a duplicate event id counts as acknowledged: receivers
	// deduplicate by EventID). It returns a *DeliveryError to report per-event results
	// when only some were acknowledged. Any other error means none was, and the whole
	// batch is sent again later.
	Send(ctx context.Context, batch []Conversion) error
}

// ErrConversionRejected marks a per-event result the receiver will never accept (it is
// malformed, say). The relay moves such an event to a dead-letter bucket instead of
// retrying it for ever.
var ErrConversionRejected = errors.New("conversion rejected")

// DeliveryError reports per-event results of a Send.
type DeliveryError struct {
	// Results has one entry per conversion sent, in order: nil when acknowledged, an error
	// wrapping ErrConversionRejected when rejected for good, any other error to retry.
	Results []error
}

// Error summarises the results without any event content.
func (e *DeliveryError) Error() string {
	retry, rejected := 0, 0
	for _, r := range e.Results {
		switch {
		case r == nil:
		case errors.Is(r, ErrConversionRejected):
			rejected++
		default:
			retry++
		}
	}
	return "conversions not all delivered: " + strconv.Itoa(retry) + " to retry, " + strconv.Itoa(rejected) + " rejected"
}

// RelayOptions tune the outbox relay.
type RelayOptions struct {
	// BatchSize is the most conversions per Send (default 100).
	BatchSize int
	// MinBackoff is the first wait after a failure (default 200ms).
	MinBackoff time.Duration
	// MaxBackoff caps the wait (default 1m).
	MaxBackoff time.Duration
	// SendTimeout bounds one Send (default 10s).
	SendTimeout time.Duration
	// PollInterval is how often an idle relay looks at the outbox even without a nudge
	// (default 5s).
	PollInterval time.Duration
}

func (o RelayOptions) withDefaults() RelayOptions {
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(time.Minute, o.MinBackoff)
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 10 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	return o
}

// backoff returns the wait after the n-th consecutive failure (n from 1): exponential from
// MinBackoff, capped at MaxBackoff, with "equal jitter" (a random point in the upper half)
// so that many relays do not retry in step.
func (o RelayOptions) backoff(n int) time.Duration {
	d := o.MinBackoff
	for i := 1; i < n && d < o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, o.MaxBackoff)
	half := d / 2
	return half + rand.N(half+1)
}

// relay delivers the outbox to the sink in order until ctx ends. An entry leaves the
// outbox only after the sink acknowledged it, so every conversion is delivered at least
// once, with the same event id every time, across restarts.
func (s *Service) relay(ctx context.Context) {
	o := s.relayOpts
	failures := 0
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-s.wake:
			// A new entry does not shorten a backoff.
			if failures > 0 {
				select {
				case <-ctx.Done():
					return false
				case <-t.C:
				}
			}
			return true
		}
	}
	for ctx.Err() == nil {
		entries, err := s.store.PendingConversions(ctx, o.BatchSize)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("outbox read failed", zap.Error(err))
			}
			failures++
			if !wait(o.backoff(failures)) {
				return
			}
			continue
		}
		if len(entries) == 0 {
			if !wait(o.PollInterval) {
				return
			}
			continue
		}
		retry := s.deliver(ctx, entries)
		if !retry {
			failures = 0
			continue
		}
		failures++
		if !wait(o.backoff(failures)) {
			return
		}
	}
}

// deliver sends one batch and removes what was acknowledged or rejected. It reports
// whether anything is left to retry.
func (s *Service) deliver(ctx context.Context, entries []OutboxEntry) (retry bool) {
	batch := make([]Conversion, len(entries))
	for i, e := range entries {
		batch[i] = e.Conversion
	}
	sendCtx, cancel := context.WithTimeout(ctx, s.relayOpts.SendTimeout)
	err := s.sink.Send(sendCtx, batch)
	cancel()
	var delivered, dead []uint64
	var de *DeliveryError
	switch {
	case err == nil:
		for _, e := range entries {
			delivered = append(delivered, e.Sequence)
		}
	case errors.As(err, &de) && len(de.Results) == len(entries):
		for i, r := range de.Results {
			switch {
			case r == nil:
				delivered = append(delivered, entries[i].Sequence)
			case errors.Is(r, ErrConversionRejected):
				dead = append(dead, entries[i].Sequence)
			default:
				retry = true
			}
		}
		if len(dead) > 0 {
			s.log.Warn("conversions rejected by the sink, moved to the dead-letter bucket", zap.Int("count", len(dead)))
		}
	default:
		if ctx.Err() == nil {
			s.log.Warn("conversion delivery failed", zap.Error(err), zap.Int("batch", len(entries)))
		}
		return true
	}
	if len(delivered)+len(dead) > 0 {
		// A failure here only means redelivery, which receivers deduplicate.
		if err := s.store.RemoveConversions(context.WithoutCancel(ctx), delivered, dead); err != nil {
			s.log.Error("outbox removal failed", zap.Error(err))
			return true
		}
	}
	return retry
}
