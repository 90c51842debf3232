// Package rpcerr turns domain errors into gRPC statuses, once, at the edge of a service.
// Each service declares one Table that maps its sentinel errors to codes; the statuses
// carry google.rpc.ErrorInfo and, for invalid input, google.rpc.BadRequest field
// violations, which the gateway renders as JSON.
package rpcerr

import (
	"context"
	"errors"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Domain is the ErrorInfo domain of every error the services return.
const Domain = "retrain.nrs-pilots.gov.uk"

// FieldViolation names a request field and says what is wrong with it. Descriptions never
// echo the value, which may be personal data.
type FieldViolation struct {
	Field       string
	Description string
}

// Violations is implemented by domain validation errors that know which fields were bad.
type Violations interface {
	FieldViolations() []FieldViolation
}

// InvalidArgument returns an INVALID_ARGUMENT status carrying a BadRequest with the
// violations and an ErrorInfo with reason INVALID_ARGUMENT.
func InvalidArgument(msg string, vs []FieldViolation) error {
	br := &errdetails.BadRequest{}
	for _, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field:       v.Field,
			Description: v.Description,
		})
	}
	return withDetails(codes.InvalidArgument, msg, "INVALID_ARGUMENT", br)
}

// New returns a status with code, message and an ErrorInfo with the given reason.
func New(code codes.Code, msg, reason string) error {
	return withDetails(code, msg, reason)
}

func withDetails(code codes.Code, msg, reason string, extra ...*errdetails.BadRequest) error {
	st := status.New(code, msg)
	info := &errdetails.ErrorInfo{Reason: reason, Domain: Domain}
	var withInfo *status.Status
	var err error
	if len(extra) > 0 && extra[0] != nil {
		withInfo, err = st.WithDetails(info, extra[0])
	} else {
		withInfo, err = st.WithDetails(info)
	}
	if err != nil {
		// Only a marshalling failure of well-formed messages; keep the plain status.
		return st.Err()
	}
	return withInfo.Err()
}

// Mapping maps one domain error (matched with errors.Is) to a gRPC code and a stable
// UPPER_SNAKE reason.
type Mapping struct {
	Err    error
	Code   codes.Code
	Reason string
}

// Table is a service's one list of domain errors and the codes they become.
type Table []Mapping

// Status converts err into a gRPC status error. Errors that already are statuses pass
// through; context errors become CANCELLED or DEADLINE_EXCEEDED; errors implementing
// Violations become INVALID_ARGUMENT with their field violations; mapped errors get their
// code, reason and the error's message. Anything else is logged here (and only here) and
// answered as INTERNAL without its text, so internals never leak to callers.
func (t Table) Status(log *zap.Logger, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	var v Violations
	if errors.As(err, &v) {
		return InvalidArgument(err.Error(), v.FieldViolations())
	}
	for _, m := range t {
		if errors.Is(err, m.Err) {
			return New(m.Code, err.Error(), m.Reason)
		}
	}
	log.Error("unmapped error", zap.Error(err))
	return New(codes.Internal, "internal error", "INTERNAL")
}
