package boltstore

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// scrub overwrites the file's free pages with zeros.
//
// bbolt is copy-on-write: deleting a key writes new pages without it and puts the old
// pages on the freelist, but their bytes stay in the file until the pages are reused. For
// erasure that is not good enough, so after deleting, scrub makes bbolt reuse every free
// page at once: one transaction fills a scratch bucket with zero-filled values sized so
// that each leaf page holds two of them (bbolt writes whole pages, zeroing what the values
// do not cover) and needs a page for every free one, and a second transaction deletes the
// bucket. Pages still pinned by a read transaction that was open during the deletion are
// not free yet; the next scrub (the next erasure or retention sweep) covers them.
func (s *Store) scrub() error {
	st := s.db.Stats()
	pages := st.FreePageN + st.PendingPageN
	if pages == 0 {
		return nil
	}
	pageSize := s.db.Info().PageSize
	// A leaf page: 16-byte header, then per element a 16-byte header, an 8-byte key and
	// the value.
	zero := make([]byte, (pageSize-16)/2-16-8)
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketScrub); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
			return err
		}
		b, err := tx.CreateBucket(bucketScrub)
		if err != nil {
			return err
		}
		b.FillPercent = 1
		for i := range 2*pages + 2 {
			if err := b.Put(u64(uint64(i)), zero); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scrub free pages: %w", err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketScrub) }); err != nil {
		return fmt.Errorf("scrub free pages: %w", err)
	}
	return nil
}
