package outreachsink

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"github.com/nrs-pilots/retrain/services/eligibility"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// fakeOutreach answers each event with the status its event id asks for.
type fakeOutreach struct {
	outreachv1.UnimplementedOutreachServiceServer
	got     []*outreachv1.Event
	auth    []string
	failAll bool
}

func (f *fakeOutreach) RecordEvents(ctx context.Context, req *outreachv1.RecordEventsRequest) (*outreachv1.RecordEventsResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.auth = append(f.auth, md.Get("authorization")...)
	if f.failAll {
		return nil, status.Error(codes.Unavailable, "down")
	}
	resp := &outreachv1.RecordEventsResponse{}
	for i, e := range req.GetEvents() {
		f.got = append(f.got, e)
		st := outreachv1.EventStatus_EVENT_STATUS_ACCEPTED
		switch e.GetEventId() {
		case "dup":
			st = outreachv1.EventStatus_EVENT_STATUS_DUPLICATE
		case "conflict":
			st = outreachv1.EventStatus_EVENT_STATUS_CONFLICT
		}
		resp.Results = append(resp.Results, &outreachv1.EventResult{Index: int32(i), EventId: e.GetEventId(), Status: st})
	}
	return resp, nil
}

func dial(t *testing.T, f *fakeOutreach) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	outreachv1.RegisterOutreachServiceServer(s, f)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///fake", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func conv(id string, areas ...string) eligibility.Conversion {
	return eligibility.Conversion{EventID: id, JourneyID: "j-" + id, Outcome: rules.OutcomeEligible, Areas: areas, Time: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
}

func TestSendMapsResults(t *testing.T) {
	f := &fakeOutreach{}
	s := New(dial(t, f), func(context.Context) (string, error) { return "tok", nil })
	err := s.Send(context.Background(), []eligibility.Conversion{conv("ok", "E37000022", "E47000004"), conv("dup", "E37000022"), conv("conflict", "E37000022"), conv("no-area")})
	var de *eligibility.DeliveryError
	if !errors.As(err, &de) || len(de.Results) != 4 {
		t.Fatalf("Send = %v, want a DeliveryError with 4 results", err)
	}
	for i, want := range []bool{false, false, true, true} {
		if got := errors.Is(de.Results[i], eligibility.ErrConversionRejected); got != want || (de.Results[i] != nil) != want {
			t.Errorf("result %d = %v, want rejected=%v", i, de.Results[i], want)
		}
	}
	if len(f.got) != 3 {
		t.Fatalf("outreach got %d events, want 3 (the one without an area is not sent)", len(f.got))
	}
	e := f.got[0]
	if e.GetArea() != "E37000022" || e.GetJourneyId() != "j-ok" || e.GetConversion().GetStage() != outreachv1.ConversionStage_CONVERSION_STAGE_ELIGIBILITY_CHECKED ||
		e.GetConversion().GetEligibilityOutcome() != outreachv1.EligibilityOutcome_ELIGIBILITY_OUTCOME_ELIGIBLE || !e.GetOccurTime().AsTime().Equal(conv("x").Time) {
		t.Errorf("event sent = %v", e)
	}
	if len(f.auth) != 1 || f.auth[0] != "Bearer tok" {
		t.Errorf("authorization sent = %v, want [Bearer tok]", f.auth)
	}
}

func TestSendAllAcknowledged(t *testing.T) {
	f := &fakeOutreach{}
	if err := New(dial(t, f), nil).Send(context.Background(), []eligibility.Conversion{conv("a", "E37000022"), conv("dup", "E37000022")}); err != nil {
		t.Errorf("Send = %v, want nil", err)
	}
}

func TestSendUnavailableRetriesAll(t *testing.T) {
	f := &fakeOutreach{failAll: true}
	err := New(dial(t, f), nil).Send(context.Background(), []eligibility.Conversion{conv("a", "E37000022")})
	var de *eligibility.DeliveryError
	if err == nil || errors.As(err, &de) {
		t.Errorf("Send to a down outreach = %v, want a plain error (retry the whole batch)", err)
	}
}
