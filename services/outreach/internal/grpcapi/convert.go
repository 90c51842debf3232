package grpcapi

import (
	"strings"

	"github.com/nrs-pilots/retrain/platform/civil"
	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"github.com/nrs-pilots/retrain/services/outreach/internal/attribution"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func campaignToProto(c domain.Campaign) *outreachv1.Campaign {
	out := &outreachv1.Campaign{
		Name:           c.Name(),
		DisplayName:    c.DisplayName,
		Channel:        outreachv1.Channel(c.Channel),
		Messenger:      outreachv1.Messenger(c.Messenger),
		TargetAudience: c.TargetAudience,
		MessageVariant: c.MessageVariant,
		StartDate:      c.Start.String(),
		CostPence:      c.CostPence,
		UtmCampaign:    c.UTMCampaign,
		Codes:          c.Codes,
		CreateTime:     timestamppb.New(c.CreateTime),
		UpdateTime:     timestamppb.New(c.UpdateTime),
		Etag:           domain.Etag(c.Revision),
		Creator:        c.Creator,
		LastModifier:   c.LastModifier,
	}
	if !c.End.IsZero() {
		out.EndDate = c.End.String()
	}
	return out
}

// campaignFromProto reads the fields of a campaign a client may set, collecting date
// violations under prefix.
func campaignFromProto(pc *outreachv1.Campaign, prefix string, vs *[]domain.Violation) domain.Campaign {
	return domain.Campaign{
		DisplayName:    pc.GetDisplayName(),
		Channel:        domain.Channel(pc.GetChannel()),
		Messenger:      domain.Messenger(pc.GetMessenger()),
		TargetAudience: pc.GetTargetAudience(),
		MessageVariant: pc.GetMessageVariant(),
		Start:          domain.ParseDateField(vs, prefix+"start_date", pc.GetStartDate()),
		End:            domain.ParseDateField(vs, prefix+"end_date", pc.GetEndDate()),
		CostPence:      pc.GetCostPence(),
		UTMCampaign:    pc.GetUtmCampaign(),
		Codes:          pc.GetCodes(),
	}
}

// eventFromProto reads one event; bad timestamps become violations of the event.
func eventFromProto(e *outreachv1.Event) domain.RawEvent {
	var vs []domain.Violation
	raw := domain.RawEvent{ID: e.GetEventId(), JourneyID: e.GetJourneyId(), Area: e.GetArea()}
	if ts := e.GetOccurTime(); ts != nil {
		if ts.CheckValid() != nil {
			vs = append(vs, domain.Violation{Field: "occur_time", Description: "must be a valid timestamp"})
		} else {
			raw.OccurTime = ts.AsTime()
		}
	}
	if ts := e.GetSendTime(); ts != nil {
		if ts.CheckValid() != nil {
			vs = append(vs, domain.Violation{Field: "send_time", Description: "must be a valid timestamp"})
		} else {
			raw.SendTime = ts.AsTime()
		}
	}
	switch d := e.GetDetail().(type) {
	case *outreachv1.Event_Touch:
		raw.Kind = domain.KindTouch
		raw.Source = domain.TouchSource(d.Touch.GetSource())
		raw.CampaignName = d.Touch.GetCampaign()
		raw.Code = d.Touch.GetCode()
		raw.Channel = domain.Channel(d.Touch.GetChannel())
		raw.Messenger = domain.Messenger(d.Touch.GetMessenger())
	case *outreachv1.Event_Conversion:
		raw.Kind = domain.KindConversion
		raw.Stage = domain.Stage(d.Conversion.GetStage())
		raw.Outcome = domain.Outcome(d.Conversion.GetEligibilityOutcome())
		raw.Reason = domain.WithdrawalReason(d.Conversion.GetWithdrawalReason())
	}
	raw.Violations = vs
	return raw
}

// enumLabel turns CHANNEL_UNION_LEARNING_REP into "union learning rep".
func enumLabel(name, prefix string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, prefix), "_", " "))
}

