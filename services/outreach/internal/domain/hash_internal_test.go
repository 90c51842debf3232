package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

func TestBatchHasherMatchesKey(t *testing.T) {
	h := NewJourneyHasher([]byte("0123456789abcdef0123456789abcdef"))
	b := h.batch(4)
	ids := []string{"j1", "j2", "j1", "", strings.Repeat("x", MaxJourneyIDLen), "j2", "J1"}
	for _, id := range ids {
		name := id
		if len(name) > 16 {
			name = name[:16] + "..."
		}
		t.Run(name, func(t *testing.T) {
			if got, want := b.Key(id), h.Key(id); got != want {
				t.Errorf("batch Key(%q) = %x, want %x", id, got, want)
			}
		})
	}
	if len(b.keys) != 5 {
		t.Errorf("batch hashed %d distinct ids, want 5", len(b.keys))
	}
}

// fingerprintV1 is the fingerprint encoding as first released. Stored events carry
// fingerprints computed with it, so it must never change: a resent event would
// otherwise be taken for a conflict.
func fingerprintV1(raw RawEvent, area string, journey JourneyKey) Fingerprint {
	h := sha256.New()
	var b []byte
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
	h.Write(b)
	var f Fingerprint
	copy(f[:], h.Sum(nil))
	return f
}

func TestFingerprintEncodingUnchanged(t *testing.T) {
	occur := time.Date(2020, 9, 20, 11, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		raw  RawEvent
	}{
		{"touch with code", RawEvent{ID: "e1", OccurTime: occur, Kind: KindTouch, Source: SourceCodeEntered, Code: " leaf1 "}},
		{"touch with campaign", RawEvent{ID: "e2", OccurTime: occur, Kind: KindTouch, Source: SourceCampaignLink,
			CampaignName: "areas/E37000022/campaigns/radio", Channel: ChannelRadio, Messenger: MessengerEmployer}},
		{"conversion", RawEvent{ID: "e3", OccurTime: occur, Kind: KindConversion, Stage: StageWithdrawal, Reason: 7}},
		{"longer than the stack buffer", RawEvent{ID: strings.Repeat("i", MaxEventIDLen), OccurTime: occur, Kind: KindTouch,
			CampaignName: strings.Repeat("c", 400), Code: strings.Repeat("K", 64)}},
	}
	journey := JourneyKey{1, 2, 3}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw
			if got, want := fingerprint(&raw, "E37000022", journey), fingerprintV1(raw, "E37000022", journey); got != want {
				t.Errorf("fingerprint = %x, want %x", got, want)
			}
		})
	}
}

// TestJourneyKeyIsHMAC pins the journey key to HMAC-SHA-256 truncated to 128 bits:
// stored keys must stay comparable with new ones.
func TestJourneyKeyIsHMAC(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("journey-1"))
	var want JourneyKey
	copy(want[:], m.Sum(nil))
	if got := NewJourneyHasher(secret).batch(1).Key("journey-1"); got != want {
		t.Errorf("Key = %x, want %x", got, want)
	}
}
