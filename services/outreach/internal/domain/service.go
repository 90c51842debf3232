package domain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Sink is told of every event once it is durable (the in-memory attribution index).
type Sink interface {
	Add(events []Event)
}

// Service runs the outreach domain over a store.
type Service struct {
	store    Store
	sink     Sink
	hasher   JourneyHasher
	policy   TimePolicy
	now      func() time.Time
	maxBatch int
	// campaigns remembers, across batches, what event validation needs of campaigns.
	campaigns *campaignCache
}

// Options configure a Service.
type Options struct {
	Store  Store
	Sink   Sink
	Hasher JourneyHasher
	Policy TimePolicy
	Now    func() time.Time
	// MaxBatch is the most events of one request.
	MaxBatch int
	// CodeCacheTTL bounds how long event validation trusts, without reading the store
	// again, which campaign a code was found to name. Zero keeps the answer until this
	// service creates or updates a campaign: right only when no other process writes
	// campaigns to the store. With a store shared by replicas it is how long an update
	// made by another replica may go unnoticed by this one.
	CodeCacheTTL time.Duration
}

// NewService returns a service over opts.
func NewService(opts Options) *Service {
	return &Service{
		store: opts.Store, sink: opts.Sink, hasher: opts.Hasher, policy: opts.Policy, now: opts.Now, maxBatch: opts.MaxBatch,
		campaigns: newCampaignCache(opts.CodeCacheTTL),
	}
}

// Etag returns the etag of a revision.
func Etag(revision uint64) string { return "r" + strconv.FormatUint(revision, 10) }

// CreateCampaign validates and stores a new campaign in area with id (generated when
// empty). decoded are violations found while decoding the request (a malformed date);
// they are reported with the others. It returns a *ValidationError, ErrAlreadyExists,
// or a store error.
func (s *Service) CreateCampaign(ctx context.Context, c Campaign, decoded ...Violation) (Campaign, error) {
	vs := violations(slices.Clone(decoded))
	if !ValidArea(c.Area) {
		vs.add("parent", "must be areas/{area} with an ONS area code")
	}
	if c.ID == "" {
		c.ID = newCampaignID()
	} else if !ValidCampaignID(c.ID) {
		vs.add("campaign_id", "must be 1 to 63 lower-case letters, digits and hyphens, starting with a letter")
	}
	vs.merge(ValidateCampaign(c, "campaign."))
	if err := vs.err(); err != nil {
		return Campaign{}, err
	}
	now := StoredTime(s.now())
	c.CreateTime, c.UpdateTime, c.Revision = now, now, 1
	c.LastModifier = c.Creator
	err := s.store.CreateCampaign(ctx, c)
	// Even a failed write may have landed (a lost commit acknowledgement).
	s.campaigns.changed()
	if err != nil {
		return Campaign{}, fmt.Errorf("create campaign: %w", err)
	}
	return c, nil
}

func newCampaignID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return "c" + hex.EncodeToString(b[:])
}

// GetCampaign returns a campaign or ErrNotFound.
func (s *Service) GetCampaign(ctx context.Context, area, id string) (Campaign, error) {
	c, err := s.store.GetCampaign(ctx, area, id)
	if err != nil {
		return Campaign{}, fmt.Errorf("get campaign: %w", err)
	}
	return c, nil
}

// ListCampaigns returns a page of campaigns of area ("" for all) after the cursor, and
// whether more follow.
func (s *Service) ListCampaigns(ctx context.Context, area string, after ListCursor, limit int) ([]Campaign, bool, error) {
	cs, err := s.store.ListCampaigns(ctx, area, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list campaigns: %w", err)
	}
	if len(cs) > limit {
		return cs[:limit], true, nil
	}
	return cs, false, nil
}

// applyField copies the field at path from src to dst and reports whether path names an
// updatable field.
func applyField(dst *Campaign, src Campaign, path string) bool {
	switch path {
	case "display_name":
		dst.DisplayName = src.DisplayName
	case "channel":
		dst.Channel = src.Channel
	case "messenger":
		dst.Messenger = src.Messenger
	case "target_audience":
		dst.TargetAudience = src.TargetAudience
	case "message_variant":
		dst.MessageVariant = src.MessageVariant
	case "start_date":
		dst.Start = src.Start
	case "end_date":
		dst.End = src.End
	case "cost_pence":
		dst.CostPence = src.CostPence
	case "utm_campaign":
		dst.UTMCampaign = src.UTMCampaign
	case "codes":
		dst.Codes = src.Codes
	default:
		return false
	}
	return true
}

