package catalog

import (
	"context"
	"errors"
	"slices"
)

// maxGroup is the most course writes one group commit takes.
const maxGroup = 1000

// courseOp is one course write waiting for a group commit.
type courseOp struct {
	kind  CourseWriteKind
	actor string
	// course is, for CourseCreate, the course its writer validated and stamped; for
	// CoursePut (an update), the values of the fields named by paths; for CourseDelete,
	// the key (Area and ID).
	course Course
	paths  []string
	// prov is the provider course was validated against and gen the provider generation
	// (Catalog.provGen) taken before it was read (CourseCreate).
	prov *Provider
	gen  uint64

	// Set by the committer: the answer (out, err), and done once it is final.
	out  Course
	err  error
	done bool
	// wake receives once the op is answered (done) or, not done, when its writer is to
	// lead the next commit. Buffered: the sender never waits.
	wake chan struct{}
}

// submit queues op and returns once it is answered: after its write is durable, or refused.
// Writes share commits: when no commit is in flight the writer commits at once (with
// whatever else is queued); otherwise its write waits for the commit after the one in
// flight, which takes every write queued meanwhile. There is no timed wait.
func (c *Catalog) submit(ctx context.Context, op *courseOp) {
	op.wake = make(chan struct{}, 1)
	c.qmu.Lock()
	c.queue = append(c.queue, op)
	lead := !c.committing
	c.committing = true
	c.qmu.Unlock()
	if !lead {
		<-op.wake
		if op.done {
			return
		}
	}
	// This writer leads: its op is queued, so the commit answers it. The commit outlives
	// the leader's context: it carries other writers' writes.
	c.commitQueued(context.WithoutCancel(ctx))
}

// commitQueued commits the queued writes, answers their writers and hands the lead to the
// first writer queued meanwhile, if any.
func (c *Catalog) commitQueued(ctx context.Context) {
	c.qmu.Lock()
	n := min(len(c.queue), maxGroup)
	batch := slices.Clone(c.queue[:n])
	c.queue = slices.Delete(c.queue, 0, n)
	c.qmu.Unlock()

	c.commit(ctx, batch)
	for _, op := range batch {
		op.done = true
		op.wake <- struct{}{}
	}

	c.qmu.Lock()
	if len(c.queue) == 0 {
		c.committing = false
		c.qmu.Unlock()
		return
	}
	next := c.queue[0]
	c.qmu.Unlock()
	next.wake <- struct{}{} // not done: it leads the next commit
}

// commit writes batch in one store transaction and applies it to the index in order. A
// write the store refuses is answered with its refusal and the rest are committed again
// without it, so one write's failure never fails another.
func (c *Catalog) commit(ctx context.Context, batch []*courseOp) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	live := batch
	for {
		ws, wops := c.resolve(ctx, live)
		err := c.store.WriteCourses(ctx, ws)
		var we *WriteError
		if errors.As(err, &we) && we.Index >= 0 && we.Index < len(wops) {
			refused := wops[we.Index]
			refused.err, refused.out = storeCourseErr(refused.out, we.Err), Course{}
			// The others are resolved again: some may have depended on the refused write.
			live = slices.DeleteFunc(slices.Clone(live), func(op *courseOp) bool { return op == refused })
			continue
		}
		if err != nil {
			for _, op := range live {
				if op.err == nil {
					op.err, op.out = storeCourseErr(op.course, err), Course{}
				}
			}
			return
		}
		for _, op := range wops {
			ix := c.index(op.out.Area)
			if op.kind == CourseDelete {
				ix.remove(op.out.ID)
				continue
			}
			ix.setProviderName(op.prov.UKPRN, op.prov.Name)
			ix.put(op.out, c.dir)
		}
		return
	}
}

// resolve turns the ops into the store writes that carry them out, in order, reading
// each against the state the earlier ones leave. It answers the ops refused before the
// store is asked (a course missing, a rule broken) and those that write nothing (an update
// that changes nothing), and returns the writes with the ops they belong to. Called with
// wmu held.
func (c *Catalog) resolve(ctx context.Context, ops []*courseOp) ([]CourseWrite, []*courseOp) {
	type courseKey struct{ area, id string }
	overlay := map[courseKey]*Course{} // the batch's writes so far; nil: deleted
	get := func(area, id string) (Course, error) {
		if co, ok := overlay[courseKey{area, id}]; ok {
			if co == nil {
				return Course{}, ErrNotFound
			}
			return *co, nil
		}
		return c.store.GetCourse(ctx, area, id)
	}
	var (
		ws   []CourseWrite
		wops []*courseOp
	)
	for _, op := range ops {
		op.out, op.err = Course{}, nil
		k := courseKey{op.course.Area, op.course.ID}
		a := c.areas[op.course.Area]
		switch op.kind {
		case CourseCreate:
			co := op.course
			if gen := c.provGen.Load(); gen != op.gen {
				// A provider was written since the writer checked the course: check again.
				p, err := c.providerOf(ctx, co.Area, co.ProviderUKPRN)
				if err != nil {
					op.err = err
					continue
				}
				if err := invalid(c.prepare(a, p, &co)); err != nil {
					op.err = err
					continue
				}
				op.course, op.prov, op.gen = co, p, gen
			}
			if prev, ok := overlay[k]; ok && prev != nil {
				op.err = storeCourseErr(co, ErrAlreadyExists)
				continue
			}
			op.out = co
		case CoursePut:
			old, err := get(op.course.Area, op.course.ID)
			if err != nil {
				op.err = storeCourseErr(op.course, err)
				continue
			}
			next := old
			applyCourseFields(&next, op.course, op.paths)
			p, err := c.providerOf(ctx, next.Area, next.ProviderUKPRN)
			if err != nil {
				op.err = err
				continue
			}
			if err := invalid(c.prepare(a, p, &next)); err != nil {
				op.err = err
				continue
			}
			if next.sameContent(old) {
				op.out = old
				continue
			}
			next.UpdateTime, next.UpdatedBy = c.stamp(), op.actor
			op.out, op.prov = next, p
		case CourseDelete:
			if prev, ok := overlay[k]; ok && prev == nil {
				op.err = storeCourseErr(op.course, ErrNotFound)
				continue
			}
			op.out = Course{Area: op.course.Area, ID: op.course.ID}
		}
		ws = append(ws, CourseWrite{Kind: op.kind, Course: op.out})
		wops = append(wops, op)
		if op.kind == CourseDelete {
			overlay[k] = nil
		} else {
			co := op.out
			overlay[k] = &co
		}
	}
	return ws, wops
}
