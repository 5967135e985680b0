package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/uptrace/bun/dialect"
)

// Node numbers for ids. An id carries 10 bits of node number so that
// processes make ids without asking the database (an insert needs no
// RETURNING round trip); two processes with the same number could make
// the same id in the same millisecond. So each Store leases a number
// from the id_nodes table when it opens a migrated database (or after
// Migrate), renews the lease while it runs and gives it back on Close.
//
// A lease runs for idLeaseTTL and is renewed every idLeaseRenew: a
// process that died leaves its number unusable for a while, so nobody
// takes it while the dead process might still have been writing. New
// numbers are handed out before expired ones, and an expired one goes to
// the number that expired longest ago. A process that finds at renewal
// that its lease was taken (it could not renew for idLeaseTTL) leases
// another number before making more ids.
const (
	idLeaseTTL   = 10 * time.Minute
	idLeaseRenew = time.Minute
	idNodes      = 1024 // 10 bits
)

// ErrNoIDNode means every node number is leased by a live process.
var ErrNoIDNode = errors.New("all 1024 id node numbers are leased")

// idLease is the Store's hold on one node number.
type idLease struct {
	mu     sync.Mutex
	node   int64 // -1 until leased
	holder string
	stop   chan struct{}
	done   chan struct{}
}

func newIDLease() *idLease {
	host, _ := os.Hostname()
	return &idLease{node: -1, holder: host + ":" + strconv.Itoa(os.Getpid()) + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// leaseIDNode takes a node number for s's id generator, unless s holds
// one already, and starts renewing it. It does nothing before the
// id_nodes table exists (an unmigrated database: Migrate calls it again).
func (s *Store) leaseIDNode(ctx context.Context) error {
	l := s.lease
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.node >= 0 {
		return nil
	}
	if ok, err := s.hasTable(ctx, "id_nodes"); err != nil || !ok {
		return err
	}
	node, last, err := s.takeIDNode(ctx, l.holder)
	if err != nil {
		return err
	}
	l.node = node
	s.ids.useNode(node, last)
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go s.renewIDLease(l.stop, l.done)
	return nil
}

// takeIDNode leases a number never used before, else the one that
// expired longest ago, and returns it with the last millisecond its
// previous holder recorded.
func (s *Store) takeIDNode(ctx context.Context, holder string) (node, last int64, err error) {
	for range 20 { // another process may take the same number at once: try again
		now := time.Now().UnixMilli()
		var free []int64
		if err := s.w.NewRaw("SELECT COALESCE(MAX(node) + 1, 0) FROM id_nodes").Scan(ctx, &free); err != nil {
			return 0, 0, fmt.Errorf("lease id node: %w", err)
		}
		if len(free) == 1 && free[0] < idNodes {
			res, err := s.w.NewRaw("INSERT INTO id_nodes (node, holder, expires_at, last_ms) VALUES (?, ?, ?, 0) ON CONFLICT (node) DO NOTHING",
				free[0], holder, now+idLeaseTTL.Milliseconds()).Exec(ctx)
			if err != nil {
				return 0, 0, fmt.Errorf("lease id node: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				return free[0], 0, nil
			}
			continue
		}
		var rows []struct {
			Node int64 `bun:"node"`
			Last int64 `bun:"last_ms"`
		}
		// The expiry is checked again by the UPDATE itself, so of two
		// processes choosing the same number only one gets a row back.
		err := s.w.NewRaw(`UPDATE id_nodes SET holder = ?, expires_at = ?
			WHERE node = (SELECT node FROM id_nodes WHERE expires_at < ? ORDER BY expires_at LIMIT 1) AND expires_at < ?
			RETURNING node, last_ms`, holder, now+idLeaseTTL.Milliseconds(), now, now).Scan(ctx, &rows)
		if err != nil {
			return 0, 0, fmt.Errorf("lease id node: %w", err)
		}
		if len(rows) == 1 {
			return rows[0].Node, rows[0].Last, nil
		}
		var expired int
		if err := s.w.NewRaw("SELECT COUNT(*) FROM id_nodes WHERE expires_at < ?", now).Scan(ctx, &expired); err != nil {
			return 0, 0, fmt.Errorf("lease id node: %w", err)
		}
		if expired == 0 {
			return 0, 0, ErrNoIDNode
		}
	}
	return 0, 0, fmt.Errorf("lease id node: %w", ErrNoIDNode)
}

// renewIDLease extends the lease every idLeaseRenew until stop closes.
func (s *Store) renewIDLease(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(idLeaseRenew)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.RenewIDLease(ctx); err != nil {
				slog.Error("renew the id node lease", "err", err)
			}
			cancel()
		}
	}
}

// RenewIDLease extends this process's lease on its node number and
// records the last millisecond used. When the lease was lost (not
// renewed for its whole term, then taken by another process), it leases
// another number at once. The Store calls it every minute; tests call it
// to avoid waiting.
func (s *Store) RenewIDLease(ctx context.Context) error {
	l := s.lease
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.node < 0 {
		return nil
	}
	now := time.Now().UnixMilli()
	res, err := s.w.NewRaw("UPDATE id_nodes SET expires_at = ?, last_ms = ? WHERE node = ? AND holder = ?",
		now+idLeaseTTL.Milliseconds(), s.ids.lastMillis(), l.node, l.holder).Exec(ctx)
	if err != nil {
		return fmt.Errorf("renew id node %d: %w", l.node, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	node, last, err := s.takeIDNode(ctx, l.holder)
	if err != nil {
		return fmt.Errorf("id node %d was taken over, and no other is free: %w", l.node, err)
	}
	slog.Warn("the id node lease was lost; leased another", "lost", l.node, "node", node)
	l.node = node
	s.ids.useNode(node, last)
	return nil
}

// IDNode is the node number this Store's ids carry; -1 before a lease.
func (s *Store) IDNode() int64 {
	s.lease.mu.Lock()
	defer s.lease.mu.Unlock()
	return s.lease.node
}

// releaseIDNode stops renewing and gives the number back, recording the
// last millisecond used so its next holder continues after it.
func (s *Store) releaseIDNode() {
	l := s.lease
	l.mu.Lock()
	stop, done, node := l.stop, l.done, l.node
	l.stop, l.done = nil, nil
	l.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Expired a millisecond ago, so it is free again at once (a lease is
	// taken only when expires_at < now, and the next open may come within
	// the same millisecond), but after every number that has expired
	// before: reused last.
	_, _ = s.w.NewRaw("UPDATE id_nodes SET expires_at = ?, last_ms = ? WHERE node = ? AND holder = ?",
		time.Now().UnixMilli()-1, s.ids.lastMillis(), node, l.holder).Exec(ctx)
}

// hasTable reports whether the database has a table of that name.
func (s *Store) hasTable(ctx context.Context, name string) (bool, error) {
	var n int
	var err error
	if s.Dialect() == dialect.PG {
		err = s.w.NewRaw("SELECT COUNT(*) FROM (SELECT to_regclass(?) AS t) AS r WHERE t IS NOT NULL", name).Scan(ctx, &n)
	} else {
		err = s.w.NewRaw("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", name).Scan(ctx, &n)
	}
	if err != nil {
		return false, fmt.Errorf("look for table %s: %w", name, err)
	}
	return n > 0, nil
}
