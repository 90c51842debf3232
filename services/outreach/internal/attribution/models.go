package attribution

import (
	"fmt"
	"math"
)

// Model is an attribution model. The numbers are those of the API enum.
type Model int32

// Models.
const (
	ModelUnspecified Model = iota
	FirstTouch
	LastTouch
	LastNonDirect
	Linear
	PositionBased
	TimeDecay
	Markov
	Shapley
	modelEnd
)

// Valid reports whether m is a real model.
func (m Model) Valid() bool { return m > ModelUnspecified && m < modelEnd }

// DataDriven reports whether the model learns from every journey (not a rule applied
// to each converting path alone).
func (m Model) DataDriven() bool { return m == Markov || m == Shapley }

// String names the model in lower snake case.
func (m Model) String() string {
	switch m {
	case FirstTouch:
		return "first_touch"
	case LastTouch:
		return "last_touch"
	case LastNonDirect:
		return "last_non_direct"
	case Linear:
		return "linear"
	case PositionBased:
		return "position_based"
	case TimeDecay:
		return "time_decay"
	case Markov:
		return "markov"
	case Shapley:
		return "shapley"
	}
	return fmt.Sprintf("Model(%d)", int32(m))
}

// touch is one touch of a converting path, in order.
type touch struct {
	t      int64 // unix milliseconds
	group  uint32
	direct bool
}

// ruleWeights fills w (len(path)) with the credit each touch of a converting path gets
// under a rule-based model; the weights add up to 1. path is in (time, event id) order
// and not empty; halfLife is the time-decay half-life in milliseconds.
func ruleWeights(m Model, path []touch, halfLife float64, w []float64) {
	n := len(path)
	clear(w)
	switch m {
	case FirstTouch:
		w[0] = 1
	case LastTouch:
		w[n-1] = 1
	case LastNonDirect:
		for i := n - 1; i >= 0; i-- {
			if !path[i].direct {
				w[i] = 1
				return
			}
		}
		w[n-1] = 1 // Only direct visits: the last one, as GA does.
	case Linear:
		for i := range w {
			w[i] = 1 / float64(n)
		}
	case PositionBased:
		switch n {
		case 1:
			w[0] = 1
		case 2:
			w[0], w[1] = 0.5, 0.5
		default:
			w[0], w[n-1] = 0.4, 0.4
			mid := 0.2 / float64(n-2)
			for i := 1; i < n-1; i++ {
				w[i] = mid
			}
		}
	case TimeDecay:
		// 2^(-age/H) with age measured from the conversion; normalising cancels the common
		// factor, so ages are taken from the newest touch, which keeps the largest weight
		// at 1 and cannot underflow every weight to zero together.
		newest := path[n-1].t
		var sum float64
		for i, p := range path {
			w[i] = math.Exp2(-float64(newest-p.t) / halfLife)
			sum += w[i]
		}
		for i := range w {
			w[i] /= sum
		}
	default:
		panic(fmt.Sprintf("attribution: ruleWeights called with %v", m))
	}
}
