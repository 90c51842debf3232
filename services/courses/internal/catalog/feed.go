package catalog

import (
	"context"
	"fmt"
)

// syncBatch is how many changes Sync reads and applies under the write lock at a time, so
// that a long catch-up does not hold this process's writes back for long.
const syncBatch = 1000

// Following reports whether the store has a change feed, so that Sync has work to do:
// the caller then calls Sync every so often.
func (c *Catalog) Following() bool { return c.feed != nil }

// Sync brings the index up to date with the changes other processes made to the store
// since the index was built or last synced, and returns how many changes it read. With a
// store that no other process writes (no ChangeFeed) it does nothing. Call it every so
// often; it is safe to call concurrently with everything else.
func (c *Catalog) Sync(ctx context.Context) (int, error) {
	if c.feed == nil {
		return 0, nil
	}
	total := 0
	for {
		n, err := c.syncBatch(ctx)
		total += n
		if err != nil || n < syncBatch {
			return total, err
		}
	}
}

// syncBatch applies one batch of changes. The write lock is held from the read to the
// last apply, so a change this process makes meanwhile is never overwritten in the index
// by an older state of the same record.
func (c *Catalog) syncBatch(ctx context.Context) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	changes, err := c.feed.Changes(ctx, c.pos, syncBatch)
	if err != nil {
		return 0, fmt.Errorf("catalog: follow store changes: %w", err)
	}
	indexes := *c.idx.Load()
	for _, ch := range changes {
		if ch.Seq <= c.pos {
			return 0, fmt.Errorf("catalog: follow store changes: position %d after %d", ch.Seq, c.pos)
		}
		c.pos = ch.Seq
		ix, ok := indexes[ch.Area]
		if !ok {
			continue // an area no longer configured
		}
		switch ch.Kind {
		case ChangeCourse:
			switch {
			case ch.Course == nil:
				ix.remove(ch.Key)
			case !ix.holds(ch.Course):
				ix.put(*ch.Course, c.dir)
			}
		case ChangeProvider:
			if ch.Provider == nil {
				ix.deleteProviderName(ch.Key)
			} else {
				ix.setProviderName(ch.Key, ch.Provider.Name)
			}
		}
	}
	return len(changes), nil
}

// holds reports whether the index already has co as it is, such as a change this
// process made itself: indexing it again would only leave a tombstone.
func (ix *areaIndex) holds(co *Course) bool {
	old, ok := ix.course(co.ID)
	return ok && old.sameContent(*co) && old.UpdateTime.Equal(co.UpdateTime) &&
		old.CreateTime.Equal(co.CreateTime) && old.UpdatedBy == co.UpdatedBy
}
