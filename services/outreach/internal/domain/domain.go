// Package domain is the outreach service's domain: campaigns of the pilot areas, the
// touches and conversions of visitors' journeys, their validation, and ingestion that
// never loses or double-counts an event. It imports no gRPC, storage or generated code:
// stores implement the Store interface declared here.
package domain

import (
	"errors"
	"strings"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
)

// Domain errors. They are wrapped with %w and mapped to gRPC codes once, in grpcapi.
var (
	// ErrNotFound: the campaign does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a campaign id, or one of a campaign's codes, is already taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrEtagMismatch: the etag given on update is not the current one.
	ErrEtagMismatch = errors.New("etag does not match the current campaign")
	// ErrPermissionDenied: the caller may not act on that area.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrTooComplex: a report would take too much work (too many groups for a model).
	ErrTooComplex = errors.New("report too complex")
)

// Channel is the medium of a campaign. The numbers are those of the API enum.
type Channel int32

// Channels.
const (
	ChannelUnspecified Channel = iota
	ChannelSocialMedia
	ChannelRadio
	ChannelPrint
	ChannelEmail
	ChannelEmployer
	ChannelUnionLearningRep
	ChannelCareersAdviser
	ChannelEvent
	ChannelSearch
	ChannelOther
	channelEnd
)

// Valid reports whether c is a known channel (unspecified included).
func (c Channel) Valid() bool { return c >= 0 && c < channelEnd }

// Messenger is who a campaign's message comes from. The numbers are the API enum's.
type Messenger int32

// Messengers.
const (
	MessengerUnspecified Messenger = iota
	MessengerLocalAuthority
	MessengerLEPOrCombinedAuthority
	MessengerNationalBody
	MessengerEmployer
	MessengerTradeUnion
	MessengerNationalCareersService
	messengerEnd
)

// Valid reports whether m is a known messenger (unspecified included).
func (m Messenger) Valid() bool { return m >= 0 && m < messengerEnd }

// NumMessengers is the number of messenger values, unspecified included.
const NumMessengers = int(messengerEnd)

// TouchSource is how a touch reached the visitor.
type TouchSource int32

// Touch sources.
const (
	SourceUnspecified TouchSource = iota
	SourceCampaignLink
	SourceCodeEntered
	SourceAdviserReferral
	SourceUnionReferral
	SourceEmployerReferral
	SourceDirect
	sourceEnd
)

// Stage is a conversion stage of the funnel. Zero is not a stage.
type Stage int32

// Stages, in funnel order.
const (
	StageUnspecified Stage = iota
	StageEligibilityChecked
	StageCourseEnquiry
	StageEnrolment
	StageCompletion
	StageWithdrawal
	stageEnd
)

// Stages lists the conversion stages in funnel order.
func Stages() [5]Stage {
	return [5]Stage{StageEligibilityChecked, StageCourseEnquiry, StageEnrolment, StageCompletion, StageWithdrawal}
}

// NumStages is one more than the highest stage, for arrays indexed by stage.
const NumStages = int(stageEnd)

// Valid reports whether s is a real stage.
func (s Stage) Valid() bool { return s > StageUnspecified && s < stageEnd }

// Outcome is the outcome of an eligibility check.
type Outcome int32

// Outcomes.
const (
	OutcomeUnspecified Outcome = iota
	OutcomeEligible
	OutcomeNotEligible
	OutcomeUndetermined
	outcomeEnd
)

// WithdrawalReason is why a learner withdrew.
type WithdrawalReason int32

// withdrawalEnd is one past the highest reason (OTHER = 7).
const withdrawalEnd WithdrawalReason = 8

// Campaign is an outreach campaign of one area.
type Campaign struct {
	// Area is the ONS code of the area that runs it.
	Area string
	// ID is the last segment of its name.
	ID string
	// DisplayName is its human-readable name.
	DisplayName string
	// Channel is the medium.
	Channel Channel
	// Messenger is who the message comes from.
	Messenger Messenger
	// TargetAudience is who it is aimed at.
	TargetAudience string
	// MessageVariant names the version of the message.
	MessageVariant string
	// Start is the first day; End the last (zero while open-ended).
	Start, End civil.Date
	// CostPence is what it cost.
	CostPence int64
	// UTMCampaign is the utm_campaign value of its links.
	UTMCampaign string
	// Codes are its promo and QR codes.
	Codes []string
	// CreateTime and UpdateTime are set by the service.
	CreateTime, UpdateTime time.Time
	// Revision counts its updates, starting at 1; the etag is derived from it.
	Revision uint64
	// Creator and LastModifier are the subjects of the callers who created and last
	// changed it ("unauthenticated" when there was no authenticated caller).
	Creator, LastModifier string
}

// StoredTime is t as every store keeps it: UTC, to the microsecond (PostgreSQL's
// precision), so a value reads back from any store exactly as the service returned it.
func StoredTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Name is the campaign's resource name.
func (c Campaign) Name() string { return CampaignName(c.Area, c.ID) }

// CampaignName returns areas/{area}/campaigns/{id}.
func CampaignName(area, id string) string { return "areas/" + area + "/campaigns/" + id }

// LookupCodes returns the codes that identify the campaign in the wild, normalised:
// the UTM value and the promo codes, each in upper case, without duplicates.
func (c Campaign) LookupCodes() []string {
	var out []string
	add := func(s string) {
		s = NormaliseCode(s)
		if s == "" {
			return
		}
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	add(c.UTMCampaign)
	for _, s := range c.Codes {
		add(s)
	}
	return out
}

// NormaliseCode is how codes are compared: trimmed and upper case, since people type
// leaflet codes in any case.
func NormaliseCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// JourneyKey is the keyed hash of a journey id: the only form in which it is kept.
type JourneyKey [16]byte

// Fingerprint is a hash of an event's content, to tell duplicates from conflicts.
type Fingerprint [16]byte

// Kind tells touches from conversions.
type Kind uint8

// Kinds.
const (
	KindTouch Kind = iota + 1
	KindConversion
)

// Event is a validated, stored event.
type Event struct {
	// ID is the client-generated event id.
	ID string
	// Journey is the keyed hash of the journey id.
	Journey JourneyKey
	// Area is the ONS code of the area.
	Area string
	// Time is when it happened, corrected for the sender's clock skew.
	Time time.Time
	// ReceiveTime is when the service received it.
	ReceiveTime time.Time
	// Kind is touch or conversion.
	Kind Kind
	// Source, Campaign (an id in Area, "" for none), Channel and Messenger describe a
	// touch. Channel and Messenger are those given for a touch without a campaign.
	Source    TouchSource
	Campaign  string
	Channel   Channel
	Messenger Messenger
	// Stage, Outcome and Reason describe a conversion.
	Stage   Stage
	Outcome Outcome
	Reason  WithdrawalReason
	// Fingerprint hashes the content as sent (everything but the send time).
	Fingerprint Fingerprint
}

// Direct reports whether the event is a direct visit: a touch with no campaign, code or
// referral.
func (e Event) Direct() bool { return e.Kind == KindTouch && e.Source == SourceDirect }
