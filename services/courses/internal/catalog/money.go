package catalog

// MaxFullCostPence is the largest course cost accepted: £1,000,000. It keeps the discount
// arithmetic far from overflow and catches costs typed in pence twice.
const MaxFullCostPence int64 = 100_000_000

// LearnerCost returns what a learner pays for a course of fullPence after a discount of pct
// per cent: the full cost times (100 - pct) / 100, rounded to the penny, half up. fullPence
// must be 0 to MaxFullCostPence and pct 0 to 100.
func LearnerCost(fullPence int64, pct int32) int64 {
	// Integer arithmetic: (x + 50) / 100 rounds a non-negative x/100 half up.
	return (fullPence*int64(100-pct) + 50) / 100
}
