package attribution

import (
	"math"
	"math/bits"
	"slices"
)

// MaxMarkovStates bounds the groups of a Markov report: the exact solution inverts a
// matrix of that size, O(n³) (600 groups take about half a second).
const MaxMarkovStates = 600

// markovChain counts the transitions of a first-order Markov chain whose transient
// states are start (0) and the groups (1..G) and whose absorbing states are conversion
// and null. Paths are the group sequences of converting journeys (touches in the
// lookback window, then conversion) and of journeys that did not convert (touches in the
// date range, then null).
type markovChain struct {
	g      int
	counts []float64 // (g+1) rows of (g+3) columns: g+1 transient targets, conv, null
}

func newMarkovChain(groups int) *markovChain {
	return &markovChain{g: groups, counts: make([]float64, (groups+1)*(groups+3))}
}

func (c *markovChain) add(path []uint32, converted bool) {
	if len(path) == 0 {
		return
	}
	cols := c.g + 3
	prev := 0
	for _, g := range path {
		s := int(g) + 1
		c.counts[prev*cols+s]++
		prev = s
	}
	end := c.g + 1
	if !converted {
		end = c.g + 2
	}
	c.counts[prev*cols+end]++
}

// removalEffects returns, per group, the removal effect: the share of the chain's
// conversion probability lost when the group is removed (every transition into it goes
// to null instead). It is exact: with N = (I-Q)^-1 the fundamental matrix over the
// transient states and x the probabilities of absorption in conversion, removing s
// leaves x_start - P(visit s) * x_s, and P(visit s) = N[start][s] / N[s][s] (strong
// Markov property at the first visit to s). One matrix inversion serves every group.
// Groups that no path visits get 0. ok is false when no path converts.
func (c *markovChain) removalEffects() (re []float64, ok bool) {
	n := c.g + 1
	cols := c.g + 3
	// A = I - Q, and r = transition probabilities into conversion.
	a := make([]float64, n*n)
	r := make([]float64, n)
	visited := make([]bool, n)
	for i := range n {
		row := c.counts[i*cols : (i+1)*cols]
		var total float64
		for _, v := range row {
			total += v
		}
		a[i*n+i] = 1
		if total == 0 {
			continue // a group never seen: no transitions out, never reached.
		}
		visited[i] = true
		for j := range n {
			a[i*n+j] -= row[j] / total
		}
		r[i] = row[c.g+1] / total
	}
	inv, invertible := invert(a, n)
	if !invertible {
		return nil, false
	}
	x := make([]float64, n)
	for i := range n {
		for k := range n {
			x[i] += inv[i*n+k] * r[k]
		}
	}
	if x[0] <= 0 {
		return nil, false
	}
	re = make([]float64, c.g)
	for s := 1; s < n; s++ {
		if !visited[s] || inv[s*n+s] == 0 {
			continue
		}
		visit := inv[0*n+s] / inv[s*n+s]
		re[s-1] = math.Max(0, visit*x[s]/x[0])
	}
	return re, true
}

// invert returns the inverse of the n×n row-major matrix a (Gauss-Jordan with partial
// pivoting), and false if it is singular.
func invert(a []float64, n int) ([]float64, bool) {
	m := slices.Clone(a)
	inv := make([]float64, n*n)
	for i := range n {
		inv[i*n+i] = 1
	}
	for col := range n {
		p := col
		for i := col + 1; i < n; i++ {
			if math.Abs(m[i*n+col]) > math.Abs(m[p*n+col]) {
				p = i
			}
		}
		if math.Abs(m[p*n+col]) < 1e-12 {
			return nil, false
		}
		if p != col {
			for j := range n {
				m[p*n+j], m[col*n+j] = m[col*n+j], m[p*n+j]
				inv[p*n+j], inv[col*n+j] = inv[col*n+j], inv[p*n+j]
			}
		}
		d := m[col*n+col]
		for j := range n {
			m[col*n+j] /= d
			inv[col*n+j] /= d
		}
		for i := range n {
			f := m[i*n+col]
			if i == col || f == 0 {
				continue
			}
			for j := range n {
				m[i*n+j] -= f * m[col*n+j]
				inv[i*n+j] -= f * inv[col*n+j]
			}
		}
	}
	return inv, true
}

