package postcode_test

import (
	"math"
	"testing"

	"github.com/nrs-pilots/retrain/platform/postcode"
)

func TestDistanceMiles(t *testing.T) {
	// Expected values are worked by hand from the haversine formula with
	// R = 3958.8 miles (and, for the real places, agree with the published
	// crow-fly distances to within a mile).
	tests := []struct {
		name string
		a, b postcode.LatLong
		want float64
		tol  float64
	}{
		{"same point", postcode.LatLong{Lat: 52.4787, Long: -1.9072}, postcode.LatLong{Lat: 52.4787, Long: -1.9072}, 0, 1e-9},
		// One degree of the equator is 2πR/360 = 69.0941 miles.
		{"one degree of longitude on the equator", postcode.LatLong{}, postcode.LatLong{Long: 1}, 3958.8 * math.Pi / 180, 1e-9},
		{"one degree of latitude", postcode.LatLong{Lat: 51}, postcode.LatLong{Lat: 52}, 3958.8 * math.Pi / 180, 1e-9},
		// Half the circumference, πR, for antipodes: the formula's edge.
		{"antipodes on the equator", postcode.LatLong{}, postcode.LatLong{Long: 180}, 3958.8 * math.Pi, 1e-9},
		{"pole to pole", postcode.LatLong{Lat: 90}, postcode.LatLong{Lat: -90}, 3958.8 * math.Pi, 1e-9},
		{"across the antimeridian", postcode.LatLong{Long: 179.5}, postcode.LatLong{Long: -179.5}, 3958.8 * math.Pi / 180, 1e-9},
		// Central Birmingham (B1) to central Coventry (CV1) district centroids:
		// Δφ = -0.06933°, Δλ = 0.40123°, h = 4.9209e-6, 2R·asin(√h) = 17.56 miles.
		{"Birmingham to Coventry", postcode.LatLong{Lat: 52.47872, Long: -1.90723}, postcode.LatLong{Lat: 52.40939, Long: -1.506}, 17.56, 0.5},
		// Liverpool (L1) to Leeds (LS1): about 65 miles.
		{"Liverpool to Leeds", postcode.LatLong{Lat: 53.40254, Long: -2.97928}, postcode.LatLong{Lat: 53.79674, Long: -1.54754}, 64.71, 0.5},
		// Trafalgar Square to Edinburgh's Princes Street: about 332 miles.
		{"London to Edinburgh", postcode.LatLong{Lat: 51.5074, Long: -0.1278}, postcode.LatLong{Lat: 55.9533, Long: -3.1883}, 331.6, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := postcode.DistanceMiles(tt.a, tt.b)
			if math.Abs(got-tt.want) > tt.tol {
				t.Errorf("DistanceMiles(%v, %v) = %v, want %v ± %v", tt.a, tt.b, got, tt.want, tt.tol)
			}
			if back := postcode.DistanceMiles(tt.b, tt.a); math.Abs(back-got) > 1e-9 {
				t.Errorf("DistanceMiles(%v, %v) = %v, but the other way %v", tt.a, tt.b, got, back)
			}
		})
	}
}

func TestPlaceDistance(t *testing.T) {
	d := builtin(t)
	tests := []struct {
		from, to postcode.Postcode
		want     float64
	}{
		{"B1 1AA", "CV1 5FB", 17.56},
		{"B1 1AA", "B1 2JP", 0},
		{"L1 8JQ", "LS1 4AP", 64.71},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+" to "+string(tt.to), func(t *testing.T) {
			a, okA := d.Lookup(tt.from)
			b, okB := d.Lookup(tt.to)
			if !okA || !okB {
				t.Fatalf("Lookup(%q), Lookup(%q) ok = %v, %v", tt.from, tt.to, okA, okB)
			}
			if got := postcode.DistanceMiles(a.LatLong(), b.LatLong()); math.Abs(got-tt.want) > 0.5 {
				t.Errorf("DistanceMiles(%q, %q) = %v, want %v ± 0.5", tt.from, tt.to, got, tt.want)
			}
		})
	}
}
