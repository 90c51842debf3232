// Package domain is the eligibility service's application core: rulesets as dated,
// published versions; eligibility checks and cohort screening; advisers' assessments of
// learners with their personal inputs sealed (AES-GCM); an append-only audit trail of
// every read or write of a learner's data; the data-protection duties (retention sweep,
// erasure, subject access export); and the outbox that relays "eligibility checked"
// conversions to outreach.
//
// It declares the [Store] it needs and is implemented by storage packages named after
// what they wrap (boltstore, one process; pgstore, shared by replicas). It imports no
// gRPC, no bbolt and no generated code: the grpcapi package converts messages to the
// types here and back.
//
// Personal data (dates of birth, salaries, postcodes, learner references, journey ids)
// never appears in an error message or a log line produced here.
package domain

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
)

// Sentinel errors. Stores and the service wrap them with %w; the API maps each to a code
// once.
var (
	// ErrNotFound: the ruleset, learner or assessment does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a ruleset version or an assessment id is already stored.
	ErrAlreadyExists = errors.New("already exists")
	// ErrRulesetConflict: the configured ruleset's version is stored with other content;
	// history is never rewritten, so a changed ruleset needs a new version.
	ErrRulesetConflict = errors.New("ruleset version already stored with different content")
	// ErrUndecryptable: a sealed record cannot be opened, because its key is not
	// configured or the record was tampered with.
	ErrUndecryptable = errors.New("sealed data cannot be decrypted")
	// ErrClosed: the service or store has been closed.
	ErrClosed = errors.New("closed")
)

// FieldViolation is one problem with one field of a request. Descriptions never repeat
// the value, which may be personal data.
type FieldViolation = rules.FieldViolation

// ValidationError reports every problem with a request at once. It matches
// rules.ErrInvalid with errors.Is, so one mapping covers domain and rules validation.
type ValidationError struct {
	// Violations are the problems, one per bad field.
	Violations []FieldViolation
}

// Error lists the fields and what is wrong with them, without their values.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid request")
	for i, v := range e.Violations {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.Field)
		b.WriteByte(' ')
		b.WriteString(v.Description)
	}
	return b.String()
}

// Is makes errors.Is(err, rules.ErrInvalid) hold.
func (e *ValidationError) Is(target error) bool { return target == rules.ErrInvalid }

// invalid returns a ValidationError for one field.
func invalid(field, description string) error {
	return &ValidationError{Violations: []FieldViolation{{Field: field, Description: description}}}
}

// Caller is who is calling and through which RPC, for the audit trail.
type Caller struct {
	// Actor is the authenticated subject, or Unauthenticated.
	Actor string
	// RPC is the full gRPC method name, such as
	// /retrain.eligibility.v1.EligibilityService/GetAssessment.
	RPC string
}

// Unauthenticated is the actor recorded when a call carries no authenticated principal.
const Unauthenticated = "unauthenticated"

// Audit actions: what an audit record says happened. They are stable API.
const (
	// ActionAssessmentCreated: an adviser recorded an assessment.
	ActionAssessmentCreated = "ASSESSMENT_CREATED"
	// ActionAssessmentRead: an assessment was read.
	ActionAssessmentRead = "ASSESSMENT_READ"
	// ActionAssessmentsListed: a learner's assessments were listed.
	ActionAssessmentsListed = "ASSESSMENTS_LISTED"
	// ActionAssessmentReplayed: an assessment was re-evaluated.
	ActionAssessmentReplayed = "ASSESSMENT_REPLAYED"
	// ActionLearnerExported: everything held on a learner was exported (subject access).
	ActionLearnerExported = "LEARNER_EXPORTED"
	// ActionLearnerErased: a learner's data was erased. The record names no learner.
	ActionLearnerErased = "LEARNER_ERASED"
	// ActionRetentionSweep: assessments past the retention period were deleted.
	ActionRetentionSweep = "RETENTION_SWEEP"
	// ActionRulesetPublished: a ruleset version was published.
	ActionRulesetPublished = "RULESET_PUBLISHED"
)

// AuditRecord is one entry of the append-only audit trail. No API edits or deletes one;
// erasure of a learner only blanks the learner and assessment fields of that learner's
// records (see Store.EraseLearner), keeping who did what and when.
type AuditRecord struct {
	// Sequence orders the trail; the store assigns it, starting at 1.
	Sequence uint64
	// Time is when it happened.
	Time time.Time
	// Actor is who did it.
	Actor string
	// Action is one of the Action constants.
	Action string
	// Learner is the learner reference whose data was read or written; empty when none or
	// after erasure.
	Learner string
	// Assessment is the assessment id, when one assessment was concerned.
	Assessment string
	// RPC is the full gRPC method name.
	RPC string
	// Detail is non-personal context, such as a count or a ruleset version.
	Detail string
	// Redacted is true when erasure blanked the learner and assessment.
	Redacted bool
}

// RulesetRecord is a published ruleset version as stored.
type RulesetRecord struct {
	// Ruleset is the rule as dated data.
	Ruleset rules.Ruleset
	// EffectiveFrom is the first day on which this version is the one in force; the zero
	// date means from the beginning (only the first version stored).
	EffectiveFrom civil.Date
	// PublishedAt is when it was stored.
	PublishedAt time.Time
	// PublishedBy is the actor who published it ("config" for the configured ruleset).
	PublishedBy string
	// Source is SourceBuiltin, SourceFile or SourceAPI.
	Source string
}

// Ruleset sources.
const (
	// SourceBuiltin: the ruleset embedded in the binary.
	SourceBuiltin = "builtin"
	// SourceFile: the ruleset given by flag.
	SourceFile = "file"
	// SourceAPI: published through the admin RPC.
	SourceAPI = "api"
)

