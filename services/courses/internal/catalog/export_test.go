package catalog

// QueueLen returns how many course writes wait for a group commit.
func QueueLen(c *Catalog) int {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return len(c.queue)
}
