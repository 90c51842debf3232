package auth

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nrs-pilots/retrain/platform/authn"
	"golang.org/x/time/rate"
)

// Rate is a token bucket: Per second sustained, Burst at once.
type Rate struct {
	PerSecond float64
	Burst     int
}

// ParseRates reads "role=perSecond:burst,..." (for example "frontend=200:400,lep=20:40").
func ParseRates(s string) (map[authn.Role]Rate, error) {
	out := map[authn.Role]Rate{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		role, spec, ok := strings.Cut(strings.TrimSpace(part), "=")
		ps, burst, ok2 := strings.Cut(spec, ":")
		if !ok || !ok2 {
			return nil, fmt.Errorf("rate %q: want role=perSecond:burst", part)
		}
		r, err1 := strconv.ParseFloat(ps, 64)
		b, err2 := strconv.Atoi(burst)
		if err1 != nil || err2 != nil || r <= 0 || b < 1 {
			return nil, fmt.Errorf("rate %q: perSecond must be positive and burst at least 1", part)
		}
		switch authn.Role(role) {
		case authn.RoleFrontend, authn.RoleAdviser, authn.RoleLEP, authn.RoleEvaluator, authn.RoleAdmin, authn.RoleService:
		default:
			return nil, fmt.Errorf("rate %q: unknown role %q", part, role)
		}
		out[authn.Role(role)] = Rate{PerSecond: r, Burst: b}
	}
	return out, nil
}

// Limiter keeps one token bucket per caller subject, sized by the caller's role. Buckets
// of callers idle for longer than a bucket takes to refill are dropped, so memory follows
// the number of active callers.
type Limiter struct {
	rates map[authn.Role]Rate
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter returns a limiter; a role without a rate is not limited.
func NewLimiter(rates map[authn.Role]Rate, now func() time.Time) *Limiter {
	return &Limiter{rates: rates, now: now, buckets: map[string]*bucket{}, lastSweep: now()}
}

// Allow takes a token for subject; when none is left it returns how long to wait.
func (l *Limiter) Allow(subject string, role authn.Role) (time.Duration, bool) {
	r, ok := l.rates[role]
	if !ok {
		return 0, true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	key := string(role) + "\x00" + subject
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	if now.Sub(l.lastSweep) > time.Minute {
		l.sweep(now)
	}
	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return time.Second, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		idle := now.Sub(b.seen)
		refill := time.Duration(float64(b.lim.Burst()) / float64(b.lim.Limit()) * float64(time.Second))
		if idle > refill {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}

// Len is the number of buckets held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
