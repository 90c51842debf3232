package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"slices"
	"time"
)

// RawEvent is an event as a client sent it, before validation.
type RawEvent struct {
	ID        string
	JourneyID string
	Area      string
	// OccurTime is required; SendTime is optional (zero when not given).
	OccurTime, SendTime time.Time
	// Kind is zero when the client sent neither a touch nor a conversion.
	Kind Kind
	// A touch.
	Source       TouchSource
	CampaignName string
	Code         string
	Channel      Channel
	Messenger    Messenger
	// A conversion.
	Stage   Stage
	Outcome Outcome
	Reason  WithdrawalReason
	// Violations were found while decoding (a malformed timestamp): the event is invalid.
	Violations []Violation
}

// MaxEventIDLen and MaxJourneyIDLen bound the identifiers of an event.
const (
	MaxEventIDLen   = 128
	MaxJourneyIDLen = 256
)

// ValidEventID reports whether id is 1 to 128 letters, digits and . _ : -.
func ValidEventID(id string) bool {
	if len(id) == 0 || len(id) > MaxEventIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// JourneyHasher turns journey ids into keys with HMAC-SHA-256 under a secret, so that a
// leaked database does not give the ids back and ids cannot be tested for membership
// without the secret.
type JourneyHasher struct{ secret []byte }

// MinSecretLen is the shortest journey secret accepted, in bytes.
const MinSecretLen = 32

// NewJourneyHasher returns a hasher keyed with secret (at least MinSecretLen bytes).
func NewJourneyHasher(secret []byte) JourneyHasher {
	return JourneyHasher{secret: append([]byte(nil), secret...)}
}

// Key returns the keyed hash of a journey id, truncated to 128 bits.
func (h JourneyHasher) Key(journeyID string) JourneyKey {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte(journeyID))
	var k JourneyKey
	copy(k[:], m.Sum(nil))
	return k
}

// journeyKeyer turns journey ids into keys: a JourneyHasher, or the batch hasher of one
// Record call.
type journeyKeyer interface {
	Key(journeyID string) JourneyKey
}

// batchHasher hashes the journey ids of one batch: one keyed HMAC state, reset between
// ids (which skips re-deriving the keyed pads), and each distinct id hashed once. It
// is not safe for concurrent use.
type batchHasher struct {
	mac  hash.Hash
	buf  []byte // the id being hashed, then its sum
	keys map[string]JourneyKey
}

// batch returns a hasher for the journey ids of one batch of about n events.
func (h JourneyHasher) batch(n int) *batchHasher {
	return &batchHasher{mac: hmac.New(sha256.New, h.secret), buf: make([]byte, 0, 64), keys: make(map[string]JourneyKey, min(n, 64))}
}

// Key returns the keyed hash of a journey id, as JourneyHasher.Key does.
func (b *batchHasher) Key(journeyID string) JourneyKey {
	if k, ok := b.keys[journeyID]; ok {
		return k
	}
	b.mac.Reset()
	b.buf = append(b.buf[:0], journeyID...)
	b.mac.Write(b.buf)
	b.buf = b.mac.Sum(b.buf[:0])
	var k JourneyKey
	copy(k[:], b.buf)
	b.keys[journeyID] = k
	return k
}

// SecretCheck returns a value that identifies the secret without revealing it (the
// HMAC under the secret of a fixed label), so that replicas can tell whether they were
// given the same secret.
func (h JourneyHasher) SecretCheck() []byte {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte("retrain/outreach/journey-secret-check/v1"))
	return m.Sum(nil)
}

// TimePolicy bounds event times.
type TimePolicy struct {
	// MaxFuture is how far after its receipt an event may (after skew correction) claim
	// to have happened.
	MaxFuture time.Duration
	// LateHorizon is how long before its receipt an event may have happened and still be
	// accepted (completions arrive months later).
	LateHorizon time.Duration
}

// CorrectedTime is when the event happened by the service's clock. When the sender gave
// its send time, the sender's clock offset is removed: the event happened
// (send - occur) before it was received (the Snowplow "derived timestamp"). Otherwise
// the occur time is taken as it is.
func CorrectedTime(occur, send, receive time.Time) time.Time {
	if send.IsZero() {
		return occur
	}
	return receive.Add(-send.Sub(occur))
}

// CampaignResolver finds the campaigns events refer to.
type CampaignResolver interface {
	// CampaignExists reports whether the area has a campaign with that id.
	CampaignExists(area, id string) (bool, error)
	// CampaignByCode returns the id of the area's campaign with that normalised code.
	CampaignByCode(area, code string) (id string, ok bool, err error)
}

// NormaliseEvent validates a raw event received at receive and turns it into an Event.
// parentArea is the area of the request's parent ("" for areas/-). It returns a
// *ValidationError naming the bad fields, or another error if resolving failed.
func NormaliseEvent(raw RawEvent, parentArea string, receive time.Time, policy TimePolicy, hasher JourneyHasher, campaigns CampaignResolver) (Event, error) {
	return normaliseEvent(&raw, parentArea, receive, policy, hasher, campaigns)
}

