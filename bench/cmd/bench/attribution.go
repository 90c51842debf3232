package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
)

// attributionModels are the models a report is timed for, in the API's order.
var attributionModels = []outreachv1.AttributionModel{
	outreachv1.AttributionModel_ATTRIBUTION_MODEL_FIRST_TOUCH,
	outreachv1.AttributionModel_ATTRIBUTION_MODEL_LAST_TOUCH,
	outreachv1.AttributionModel_ATTRIBUTION_MODEL_LAST_NON_DIRECT,
	outreachv1.AttributionModel_ATTRIBUTION_MODEL_LINEAR,
	outreachv1.AttributionModel_ATTRIBUTION_MODEL_POSITION_BASED,
	outreachv1.AttributionModel_ATTRIBUTION_MODEL_TIME_DECAY,
	outreachv1.AttributionModel_ATTRIBUTION_MODEL_MARKOV,
	outreachv1.AttributionModel_ATTRIBUTION_MODEL_SHAPLEY,
}

// modelKey is the model's name as the in-process benchmark names it (first_touch, ...).
func modelKey(m outreachv1.AttributionModel) string {
	return strings.ToLower(strings.TrimPrefix(m.String(), "ATTRIBUTION_MODEL_"))
}

// ruleBased reports whether a model is one of the rule-based ones (target 1 s; Markov and
// Shapley have 3 s).
func ruleBased(model string) bool { return model != "markov" && model != "shapley" }

// topUpEvents records new events of writeArea until the outreach service holds at least
// total events recorded by this run, in batches of 500 (the most a batch may hold) from four
// concurrent writers. It returns how many the service holds from this run.
func topUpEvents(ctx context.Context, addr string, ws *writeSetup, total int) (int, error) {
	const batch, writers = 500, 4
	batches := (total - int(ws.events.Load()) + batch - 1) / batch
	if batches <= 0 {
		return int(ws.events.Load()), nil
	}
	conns, err := clientConns(addr, ws.lep, 1)
	if err != nil {
		return 0, err
	}
	defer closeAll(conns)
	client := outreachv1.NewOutreachServiceClient(conns[0])
	now := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     int
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				seq, stop := next, firstErr != nil || next >= batches
				next++
				mu.Unlock()
				if stop {
					return
				}
				prefix := fmt.Sprintf("%s-top-%d", ws.run, seq)
				rng := rand.New(rand.NewPCG(uint64(w), uint64(seq)))
				events := eventBatch(rng, prefix, ws.campaigns, now, batch)
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				resp, err := client.RecordEvents(cctx, &outreachv1.RecordEventsRequest{Parent: "areas/" + writeArea, Events: events})
				cancel()
				if err == nil && int(resp.GetAcceptedCount()) != len(events) {
					err = fmt.Errorf("%d of %d events accepted", resp.GetAcceptedCount(), len(events))
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				ws.events.Add(int64(resp.GetAcceptedCount()))
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return int(ws.events.Load()), firstErr
}

// attributionTiming is one model's report time over the RPC.
type attributionTiming struct {
	model   string
	median  time.Duration
	scanned int64
}

// rpcReports times RunAttributionReport for every model: the enrolments of the last 90
// days in writeArea by campaign, iters times each (after one unmeasured report that pays
// for sorting newly ingested events), keeping the median.
func rpcReports(ctx context.Context, addr string, ws *writeSetup, iters int) ([]attributionTiming, error) {
	conns, err := clientConns(addr, ws.lep, 1)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	client := outreachv1.NewOutreachServiceClient(conns[0])
	now := time.Now()
	params := func(m outreachv1.AttributionModel) *outreachv1.RunAttributionReportRequest {
		return &outreachv1.RunAttributionReportRequest{Parent: "areas/" + writeArea, Parameters: &outreachv1.ReportParameters{
			Stage: outreachv1.ConversionStage_CONVERSION_STAGE_ENROLMENT, Model: m, GroupBy: outreachv1.GroupBy_GROUP_BY_CAMPAIGN,
			StartDate: now.AddDate(0, 0, -90).Format(time.DateOnly), EndDate: now.Format(time.DateOnly), LookbackDays: 30,
		}}
	}
	report := func(m outreachv1.AttributionModel) (time.Duration, int64, error) {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		t0 := time.Now()
		resp, err := client.RunAttributionReport(cctx, params(m))
		d := time.Since(t0)
		if err != nil {
			return 0, 0, fmt.Errorf("attribution report %s: %w", modelKey(m), err)
		}
		if resp.GetReport().GetConversions() == 0 {
			return 0, 0, fmt.Errorf("attribution report %s: no conversions counted", modelKey(m))
		}
		return d, resp.GetReport().GetEventsScanned(), nil
	}
	if _, _, err := report(outreachv1.AttributionModel_ATTRIBUTION_MODEL_LINEAR); err != nil {
		return nil, err
	}
	var out []attributionTiming
	for _, m := range attributionModels {
		var ds []time.Duration
		var scanned int64
		for range iters {
			d, s, err := report(m)
			if err != nil {
				return nil, err
			}
			ds, scanned = append(ds, d), s
		}
		slices.Sort(ds)
		out = append(out, attributionTiming{model: modelKey(m), median: ds[len(ds)/2], scanned: scanned})
		progressf("attribution over gRPC %-16s %v (%d events scanned)", modelKey(m), ds[len(ds)/2].Round(time.Millisecond), scanned)
	}
	return out, nil
}
