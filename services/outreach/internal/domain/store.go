package domain

import (
	"context"
)

// PutOutcome is what storing one event did.
type PutOutcome uint8

// Put outcomes.
const (
	// PutStored: the event is new and now durable.
	PutStored PutOutcome = iota + 1
	// PutDuplicate: an event with the same id and fingerprint was already stored.
	PutDuplicate
	// PutConflict: an event with the same id and a different fingerprint was stored.
	PutConflict
)

// ListCursor is where a campaign listing resumes: after the campaign (Area, ID).
type ListCursor struct {
	Area, ID string
}

// Store keeps campaigns and events. Implementations must be safe for concurrent use.
type Store interface {
	// CreateCampaign stores a new campaign with its codes. ErrAlreadyExists when the id or
	// any of its lookup codes is taken in the area.
	CreateCampaign(ctx context.Context, c Campaign) error
	// GetCampaign returns a campaign; ErrNotFound when there is none.
	GetCampaign(ctx context.Context, area, id string) (Campaign, error)
	// UpdateCampaign replaces a campaign whose stored revision is c.Revision-1, and its
	// codes. ErrNotFound, ErrEtagMismatch (revision moved on) or ErrAlreadyExists (a code
	// taken by another campaign).
	UpdateCampaign(ctx context.Context, c Campaign) error
	// ListCampaigns returns up to limit campaigns of area ("" for every area) after the
	// cursor (zero for the start), in (area, id) order.
	ListCampaigns(ctx context.Context, area string, after ListCursor, limit int) ([]Campaign, error)
	// CampaignByCode returns the id of the area's campaign with a normalised lookup code.
	CampaignByCode(ctx context.Context, area, code string) (id string, ok bool, err error)

	// PutEvents stores the events not stored before, comparing fingerprints for the
	// others, and returns one outcome per event, in order. It returns only once the
	// stored events are durable. Events of one call may repeat an id: the first wins.
	PutEvents(ctx context.Context, events []Event) ([]PutOutcome, error)
	// ScanEvents calls fn with every stored event, in no particular order, until fn
	// returns an error.
	ScanEvents(ctx context.Context, fn func(Event) error) error
}