// MaxExactShapley is the most groups on one path for which the Shapley value is computed
// exactly (2^n coalitions); longer paths use the simplified form, an equal split.
const MaxExactShapley = 10

// shapleyGame holds, for every set of groups some journey touched, how many journeys
// touched exactly that set and how many of them converted.
type shapleyGame struct {
	sets map[string]*setCount
}

type setCount struct {
	groups    []uint32
	journeys  float64
	converted float64
}

func newShapleyGame() *shapleyGame { return &shapleyGame{sets: map[string]*setCount{}} }

// setKey encodes a sorted set of groups as a map key.
func setKey(groups []uint32, buf []byte) []byte {
	buf = buf[:0]
	for _, g := range groups {
		buf = append(buf, byte(g>>24), byte(g>>16), byte(g>>8), byte(g))
	}
	return buf
}

// add counts a journey that touched the sorted, distinct groups.
func (s *shapleyGame) add(groups []uint32, converted bool, buf []byte) {
	if len(groups) == 0 {
		return
	}
	sc, ok := s.sets[string(setKey(groups, buf))]
	if !ok {
		sc = &setCount{groups: slices.Clone(groups)}
		s.sets[string(setKey(groups, buf))] = sc
	}
	sc.journeys++
	if converted {
		sc.converted++
	}
}

// worth is v(S): the conversion rate of journeys that touched exactly S (0 if none did).
func (s *shapleyGame) worth(groups []uint32, buf []byte) float64 {
	sc, ok := s.sets[string(setKey(groups, buf))]
	if !ok || sc.journeys == 0 {
		return 0
	}
	return sc.converted / sc.journeys
}

// credit adds to out (indexed by group) the credit of every converting set: each
// conversion of a set T is shared among T's groups in proportion to their Shapley values
// in the game restricted to T with worth v; negative values count as 0 (and an equal
// split when none is positive). Sets of more than MaxExactShapley groups are split
// equally (the simplified Shapley value of Zhao et al. 2018).
func (s *shapleyGame) credit(out []float64) {
	var buf []byte
	keys := make([]string, 0, len(s.sets))
	for k, sc := range s.sets {
		if sc.converted > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // a fixed order, so float sums are reproducible
	var sub []uint32
	for _, k := range keys {
		sc := s.sets[k]
		n := len(sc.groups)
		phi := make([]float64, n)
		if n <= MaxExactShapley {
			v := make([]float64, 1<<n)
			for mask := 1; mask < 1<<n; mask++ {
				sub = sub[:0]
				for i := range n {
					if mask&(1<<i) != 0 {
						sub = append(sub, sc.groups[i])
					}
				}
				v[mask] = s.worth(sub, buf)
			}
			// weight[k] = k!(n-k-1)!/n!
			weight := make([]float64, n)
			for size := range n {
				weight[size] = math.Exp(lgamma(size+1) + lgamma(n-size) - lgamma(n+1))
			}
			for i := range n {
				bit := 1 << i
				for mask := 0; mask < 1<<n; mask++ {
					if mask&bit != 0 {
						continue
					}
					phi[i] += weight[bits.OnesCount(uint(mask))] * (v[mask|bit] - v[mask])
				}
			}
		}
		var sum float64
		for i := range phi {
			phi[i] = math.Max(0, phi[i])
			sum += phi[i]
		}
		for i, g := range sc.groups {
			share := 1 / float64(n)
			if sum > 0 {
				share = phi[i] / sum
			}
			out[g] += sc.converted * share
		}
	}
}

func lgamma(n int) float64 {
	v, _ := math.Lgamma(float64(n))
	return v
}

// sortedDistinct sorts groups and removes repeats, in place.
func sortedDistinct(groups []uint32) []uint32 {
	slices.Sort(groups)
	return slices.Compact(groups)
}
