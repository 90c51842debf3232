package boltstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/services/eligibility/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/storetest"
)

func open(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, boltstore.Options{NoSync: true, MaxBatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		return open(t, filepath.Join(t.TempDir(), "eligibility.db"))
	})
}

// TestEraseLeavesNothingInTheFile scans the bbolt file's raw bytes: before erasure the
// learner's reference and sealed data are in it (so the scan can find them), after
// erasure neither is, in live or freed pages, while another learner's data is untouched.
func TestEraseLeavesNothingInTheFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "eligibility.db")
	s := open(t, path)
	const victim = "Victim-Ref-7f3a9c"
	marker := []byte("SEALED-PAYLOAD-OF-THE-VICTIM")
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	add := func(learner string, i int, sealed []byte) {
		t.Helper()
		id := fmt.Sprintf("%032x", i)
		a := domain.StoredAssessment{Learner: learner, ID: id, CreateTime: t0.Add(time.Duration(i) * time.Second), RecordedBy: "adviser",
			RulesetVersion: "v1", Outcome: rules.OutcomeEligible, KeyID: "k", Sealed: sealed}
		if err := s.CreateAssessment(ctx, a, domain.AuditRecord{Time: t0, Actor: "adviser", Action: domain.ActionAssessmentCreated, Learner: learner, Assessment: id, RPC: "/x"}); err != nil {
			t.Fatal(err)
		}
	}
	// Enough data for the victim's records to share pages with others' and to split pages.
	for i := range 300 {
		if i%5 == 0 {
			add(victim, i, marker)
		} else {
			add(fmt.Sprintf("other-%03d", i), i, bytes.Repeat([]byte("o"), 200))
		}
	}
	if _, err := s.ExportLearner(ctx, victim, domain.AuditRecord{Time: t0, Actor: "adviser", Action: domain.ActionLearnerExported, Learner: victim, RPC: "/x"}); err != nil {
		t.Fatal(err)
	}
	scan := func() (learner, sealed, other bool) {
		t.Helper()
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Stored JSON holds the sealed bytes in base64.
		return bytes.Contains(raw, []byte(victim)), bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(marker))), bytes.Contains(raw, []byte("other-123"))
	}
	if l, m, o := scan(); !l || !m || !o {
		t.Fatalf("before erasure the file holds learner %v, sealed data %v, other learner %v; want all (else the scan proves nothing)", l, m, o)
	}
	n, err := s.EraseLearner(ctx, victim, domain.AuditRecord{Time: t0, Actor: "admin", Action: domain.ActionLearnerErased, RPC: "/x"})
	if err != nil || n != 60 {
		t.Fatalf("EraseLearner = %d, %v, want 60", n, err)
	}
	if l, m, o := scan(); l || m || !o {
		t.Errorf("after erasure the file holds learner %v, sealed data %v, other learner %v; want false, false, true", l, m, o)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if l, m, _ := scan(); l || m {
		t.Errorf("after close the file holds learner %v, sealed data %v", l, m)
	}
	s = open(t, path)
	if got, err := s.ListAssessments(ctx, "other-123", "", 0, domain.AuditRecord{Time: t0, Actor: "a", Action: domain.ActionAssessmentsListed, Learner: "other-123"}); err != nil || len(got) != 1 {
		t.Errorf("after erasure and reopen, other-123 has %d assessments, %v; want 1", len(got), err)
	}
}

func TestRetentionSweepLeavesNothingInTheFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "eligibility.db")
	s := open(t, path)
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 40 {
		sealed := []byte(fmt.Sprintf("recent-%02d", i))
		at := t0.Add(time.Duration(i) * time.Hour)
		if i < 20 {
			sealed = []byte(fmt.Sprintf("expired-%02d", i))
			at = t0.Add(-time.Duration(i+1) * time.Hour)
		}
		a := domain.StoredAssessment{Learner: fmt.Sprintf("l%d", i), ID: fmt.Sprintf("%032x", i), CreateTime: at, KeyID: "k", Sealed: sealed}
		if err := s.CreateAssessment(ctx, a, domain.AuditRecord{Time: at, Actor: "a", Action: domain.ActionAssessmentCreated}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteAssessmentsBefore(ctx, t0, 100, domain.AuditRecord{Time: t0, Actor: "sweep", Action: domain.ActionRetentionSweep})
	if err != nil || n != 20 {
		t.Fatalf("DeleteAssessmentsBefore = %d, %v, want 20", n, err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(s string) []byte { return []byte(base64.StdEncoding.EncodeToString([]byte(s))) }
	for i := range 40 {
		expired := i < 20
		name := fmt.Sprintf("recent-%02d", i)
		if expired {
			name = fmt.Sprintf("expired-%02d", i)
		}
		if found := bytes.Contains(raw, b64(name)); found == expired {
			t.Errorf("assessment %s in the file after the sweep: %v, want %v", name, found, !expired)
		}
	}
}
