package domain

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
)

// Which ruleset is in force.
//
// Every stored version has an effective date. The version in force on a day D is the one
// with the latest effective date on or before D; of two with the same date, the one
// published later. A check with as_of D evaluates that version's parameters on D, so an
// as_of in the past uses the rules in force then.
//
// A version can only take effect on or after the day it is published (Europe/London), so
// publishing never changes which version decided any earlier day: past answers can always
// be reproduced, and history is never rewritten. The first version stored (the built-in
// ruleset, or the flag file's) is in force from the beginning; a configured ruleset that
// differs from every stored version is added effective from the day the process starts.

// registry is the in-memory index of the stored rulesets, which the service extends from
// the store after each publication and, when other processes share the store, on a timer
// (Options.RulesetRefresh). Rulesets are few and small, and checks must not touch the
// store.
type registry struct {
	mu sync.RWMutex
	// all in publication order.
	all []RulesetRecord
	// byDate in order of effective date, then publication.
	byDate []*RulesetRecord
}

func (r *registry) set(all []RulesetRecord) {
	byDate := make([]*RulesetRecord, len(all))
	for i := range all {
		byDate[i] = &all[i]
	}
	// Stable: equal dates keep publication order.
	slices.SortStableFunc(byDate, func(a, b *RulesetRecord) int { return a.EffectiveFrom.Compare(b.EffectiveFrom) })
	r.mu.Lock()
	r.all, r.byDate = all, byDate
	r.mu.Unlock()
}

// extend appends versions read from the store after the ones held. Callers serialise
// extensions (Service.publishMu), so none is lost.
func (r *registry) extend(recs []RulesetRecord) {
	r.mu.RLock()
	all := append(slices.Clip(r.all), recs...)
	r.mu.RUnlock()
	r.set(all)
}

// count is how many versions are held: the skip of the next read from the store.
func (r *registry) count() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.all)
}

// inForce returns the ruleset in force on d. ok is false only when nothing is stored.
func (r *registry) inForce(d civil.Date) (*rules.Ruleset, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.byDate) == 0 {
		return nil, false
	}
	// Latest effective date on or before d; the earliest version when d precedes all.
	i, _ := slices.BinarySearchFunc(r.byDate, d, func(rec *RulesetRecord, d civil.Date) int {
		if rec.EffectiveFrom.After(d) {
			return 1
		}
		return -1
	})
	if i == 0 {
		return &r.byDate[0].Ruleset, true
	}
	return &r.byDate[i-1].Ruleset, true
}

func (r *registry) get(version string) (RulesetRecord, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, rec := range r.all {
		if rec.Ruleset.Version == version {
			return rec, true
		}
	}
	return RulesetRecord{}, false
}

func (r *registry) list() []RulesetRecord {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.all
}

// sameRules reports whether two rulesets say the same thing, ignoring when they were
// published.
func sameRules(a, b rules.Ruleset) bool {
	a.PublishedAt, b.PublishedAt = time.Time{}, time.Time{}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