// UpdatablePaths lists the field paths an update mask may name; an empty mask means all.
func UpdatablePaths() []string {
	return []string{"display_name", "channel", "messenger", "target_audience", "message_variant", "start_date", "end_date", "cost_pence", "utm_campaign", "codes"}
}

// UpdateCampaign applies the fields of c named by paths (all updatable ones when empty)
// to the stored campaign c.Area/c.ID. etag, when not empty, must be the current one. It
// returns a *ValidationError, ErrNotFound, ErrEtagMismatch or ErrAlreadyExists.
// decoded are violations found while decoding the request.
func (s *Service) UpdateCampaign(ctx context.Context, c Campaign, paths []string, etag string, decoded ...Violation) (Campaign, error) {
	vs := violations(slices.Clone(decoded))
	var probe Campaign
	for _, p := range paths {
		if !applyField(&probe, Campaign{}, p) {
			vs.add("update_mask", "names a field that cannot be updated or does not exist")
			break
		}
	}
	if err := vs.err(); err != nil {
		return Campaign{}, err
	}
	if len(paths) == 0 {
		paths = UpdatablePaths()
	}
	cur, err := s.store.GetCampaign(ctx, c.Area, c.ID)
	if err != nil {
		return Campaign{}, fmt.Errorf("update campaign: %w", err)
	}
	if etag != "" && etag != Etag(cur.Revision) {
		return Campaign{}, fmt.Errorf("update campaign: %w", ErrEtagMismatch)
	}
	next := cur
	for _, p := range paths {
		applyField(&next, c, p)
	}
	if err := ValidateCampaign(next, "campaign."); err != nil {
		return Campaign{}, err
	}
	next.Revision = cur.Revision + 1
	next.LastModifier = c.LastModifier
	next.UpdateTime = StoredTime(s.now())
	err = s.store.UpdateCampaign(ctx, next)
	// The update may have moved codes; even a failed write may have landed.
	s.campaigns.changed()
	if err != nil {
		return Campaign{}, fmt.Errorf("update campaign: %w", err)
	}
	return next, nil
}

// EventStatus is what became of one event of a batch.
type EventStatus uint8

// Event statuses.
const (
	StatusAccepted EventStatus = iota + 1
	StatusDuplicate
	StatusInvalid
	StatusConflict
)

// EventResult is the answer for one event.
type EventResult struct {
	Status EventStatus
	// Violations of an invalid event.
	Violations []Violation
	// Message says why an event was refused.
	Message string
}

// ErrTooManyEvents: a batch is empty or larger than the service takes.
var ErrTooManyEvents = errors.New("batch size out of range")

// Record validates the events of one batch, stores the valid ones durably and returns a
// result per event. parentArea is the area of the request's parent ("" for areas/-).
// The good events land even when others are refused. An error is returned only when the
// batch as a whole cannot be handled (then nothing is acknowledged).
func (s *Service) Record(ctx context.Context, parentArea string, raws []RawEvent) ([]EventResult, error) {
	if len(raws) == 0 || len(raws) > s.maxBatch {
		return nil, &ValidationError{Violations: []Violation{{"events", fmt.Sprintf("must hold 1 to %d events", s.maxBatch)}}}
	}
	receive := s.now()
	res := &resolver{ctx: ctx, store: s.store, cache: s.campaigns, now: receive}
	keys := s.hasher.batch(len(raws))
	results := make([]EventResult, len(raws))
	events := make([]Event, 0, len(raws))
	pos := make([]int, 0, len(raws))
	for i := range raws {
		ev, err := normaliseEvent(&raws[i], parentArea, receive, s.policy, keys, res)
		var ve *ValidationError
		switch {
		case errors.As(err, &ve):
			results[i] = EventResult{Status: StatusInvalid, Violations: ve.Violations, Message: ve.Error()}
			continue
		case err != nil:
			return nil, fmt.Errorf("record events: %w", err)
		}
		events = append(events, ev)
		pos = append(pos, i)
	}
	if len(events) == 0 {
		return results, nil
	}
	outcomes, err := s.store.PutEvents(ctx, events)
	if err != nil {
		return nil, fmt.Errorf("record events: %w", err)
	}
	stored := events[:0:0]
	for k, o := range outcomes {
		i := pos[k]
		switch o {
		case PutStored:
			results[i] = EventResult{Status: StatusAccepted}
			stored = append(stored, events[k])
		case PutDuplicate:
			results[i] = EventResult{Status: StatusDuplicate}
		case PutConflict:
			results[i] = EventResult{Status: StatusConflict, Message: "an event with this event_id and different content was recorded before"}
		default:
			return nil, fmt.Errorf("record events: store returned outcome %d", o)
		}
	}
	if len(stored) > 0 && s.sink != nil {
		s.sink.Add(stored)
	}
	return results, nil
}

