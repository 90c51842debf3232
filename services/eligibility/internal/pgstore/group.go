package pgstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
)

// Group commit of audited statements.
//
// Every audited statement takes the audit counter's row lock until its transaction
// commits, so audited statements of all replicas commit one after another and each
// commit's flush to disk is paid in full. A replica therefore sends its audited
// statements through one committer: while a group is committing, the statements that
// arrive queue up, and the next group runs them all in one transaction, pipelined in one
// round trip, with one commit. A lone statement waits for nothing; under load, one lock
// hold and one flush serve many statements, as bbolt's Batch does for the bbolt store.

// maxGroup bounds the statements of one group transaction.
const maxGroup = 256

// groupTimeout bounds one group transaction.
const groupTimeout = 30 * time.Second

// auditedOp is one audited statement waiting for its group.
type auditedOp struct {
	sql  string
	args []any
	// read consumes the statement's rows; it may run twice (alone, after its group
	// failed), so it must set its results afresh.
	read func(pgx.Rows) error
	done chan error
}

// committer runs audited statements in group transactions.
type committer struct {
	pool  *pgxpool.Pool
	retry func(context.Context, func() error) error

	mu      sync.Mutex
	queue   []*auditedOp
	wake    chan struct{}
	closed  bool
	stopped chan struct{}

	// largest is the most statements one transaction has committed together.
	largest atomic.Int64
}

func newCommitter(pool *pgxpool.Pool, retry func(context.Context, func() error) error) *committer {
	c := &committer{pool: pool, retry: retry, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go c.loop()
	return c
}

// do runs one audited statement in the next group and returns once it is committed (or
// failed). read gets its rows; an error read returns fails the statement alone unless it
// is a database error, which fails the transaction.
func (c *committer) do(ctx context.Context, sql string, read func(pgx.Rows) error, args ...any) error {
	op := &auditedOp{sql: sql, args: args, read: read, done: make(chan error, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return domain.ErrClosed
	}
	c.queue = append(c.queue, op)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		// The statement may still commit: as with any call abandoned in flight.
		return ctx.Err()
	}
}

// close stops the committer once the queued statements have run.
func (c *committer) close() {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if !already {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	<-c.stopped
}

func (c *committer) loop() {
	defer close(c.stopped)
	for {
		c.mu.Lock()
		n := min(len(c.queue), maxGroup)
		group := c.queue[:n:n]
		c.queue = c.queue[n:]
		closed := c.closed
		c.mu.Unlock()
		if len(group) > 0 {
			c.run(group)
			continue
		}
		if closed {
			return
		}
		<-c.wake
	}
}

// run commits a group. When one statement fails it, that statement runs alone (to get
// its own result) and the others run again as a group; when the transaction fails
// otherwise, each statement runs alone, so a failure reaches only its own caller.
func (c *committer) run(group []*auditedOp) {
	if len(group) == 1 {
		group[0].done <- c.alone(group[0])
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	results, failed, err := c.together(ctx, group)
	if err != nil {
		if failed < 0 {
			for _, op := range group {
				op.done <- c.alone(op)
			}
			return
		}
		group[failed].done <- c.alone(group[failed])
		c.run(append(group[:failed:failed], group[failed+1:]...))
		return
	}
	if n := int64(len(group)); n > c.largest.Load() {
		c.largest.Store(n) // only this goroutine writes it
	}
	for i, op := range group {
		op.done <- results[i]
	}
}

// together runs the group in one transaction. err is set when the transaction did not
// commit, with failed the index of the statement that failed it, or -1; results are the
// statements' own outcomes otherwise.
func (c *committer) together(ctx context.Context, group []*auditedOp) (results []error, failed int, err error) {
	failed = -1
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return nil, failed, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	batch := &pgx.Batch{}
	for _, op := range group {
		batch.Queue(op.sql, op.args...)
	}
	br := tx.SendBatch(ctx, batch)
	results = make([]error, len(group))
	for i, op := range group {
		rows, qerr := br.Query()
		if qerr == nil {
			qerr = op.read(rows)
		}
		if abortsGroup(qerr) {
			_ = br.Close()
			return nil, i, qerr
		}
		results[i] = qerr
	}
	if err := br.Close(); err != nil {
		return nil, failed, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, failed, err
	}
	return results, failed, nil
}

// alone runs one statement in its own transaction, retried on conflicts.
func (c *committer) alone(op *auditedOp) error {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	return c.retry(ctx, func() error {
		rows, err := c.pool.Query(ctx, op.sql, op.args...)
		if err != nil {
			return err
		}
		return op.read(rows)
	})
}

// abortsGroup reports an error that is not a statement's expected outcome (no rows): the
// server's, the connection's or a decoding error. It fails the group, whose statements
// then run alone, so the error reaches only the statement that caused it.
func abortsGroup(err error) bool {
	return err != nil && !errors.Is(err, pgx.ErrNoRows)
}
