package rpcerr

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var errNotFound = errors.New("not found")

type badInput struct{ vs []FieldViolation }

func (b badInput) Error() string                     { return "bad input" }
func (b badInput) FieldViolations() []FieldViolation { return b.vs }

func TestTableStatus(t *testing.T) {
	table := Table{{Err: errNotFound, Code: codes.NotFound, Reason: "THING_NOT_FOUND"}}
	tests := []struct {
		name       string
		err        error
		wantCode   codes.Code
		wantReason string
		wantFields []string
		wantMsg    string
		wantLogged bool
	}{
		{name: "mapped and wrapped", err: fmt.Errorf("get thing: %w", errNotFound), wantCode: codes.NotFound, wantReason: "THING_NOT_FOUND", wantMsg: "get thing: not found"},
		{name: "violations", err: fmt.Errorf("check: %w", badInput{[]FieldViolation{{"a", "x"}, {"b", "y"}}}), wantCode: codes.InvalidArgument, wantReason: "INVALID_ARGUMENT", wantFields: []string{"a", "b"}},
		{name: "deadline", err: fmt.Errorf("x: %w", context.DeadlineExceeded), wantCode: codes.DeadlineExceeded},
		{name: "cancelled", err: context.Canceled, wantCode: codes.Canceled},
		{name: "status passes", err: status.Error(codes.Aborted, "try again"), wantCode: codes.Aborted, wantMsg: "try again"},
		{name: "unmapped hidden", err: errors.New("disk on fire at /var/secret"), wantCode: codes.Internal, wantReason: "INTERNAL", wantMsg: "internal error", wantLogged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zap.InfoLevel)
			got := table.Status(zap.New(core), tt.err)
			st := status.Convert(got)
			if st.Code() != tt.wantCode {
				t.Fatalf("Status(%v) code = %v, want %v", tt.err, st.Code(), tt.wantCode)
			}
			if tt.wantMsg != "" && st.Message() != tt.wantMsg {
				t.Errorf("Status(%v) message = %q, want %q", tt.err, st.Message(), tt.wantMsg)
			}
			var reason string
			var fields []string
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.ErrorInfo:
					reason = d.Reason
					if d.Domain != Domain {
						t.Errorf("ErrorInfo domain = %q, want %q", d.Domain, Domain)
					}
				case *errdetails.BadRequest:
					for _, fv := range d.FieldViolations {
						fields = append(fields, fv.Field)
					}
				}
			}
			if reason != tt.wantReason {
				t.Errorf("reason = %q, want %q", reason, tt.wantReason)
			}
			if fmt.Sprint(fields) != fmt.Sprint(tt.wantFields) {
				t.Errorf("fields = %v, want %v", fields, tt.wantFields)
			}
			if (logs.Len() > 0) != tt.wantLogged {
				t.Errorf("logged %d lines, want logged=%v", logs.Len(), tt.wantLogged)
			}
		})
	}
	if table.Status(zap.NewNop(), nil) != nil {
		t.Error("Status(nil) != nil")
	}
}
