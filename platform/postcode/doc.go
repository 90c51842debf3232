// Package postcode parses UK postcodes and looks them up: a postcode gives a
// point to measure distances from (the courses service's "courses near me")
// and the ONS codes of the Local Enterprise Partnership (LEP) and combined
// authority areas that cover it (the eligibility service's pilot-area rules).
//
// There are two sources of places. [Builtin] is a small table of postcode
// districts (outward codes, such as "LS1") compiled into the program: it
// answers for every district in England, Wales, Scotland and Northern
// Ireland, but only approximately (see [PrecisionDistrict]), and it knows the
// area codes of the pilot areas only. [LoadONSPD] reads the ONS Postcode
// Directory or the National Statistics Postcode Lookup, which a production
// deployment loads for exact answers for every live postcode. [Combine] puts
// the two together so that a postcode too new for the loaded file still gets
// a district-level answer.
//
// Postcodes are personal data. Nothing in this package logs, and no error it
// returns repeats a postcode it was given or read.
package postcode

//go:generate go run ./internal/gen -src ../../../shared/data/postcode_districts.csv -out districts.csv
