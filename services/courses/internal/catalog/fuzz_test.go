package catalog_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
)

// FuzzImportCSV feeds arbitrary bytes through the whole CSV import path (header, rows,
// then a dry-run import that applies every pilot rule): it must never panic, every row it
// reads gets exactly one result, and a row is either valid or says why not.
func FuzzImportCSV(f *testing.F) {
	f.Add([]byte(goodCSV))
	f.Add([]byte(badCSV))
	f.Add([]byte(header))
	f.Add([]byte(""))
	f.Add([]byte("course_id\n\"unterminated"))
	f.Add([]byte(strings.Replace(goodCSV, "245000", "-1", 1)))
	fx := newFixture(f)
	fx.provider(f, lincs, ukprn, true, "LN1 3BL")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := catalog.NewCSVReader(strings.NewReader(string(data)))
		if err != nil {
			var ve *catalog.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("NewCSVReader error %v is not a validation error", err)
			}
			return
		}
		var rows []catalog.ImportRow
		for len(rows) < 200 {
			row, err := r.Read(lincs)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return // a malformed CSV line ends the file with a validation error
			}
			rows = append(rows, row)
		}
		res, err := fx.cat.Import(ctx, "fuzz", lincs, rows, true)
		if err != nil {
			return // a refused import as a whole (for example no rows) is an answer too
		}
		if len(res.Rows) != len(rows) {
			t.Fatalf("Import: %d results for %d rows", len(res.Rows), len(rows))
		}
		for _, rr := range res.Rows {
			if rr.Status == catalog.RowInvalid && len(rr.Violations) == 0 {
				t.Fatalf("row %d invalid without a violation", rr.Row)
			}
		}
	})
}