// normaliseEvent is NormaliseEvent with the journey ids hashed by keys (a batch's
// hasher when called from Record).
func normaliseEvent(raw *RawEvent, parentArea string, receive time.Time, policy TimePolicy, keys journeyKeyer, campaigns CampaignResolver) (Event, error) {
	vs := violations(slices.Clone(raw.Violations))
	decodedBad := func(field string) bool {
		return slices.ContainsFunc(raw.Violations, func(v Violation) bool { return v.Field == field })
	}
	if !ValidEventID(raw.ID) {
		vs.add("event_id", "is required: 1 to 128 letters, digits and . _ : -")
	}
	if len(raw.JourneyID) == 0 || len(raw.JourneyID) > MaxJourneyIDLen {
		vs.add("journey_id", "is required: 1 to 256 characters")
	}
	area := raw.Area
	switch {
	case area == "" && parentArea != "":
		area = parentArea
	case area == "":
		vs.add("area", "is required when the parent is areas/-")
	case !ValidArea(area):
		vs.add("area", "must be an ONS area code such as E37000022")
		area = ""
	case parentArea != "" && area != parentArea:
		vs.add("area", "must be the area of the parent")
		area = "" // campaigns are not looked up in an area the event may not name
	}
	var t time.Time
	switch {
	case raw.OccurTime.IsZero():
		if !decodedBad("occur_time") {
			vs.add("occur_time", "is required")
		}
	default:
		t = CorrectedTime(raw.OccurTime, raw.SendTime, receive)
		if !raw.SendTime.IsZero() && raw.SendTime.Before(raw.OccurTime.Add(-policy.MaxFuture)) {
			vs.add("send_time", "must not be before occur_time")
		} else if t.After(receive.Add(policy.MaxFuture)) {
			vs.add("occur_time", "is too far in the future")
		} else if t.Before(receive.Add(-policy.LateHorizon)) {
			vs.add("occur_time", "is older than the late-event horizon")
		}
	}
	ev := Event{ID: raw.ID, Area: area, Time: StoredTime(t), ReceiveTime: StoredTime(receive), Kind: raw.Kind}
	switch raw.Kind {
	case KindTouch:
		ev.Source = raw.Source
		if raw.Source <= SourceUnspecified || raw.Source >= sourceEnd {
			vs.add("touch.source", "is required and must be a known source")
		}
		if !raw.Channel.Valid() {
			vs.add("touch.channel", "must be a known channel")
		}
		if !raw.Messenger.Valid() {
			vs.add("touch.messenger", "must be a known messenger")
		}
		switch {
		case raw.CampaignName != "":
			ca, id, ok := ParseCampaignName(raw.CampaignName)
			if !ok {
				vs.add("touch.campaign", "must be a campaign name areas/{area}/campaigns/{campaign}")
				break
			}
			if area == "" {
				break
			}
			if ca != area {
				vs.add("touch.campaign", "must be a campaign of the event's area")
				break
			}
			exists, err := campaigns.CampaignExists(ca, id)
			if err != nil {
				return Event{}, err
			}
			if !exists {
				vs.add("touch.campaign", "names no campaign")
				break
			}
			ev.Campaign = id
		case raw.Code != "":
			if !validCode(raw.Code) {
				vs.add("touch.code", "must be 1 to 64 printable characters without spaces")
				break
			}
			if area == "" {
				break
			}
			id, ok, err := campaigns.CampaignByCode(area, NormaliseCode(raw.Code))
			if err != nil {
				return Event{}, err
			}
			if !ok {
				vs.add("touch.code", "is not the code of any campaign of the area")
				break
			}
			ev.Campaign = id
		}
		if raw.Source == SourceDirect && (ev.Campaign != "" || raw.Channel != ChannelUnspecified || raw.Messenger != MessengerUnspecified) {
			vs.add("touch.source", "a direct visit has no campaign, code, channel or messenger")
		}
		if ev.Campaign == "" {
			ev.Channel, ev.Messenger = raw.Channel, raw.Messenger
		}
	case KindConversion:
		ev.Stage, ev.Outcome, ev.Reason = raw.Stage, raw.Outcome, raw.Reason
		if !raw.Stage.Valid() {
			vs.add("conversion.stage", "is required and must be a known stage")
		}
		switch {
		case raw.Stage == StageEligibilityChecked && (raw.Outcome <= OutcomeUnspecified || raw.Outcome >= outcomeEnd):
			vs.add("conversion.eligibility_outcome", "is required for ELIGIBILITY_CHECKED")
		case raw.Stage != StageEligibilityChecked && raw.Outcome != OutcomeUnspecified:
			vs.add("conversion.eligibility_outcome", "is only for ELIGIBILITY_CHECKED")
		}
		switch {
		case raw.Reason < 0 || raw.Reason >= withdrawalEnd:
			vs.add("conversion.withdrawal_reason", "must be a known reason")
		case raw.Stage != StageWithdrawal && raw.Reason != 0:
			vs.add("conversion.withdrawal_reason", "is only for WITHDRAWAL")
		}
	default:
		vs.add("detail", "exactly one of touch and conversion is required")
	}
	if err := vs.err(); err != nil {
		return Event{}, err
	}
	ev.Journey = keys.Key(raw.JourneyID)
	ev.Fingerprint = fingerprint(raw, area, ev.Journey)
	return ev, nil
}

// fingerprint hashes what the client said (not the send time, which changes when a
// client resends, and not the receive time): two sends of one event match, and any
// change of content does not.
func fingerprint(raw *RawEvent, area string, journey JourneyKey) Fingerprint {
	// The encoding is built on the stack for all but the longest events (ids of 128
	// bytes, a long campaign name and a 64-byte code still fit).
	var scratch [512]byte
	b := scratch[:0]
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	num := func(n int64) { b = binary.AppendVarint(b, n) }
	str(raw.ID)
	b = append(b, journey[:]...)
	str(area)
	num(raw.OccurTime.UnixNano())
	num(int64(raw.Kind))
	num(int64(raw.Source))
	str(raw.CampaignName)
	str(NormaliseCode(raw.Code))
	num(int64(raw.Channel))
	num(int64(raw.Messenger))
	num(int64(raw.Stage))
	num(int64(raw.Outcome))
	num(int64(raw.Reason))
	sum := sha256.Sum256(b)
	var f Fingerprint
	copy(f[:], sum[:])
	return f
}
