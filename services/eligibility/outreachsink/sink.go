// Package outreachsink delivers the eligibility service's "eligibility checked"
// conversions to the outreach service: the gRPC client behind the outbox relay.
package outreachsink

import (
	"context"
	"fmt"

	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"github.com/nrs-pilots/retrain/services/eligibility"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Sink sends conversions with outreach's RecordEvents. It implements
// eligibility.ConversionSink.
type Sink struct {
	client outreachv1.OutreachServiceClient
	token  func(ctx context.Context) (string, error)
}

// New returns a sink over conn. token, when not nil, gives the bearer token of the
// eligibility service's own identity for each call.
func New(conn grpc.ClientConnInterface, token func(ctx context.Context) (string, error)) *Sink {
	return &Sink{client: outreachv1.NewOutreachServiceClient(conn), token: token}
}

var outcomes = map[rules.Outcome]outreachv1.EligibilityOutcome{
	rules.OutcomeEligible:     outreachv1.EligibilityOutcome_ELIGIBILITY_OUTCOME_ELIGIBLE,
	rules.OutcomeNotEligible:  outreachv1.EligibilityOutcome_ELIGIBILITY_OUTCOME_NOT_ELIGIBLE,
	rules.OutcomeUndetermined: outreachv1.EligibilityOutcome_ELIGIBILITY_OUTCOME_UNDETERMINED,
}

// Send delivers batch in one RecordEvents call. A conversion without an area cannot be
// attributed and is rejected for good (dead-lettered by the relay) without being sent.
func (s *Sink) Send(ctx context.Context, batch []eligibility.Conversion) error {
	results := make([]error, len(batch))
	req := &outreachv1.RecordEventsRequest{Parent: "areas/-"}
	sentIndex := make([]int, 0, len(batch))
	for i, c := range batch {
		if len(c.Areas) == 0 {
			results[i] = fmt.Errorf("%w: no area to attribute the check to", eligibility.ErrConversionRejected)
			continue
		}
		req.Events = append(req.Events, &outreachv1.Event{
			EventId:   c.EventID,
			JourneyId: c.JourneyID,
			Area:      c.Areas[0],
			OccurTime: timestamppb.New(c.Time),
			Detail: &outreachv1.Event_Conversion{Conversion: &outreachv1.Conversion{
				Stage:              outreachv1.ConversionStage_CONVERSION_STAGE_ELIGIBILITY_CHECKED,
				EligibilityOutcome: outcomes[c.Outcome],
			}},
		})
		sentIndex = append(sentIndex, i)
	}
	if len(req.Events) > 0 {
		if s.token != nil {
			tok, err := s.token(ctx)
			if err != nil {
				return fmt.Errorf("outreach sink token: %w", err)
			}
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
		}
		resp, err := s.client.RecordEvents(ctx, req)
		if err != nil {
			return fmt.Errorf("outreach RecordEvents: %w", err)
		}
		if len(resp.GetResults()) != len(req.Events) {
			return fmt.Errorf("outreach RecordEvents: %d results for %d events", len(resp.GetResults()), len(req.Events))
		}
		for j, r := range resp.GetResults() {
			i := sentIndex[j]
			switch r.GetStatus() {
			case outreachv1.EventStatus_EVENT_STATUS_ACCEPTED, outreachv1.EventStatus_EVENT_STATUS_DUPLICATE:
			case outreachv1.EventStatus_EVENT_STATUS_INVALID, outreachv1.EventStatus_EVENT_STATUS_CONFLICT:
				results[i] = fmt.Errorf("%w: outreach answered %s", eligibility.ErrConversionRejected, r.GetStatus())
			default:
				results[i] = fmt.Errorf("outreach answered %s", r.GetStatus())
			}
		}
	}
	for _, r := range results {
		if r != nil {
			return &eligibility.DeliveryError{Results: results}
		}
	}
	return nil
}
