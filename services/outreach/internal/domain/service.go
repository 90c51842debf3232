package domain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
}

// NewService returns a service over opts.
func NewService(opts Options) *Service {
	return &Service{store: opts.Store, sink: opts.Sink, hasher: opts.Hasher, policy: opts.Policy, now: opts.Now, maxBatch: opts.MaxBatch}
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
	if err := s.store.CreateCampaign(ctx, c); err != nil {
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
	if err := s.store.UpdateCampaign(ctx, next); err != nil {
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
	res := &resolver{ctx: ctx, store: s.store, exists: map[[2]string]bool{}, codes: map[[2]string]string{}}
	results := make([]EventResult, len(raws))
	events := make([]Event, 0, len(raws))
	pos := make([]int, 0, len(raws))
	for i, raw := range raws {
		ev, err := NormaliseEvent(raw, parentArea, receive, s.policy, s.hasher, res)
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

// resolver looks campaigns up once per batch.
type resolver struct {
	ctx    context.Context
	store  Store
	exists map[[2]string]bool
	codes  map[[2]string]string
}

// CampaignExists implements CampaignResolver.
func (r *resolver) CampaignExists(area, id string) (bool, error) {
	k := [2]string{area, id}
	if v, ok := r.exists[k]; ok {
		return v, nil
	}
	_, err := r.store.GetCampaign(r.ctx, area, id)
	switch {
	case errors.Is(err, ErrNotFound):
		r.exists[k] = false
		return false, nil
	case err != nil:
		return false, err
	}
	r.exists[k] = true
	return true, nil
}

// CampaignByCode implements CampaignResolver.
func (r *resolver) CampaignByCode(area, code string) (string, bool, error) {
	k := [2]string{area, code}
	if id, ok := r.codes[k]; ok {
		return id, id != "", nil
	}
	id, ok, err := r.store.CampaignByCode(r.ctx, area, code)
	if err != nil {
		return "", false, err
	}
	r.codes[k] = id
	return id, ok, nil
}
