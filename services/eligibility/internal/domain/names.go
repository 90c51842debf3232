package domain

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Resource name collections.
const (
	learnersCollection    = "learners/"
	assessmentsCollection = "/assessments/"
	rulesetsCollection    = "rulesets/"
	auditCollection       = "auditRecords/"
)

// maxRefLen bounds learner references and journey ids.
const maxRefLen = 64

// ValidRef reports whether s can be a learner reference or a journey id: 1 to 64 ASCII
// letters, digits, '.', '_' or '-', starting with a letter or digit. These come from
// other systems, so they are not restricted to lower case, but they must be safe in a URL
// path segment and in a store key.
func ValidRef(s string) bool {
	if len(s) == 0 || len(s) > maxRefLen || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// LearnerName returns learners/{learner}.
func LearnerName(learner string) string { return learnersCollection + learner }

// AssessmentName returns learners/{learner}/assessments/{id}.
func AssessmentName(learner, id string) string {
	return learnersCollection + learner + assessmentsCollection + id
}

// RulesetName returns rulesets/{version}.
func RulesetName(version string) string { return rulesetsCollection + version }

// AuditRecordName returns auditRecords/{sequence}.
func AuditRecordName(seq uint64) string { return auditCollection + strconv.FormatUint(seq, 10) }

// ParseLearnerName reads learners/{learner}; field names the request field for the
// violation.
func ParseLearnerName(field, name string) (string, error) {
	learner, ok := strings.CutPrefix(name, learnersCollection)
	if !ok || !ValidRef(learner) {
		return "", invalid(field, "must be learners/{learner}, the learner a reference of 1 to 64 letters, digits, '.', '_' or '-'")
	}
	return learner, nil
}

// ParseAssessmentName reads learners/{learner}/assessments/{assessment}.
func ParseAssessmentName(field, name string) (learner, id string, err error) {
	rest, ok := strings.CutPrefix(name, learnersCollection)
	if ok {
		learner, id, ok = strings.Cut(rest, assessmentsCollection)
	}
	if !ok || !ValidRef(learner) || !validAssessmentID(id) {
		return "", "", invalid(field, "must be learners/{learner}/assessments/{assessment}")
	}
	return learner, id, nil
}

// ParseRulesetName reads rulesets/{version}.
func ParseRulesetName(field, name string) (string, error) {
	v, ok := strings.CutPrefix(name, rulesetsCollection)
	if !ok || !ValidVersion(v) {
		return "", invalid(field, "must be rulesets/{version}")
	}
	return v, nil
}

// ValidVersion reports whether v can be a ruleset version: 1 to 63 lower-case letters,
// digits, '.' or '-', starting with a letter or digit (a resource id per AIP-122, with
// dots for versions like 2024.1).
func ValidVersion(v string) bool {
	if len(v) == 0 || len(v) > 63 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '-' || c == '.')
		if !ok {
			return false
		}
	}
	return true
}

// assessmentIDLen is the length of an assessment id: 32 hex digits.
const assessmentIDLen = 32

// newAssessmentID returns a time-ordered id: the creation time in milliseconds (6 bytes)
// and 10 random bytes, as 32 lower-case hex digits, so ids sort in the order they were
// made and listing is chronological.
func newAssessmentID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func validAssessmentID(id string) bool {
	if len(id) != assessmentIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// newEventID returns a random UUID (version 4) for a conversion.
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Paging limits.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// pageSize applies the defaults of AIP-158: 0 is the default, above the maximum is
// coerced down, negative is invalid.
func pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, invalid("page_size", "must not be negative")
	case n == 0:
		return defaultPageSize, nil
	case n > maxPageSize:
		return maxPageSize, nil
	}
	return int(n), nil
}

// Page tokens are opaque to clients: base64url of "scope\x00position". The scope ties a
// token to the list it came from, so a token from one learner's list is refused on
// another's.
func encodeToken(scope, position string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(scope + "\x00" + position))
}

func decodeToken(scope, token string) (string, error) {
	if token == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		s, pos, ok := strings.Cut(string(raw), "\x00")
		if ok && s == scope && pos != "" {
			return pos, nil
		}
	}
	return "", invalid("page_token", "is not a page token of this list")
}
