package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/nrs-pilots/retrain/services/outreach/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"github.com/nrs-pilots/retrain/services/outreach/internal/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		t.Helper()
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "outreach.db"), boltstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