// campaignKey names a campaign, or a code, of an area.
type campaignKey struct{ area, name string }

// campaignCache remembers, across batches, the answers event validation gets from the
// store: that a campaign exists (campaigns are never deleted, so a yes stays true for
// good) and which campaign a code names (until this service creates or updates a
// campaign, or ttl passes when ttl is not zero). Negative answers are never kept here:
// the campaign or code may be created, by this replica or another, at any moment. Only
// the campaigns and codes that exist can be held, so its size is bounded by the store's.
type campaignCache struct {
	ttl time.Duration

	mu     sync.RWMutex
	exists map[campaignKey]struct{}
	codes  map[campaignKey]codeEntry
	// gen counts the changes of campaigns: an answer read from the store while a change
	// happened is not kept, as it may predate the change.
	gen uint64
}

// codeEntry is the campaign a code names, and when it was read from the store.
type codeEntry struct {
	id   string
	read time.Time
}

func newCampaignCache(ttl time.Duration) *campaignCache {
	return &campaignCache{ttl: ttl, exists: map[campaignKey]struct{}{}, codes: map[campaignKey]codeEntry{}}
}

// hasCampaign reports whether the campaign is known to exist.
func (c *campaignCache) hasCampaign(k campaignKey) bool {
	c.mu.RLock()
	_, ok := c.exists[k]
	c.mu.RUnlock()
	return ok
}

// addCampaign records that the campaign exists.
func (c *campaignCache) addCampaign(k campaignKey) {
	c.mu.Lock()
	c.exists[k] = struct{}{}
	c.mu.Unlock()
}

// code returns the campaign a code is known to name at now, and the generation to
// pass to addCode when it is not known.
func (c *campaignCache) code(k campaignKey, now time.Time) (id string, ok bool, gen uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.codes[k]
	if ok && c.ttl > 0 && (now.Sub(e.read) >= c.ttl || now.Before(e.read)) {
		ok = false
	}
	return e.id, ok, c.gen
}

// addCode records that the code named campaign id when read at the generation gen,
// unless campaigns have changed since.
func (c *campaignCache) addCode(k campaignKey, id string, gen uint64, read time.Time) {
	c.mu.Lock()
	if c.gen == gen {
		c.codes[k] = codeEntry{id: id, read: read}
	}
	c.mu.Unlock()
}

// changed forgets every code's campaign, after a campaign was created or updated.
func (c *campaignCache) changed() {
	c.mu.Lock()
	c.gen++
	clear(c.codes)
	c.mu.Unlock()
}

// resolver looks campaigns up for one batch: through the service's cache, then the
// store. It also remembers every answer for the batch, so that the events of one batch
// see one answer per campaign and code, as they did before the cache, even when a
// campaign changes while the batch is validated.
type resolver struct {
	ctx   context.Context
	store Store
	cache *campaignCache
	now   time.Time
	// exists and codes hold this batch's answers, negative ones included ("" for a
	// code that names no campaign).
	exists map[campaignKey]bool
	codes  map[campaignKey]string
}

// CampaignExists implements CampaignResolver.
func (r *resolver) CampaignExists(area, id string) (bool, error) {
	k := campaignKey{area, id}
	if v, ok := r.exists[k]; ok {
		return v, nil
	}
	if r.exists == nil {
		r.exists = map[campaignKey]bool{}
	}
	if r.cache.hasCampaign(k) {
		r.exists[k] = true
		return true, nil
	}
	_, err := r.store.GetCampaign(r.ctx, area, id)
	switch {
	case errors.Is(err, ErrNotFound):
		r.exists[k] = false
		return false, nil
	case err != nil:
		return false, err
	}
	r.cache.addCampaign(k)
	r.exists[k] = true
	return true, nil
}

// CampaignByCode implements CampaignResolver.
func (r *resolver) CampaignByCode(area, code string) (string, bool, error) {
	k := campaignKey{area, code}
	if id, ok := r.codes[k]; ok {
		return id, id != "", nil
	}
	if r.codes == nil {
		r.codes = map[campaignKey]string{}
	}
	id, ok, gen := r.cache.code(k, r.now)
	if ok {
		r.codes[k] = id
		return id, true, nil
	}
	id, ok, err := r.store.CampaignByCode(r.ctx, area, code)
	if err != nil {
		return "", false, err
	}
	if !ok {
		r.codes[k] = ""
		return "", false, nil
	}
	r.cache.addCode(k, id, gen, r.now)
	r.codes[k] = id
	return id, true, nil
}