// groupKey and groupLabel name a report row.
func groupKey(g attribution.Group) string {
	switch g.Kind {
	case attribution.GroupCampaign:
		return domain.CampaignName(g.Area, g.Campaign)
	case attribution.GroupUncampaigned:
		return "uncampaigned/" + outreachv1.Channel(g.Channel).String() + "/" + outreachv1.Messenger(g.Messenger).String()
	case attribution.GroupChannel:
		return "channel/" + outreachv1.Channel(g.Channel).String()
	case attribution.GroupMessenger:
		return "messenger/" + outreachv1.Messenger(g.Messenger).String()
	case attribution.GroupArea:
		return "areas/" + g.Area
	case attribution.GroupDirect:
		return "direct"
	}
	return "none"
}

func groupLabel(g attribution.Group, names map[[2]string]string) string {
	ch := enumLabel(outreachv1.Channel(g.Channel).String(), "CHANNEL_")
	ms := enumLabel(outreachv1.Messenger(g.Messenger).String(), "MESSENGER_")
	switch g.Kind {
	case attribution.GroupCampaign:
		if n, ok := names[[2]string{g.Area, g.Campaign}]; ok {
			return n
		}
		return g.Campaign
	case attribution.GroupUncampaigned:
		return "no campaign: " + ch + ", " + ms
	case attribution.GroupChannel:
		return ch
	case attribution.GroupMessenger:
		return ms
	case attribution.GroupArea:
		return g.Area
	case attribution.GroupDirect:
		return "direct visits"
	}
	return "no touch in the lookback window"
}

func rateToProto(r attribution.Rate) *outreachv1.Rate {
	return &outreachv1.Rate{Numerator: r.Numerator, Denominator: r.Denominator, Value: r.Value, Lower: r.Lower, Upper: r.Upper}
}

func reportToProto(parent string, pp *outreachv1.ReportParameters, rep attribution.Report, campaigns []domain.Campaign) *outreachv1.AttributionReport {
	names := make(map[[2]string]string, len(campaigns))
	for _, c := range campaigns {
		names[[2]string{c.Area, c.ID}] = c.DisplayName
	}
	out := &outreachv1.AttributionReport{
		Parent:        parent,
		Parameters:    pp,
		Conversions:   rep.Conversions,
		EventsScanned: rep.EventsScanned,
	}
	for _, f := range rep.Funnel {
		out.Funnel = append(out.Funnel, &outreachv1.FunnelStage{
			Stage: outreachv1.ConversionStage(f.Stage), Conversions: f.Conversions, Rate: rateToProto(f.Rate),
			CostPence: f.CostPence, CostPerConversionPence: f.CostPerConversionPence,
		})
	}
	for _, r := range rep.Rows {
		out.Rows = append(out.Rows, &outreachv1.AttributionRow{
			Key: groupKey(r.Group), DisplayName: groupLabel(r.Group, names), CreditedConversions: r.Credit,
			CostPence: r.CostPence, CostPerConversionPence: r.CostPerConversionPence, ConversionRate: rateToProto(r.Rate),
		})
	}
	for _, m := range rep.Messengers {
		mc := &outreachv1.MessengerComparison{Messenger: outreachv1.Messenger(m.Messenger), JourneysReached: m.Reached, CostPence: m.CostPence}
		for _, s := range m.Stages {
			mc.Stages = append(mc.Stages, &outreachv1.StageCredit{
				Stage: outreachv1.ConversionStage(s.Stage), CreditedConversions: s.Credit,
				CostPerConversionPence: s.CostPerConversionPence, ConversionRate: rateToProto(s.Rate),
			})
		}
		out.Messengers = append(out.Messengers, mc)
	}
	return out
}

// dateOrZero parses a required date, adding a violation when missing or bad.
func requiredDate(vs *[]domain.Violation, field, s string) civil.Date {
	if s == "" {
		*vs = append(*vs, domain.Violation{Field: field, Description: "is required, as YYYY-MM-DD"})
		return civil.Date{}
	}
	return domain.ParseDateField(vs, field, s)
}