// StoredAssessment is an assessment as stored: who, when, under which ruleset and the
// outcome in clear; every personal input and the full answer (whose eligible-from date and
// salary margin would reveal the date of birth and salary) sealed with AES-GCM.
type StoredAssessment struct {
	// Learner is the adviser's opaque reference for the learner.
	Learner string
	// ID is the assessment id, time-ordered.
	ID string
	// CreateTime is when it was recorded.
	CreateTime time.Time
	// RecordedBy is the actor who recorded it.
	RecordedBy string
	// RulesetVersion is the version that decided it.
	RulesetVersion string
	// Outcome is the overall answer.
	Outcome rules.Outcome
	// KeyID names the data key that sealed it.
	KeyID string
	// Sealed is nonce || ciphertext of the inputs and the answer.
	Sealed []byte
}

// Conversion is an "eligibility checked" event for outreach attribution.
type Conversion struct {
	// EventID is unique per conversion and stays the same on every redelivery, so the
	// receiver deduplicates by it.
	EventID string
	// JourneyID is the visitor journey the front end sent with the check.
	JourneyID string
	// Outcome is the answer of the check.
	Outcome rules.Outcome
	// Areas are the ONS codes the postcode resolved to.
	Areas []string
	// RulesetVersion decided the answer.
	RulesetVersion string
	// Time is when the check was made.
	Time time.Time
}

// OutboxEntry is a conversion waiting in the outbox, with its position.
type OutboxEntry struct {
	// Sequence orders the outbox.
	Sequence uint64
	// Conversion is the event.
	Conversion Conversion
}

// LearnerData is everything held on one learner.
type LearnerData struct {
	// Assessments in the order they were recorded.
	Assessments []StoredAssessment
	// Audit are the audit records about the learner, oldest first.
	Audit []AuditRecord
}

// Store is what the service needs from storage. Every method that reads or writes a
// learner's data takes the audit record to append and appends it in the same transaction,
// durably, before returning; implementations group concurrent small writes into one
// commit. Stores never see personal data in clear: assessments arrive sealed.
//
// Learner and assessment ids are validated by the service before they reach a store.
type Store interface {
	// CreateRuleset stores a ruleset version and appends audit. ErrAlreadyExists when the
	// version is stored.
	CreateRuleset(ctx context.Context, r RulesetRecord, audit AuditRecord) error
	// Rulesets returns the stored versions in publication order, without the first skip
	// (0: all). Versions are only ever appended, and a version is in the order from the
	// moment its CreateRuleset returns, ahead of any version created later; so a process
	// that has read n versions learns of those published since, by itself or by another
	// process sharing the store, with Rulesets(ctx, n).
	Rulesets(ctx context.Context, skip int) ([]RulesetRecord, error)

	// CreateAssessment stores a and appends audit in one durable transaction.
	// ErrAlreadyExists when the learner already has an assessment with a.ID.
	CreateAssessment(ctx context.Context, a StoredAssessment, audit AuditRecord) error
	// GetAssessment returns one assessment and appends audit. ErrNotFound when absent (and
	// nothing is appended).
	GetAssessment(ctx context.Context, learner, id string, audit AuditRecord) (StoredAssessment, error)
	// ListAssessments returns up to limit (all when limit <= 0) of the learner's
	// assessments with ids after afterID (from the first when empty), oldest first, and
	// appends audit.
	ListAssessments(ctx context.Context, learner, afterID string, limit int, audit AuditRecord) ([]StoredAssessment, error)
	// ExportLearner returns everything held on the learner and appends audit (which the
	// export then includes).
	ExportLearner(ctx context.Context, learner string, audit AuditRecord) (LearnerData, error)
	// EraseLearner deletes every assessment of the learner, blanks the learner and
	// assessment of their audit records, appends audit (which must name no learner) and
	// returns how many assessments were deleted. No trace of the learner's data may remain
	// readable in the store's files afterwards.
	EraseLearner(ctx context.Context, learner string, audit AuditRecord) (int, error)
	// DeleteAssessmentsBefore deletes up to limit assessments recorded before cutoff,
	// oldest first, appends audit (with the count as Detail) when it deleted any, and
	// returns the count.
	DeleteAssessmentsBefore(ctx context.Context, cutoff time.Time, limit int, audit AuditRecord) (int, error)

	// ListAudit returns up to limit audit records with sequence after afterSeq, in order.
	// Sequences are assigned in commit order: once a record is listed, no record with a
	// lower sequence appears later, so a reader following the trail page by page misses
	// nothing, even while other processes sharing the store write.
	ListAudit(ctx context.Context, afterSeq uint64, limit int) ([]AuditRecord, error)

	// AppendConversion durably appends c to the outbox. An event id already pending is
	// not appended again.
	AppendConversion(ctx context.Context, c Conversion) error
	// PendingConversions returns up to limit outbox entries, oldest first. When several
	// processes share the store, only one at a time (the holder of the store's relay
	// lease, taken and renewed by this call) is given entries and the others get none,
	// so the outbox is delivered by one relay, in order; the lease passes to another
	// process when its holder closes the store or stops calling for longer than the lease.
	PendingConversions(ctx context.Context, limit int) ([]OutboxEntry, error)
	// RemoveConversions deletes delivered entries; deadLetter moves permanently rejected
	// ones aside. Unknown sequences are ignored, so it is safe to repeat.
	RemoveConversions(ctx context.Context, delivered []uint64, deadLetter []uint64) error

	// Close releases the store.
	Close() error
}
