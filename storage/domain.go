package storage

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
)

// Federation modes (--federation).
const (
	FederationOpen      = "open"      // talk to every host that is not blocked
	FederationAllowlist = "allowlist" // talk only to hosts on the allow list
)

// Domain policies, from mildest to strictest. DomainPolicy and
// ActorPolicy return one of them; PolicyNone means no restriction.
const (
	PolicyNone = ""
	// SeveritySilence: their threads stay out of forum lists, and their
	// follows of local actors wait for approval instead of being accepted.
	SeveritySilence = "silence"
	// SeveritySuspend: refuse their inbox requests with 403 and their
	// signed fetches, deliver nothing to them; their content here is
	// purged when the block is made. A host outside the allow list in
	// allow-list mode is treated as suspended.
	SeveritySuspend = "suspend"
)

// PolicyRecheck bounds how stale DomainPolicy can be: a block made by
// this process is seen at once, one made by another process sharing the
// database (or with `skein domain block` while the node runs) within
// this long. Checking costs one primary-key read of policy_version per
// PolicyRecheck per process, not one per request.
const PolicyRecheck = 250 * time.Millisecond

// bumpPolicy moves policy_version in tx, the transaction of a change
// every process's cached policy must see. On PostgreSQL it also takes
// the row's lock, so two changes apply one after the other.
func bumpPolicy(ctx context.Context, tx bun.Tx) error {
	if _, err := tx.NewRaw("UPDATE policy_version SET version = version + 1 WHERE id = 1").Exec(ctx); err != nil {
		return fmt.Errorf("bump policy version: %w", err)
	}
	return nil
}

// DomainBlock is a moderation decision about a whole remote host and its
// subdomains. PublicReason may be shown to anyone; PrivateNote is for
// moderators.
type DomainBlock struct {
	bun.BaseModel `bun:"table:domain_blocks,alias:block"`

	Host         string    `bun:"host,pk"`
	Severity     string    `bun:"severity"`
	PublicReason string    `bun:"public_reason"`
	PrivateNote  string    `bun:"private_note"`
	CreatedAt    time.Time `bun:"created_at"`
}

// DomainAllow is a host a node in allow-list mode federates with.
type DomainAllow struct {
	bun.BaseModel `bun:"table:domain_allows,alias:allow"`

	Host      string    `bun:"host,pk"`
	CreatedAt time.Time `bun:"created_at"`
}

var hostShape = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$`)

// NormalizeHost turns what an admin typed ("https://Social.Example/",
// "social.example.") into the host form accounts store, or fails with
// ErrInvalid.
func NormalizeHost(typed string) (string, error) {
	h := strings.ToLower(strings.TrimSpace(typed))
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h = strings.TrimSuffix(strings.TrimSuffix(h, "/"), ".")
	if !hostShape.MatchString(h) || strings.Contains(h, "..") {
		return "", invalid("domain", "%q is not a host name", typed)
	}
	return h, nil
}

// BlockDomain blocks a host (and its subdomains) or changes an existing
// block. Suspending purges what the node holds from there in the same
// transaction: their posts become tombstones (threads they started go),
// their likes and every follow from or of their accounts are dropped.
// Unblocking later does not bring any of it back.
func (s *Store) BlockDomain(ctx context.Context, by ID, b DomainBlock) error {
	host, err := NormalizeHost(b.Host)
	if err != nil {
		return err
	}
	if b.Severity != SeveritySilence && b.Severity != SeveritySuspend {
		return invalid("severity", "severity %q: want silence or suspend", b.Severity)
	}
	b.Host = host
	b.PublicReason = strings.TrimSpace(b.PublicReason)
	b.PrivateNote = strings.TrimSpace(b.PrivateNote)
	if len(b.PublicReason) > 1000 || len(b.PrivateNote) > 1000 {
		return invalid("reason", "reasons are at most 1000 characters")
	}
	b.CreatedAt = time.Now().UTC()
	return s.changePolicy(ctx, "block", host, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(&b).On("CONFLICT (host) DO UPDATE").
			Set("severity = EXCLUDED.severity").Set("public_reason = EXCLUDED.public_reason").
			Set("private_note = EXCLUDED.private_note").Exec(ctx)
		if err != nil {
			return fmt.Errorf("store block: %w", err)
		}
		if b.Severity == SeveritySuspend {
			if err := s.purgeDomain(ctx, tx, host); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, by, AuditDomainBlock, TargetDomain, host, b.Severity+": "+b.PublicReason)
	})
}

// changePolicy runs change in a transaction that moves the policy
// version, so every process rereads the lists, and drops this process's
// copy whatever happened.
func (s *Store) changePolicy(ctx context.Context, verb, host string, change func(ctx context.Context, tx bun.Tx) error) error {
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := bumpPolicy(ctx, tx); err != nil {
			return err
		}
		return change(ctx, tx)
	})
	s.policy.invalidate()
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, host, err)
	}
	return nil
}

// deletePolicyRow deletes host's row of a domain list and audits it;
// ErrNotFound, saying missing, when there was none.
func (s *Store) deletePolicyRow(ctx context.Context, tx bun.Tx, model any, host, missing string, by ID, action string) error {
	res, err := tx.NewDelete().Model(model).Where("host = ?", host).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", missing, ErrNotFound)
	}
	return s.audit(ctx, tx, by, action, TargetDomain, host, "")
}

// domainAccounts is a subquery of the ids of accounts on host or its
// subdomains; its two arguments come from domainArgs.
const domainAccounts = "SELECT id FROM accounts AS da WHERE da.domain = ? OR da.domain LIKE ?"

func domainArgs(host string) []any { return []any{host, "%." + host} }

// purgeDomain hides and drops what accounts of host left here.
func (s *Store) purgeDomain(ctx context.Context, tx bun.Tx, host string) error {
	args := domainArgs(host)
	var threads []ID
	err := tx.NewRaw("SELECT id FROM threads WHERE deleted_at IS NULL AND author_id IN ("+domainAccounts+")", args...).Scan(ctx, &threads)
	if err != nil {
		return fmt.Errorf("find their threads: %w", err)
	}
	for _, id := range threads {
		if err := s.deleteThread(ctx, tx, id); err != nil {
			return err
		}
	}
	if err := s.tombstonePosts(ctx, tx, time.Now().UTC(), "author_id IN ("+domainAccounts+")", args...); err != nil {
		return fmt.Errorf("purge their posts: %w", err)
	}
	if _, err := tx.NewRaw("UPDATE accounts SET post_count = 0 WHERE id IN ("+domainAccounts+")", args...).Exec(ctx); err != nil {
		return fmt.Errorf("uncount their posts: %w", err)
	}
	if err := unlikeAll(ctx, tx, "account_id IN ("+domainAccounts+")", args...); err != nil {
		return err
	}
	if err := forgetNotifications(ctx, tx, "n.actor_id IN ("+domainAccounts+")", args...); err != nil {
		return err
	}
	_, err = tx.NewRaw("DELETE FROM follows WHERE follower_id IN ("+domainAccounts+") OR (target_kind = ? AND target_id IN ("+domainAccounts+"))",
		append(append(append([]any{}, args...), FollowAccount), args...)...).Exec(ctx)
	if err != nil {
		return fmt.Errorf("drop their follows: %w", err)
	}
	return nil
}

// UnblockDomain lifts a block; it reports ErrNotFound when there was none.
func (s *Store) UnblockDomain(ctx context.Context, by ID, host string) error {
	host, err := NormalizeHost(host)
	if err != nil {
		return err
	}
	return s.changePolicy(ctx, "unblock", host, func(ctx context.Context, tx bun.Tx) error {
		return s.deletePolicyRow(ctx, tx, (*DomainBlock)(nil), host, "no block on "+host, by, AuditDomainUnblock)
	})
}

// ListDomainBlocks returns every block, by host.
func (s *Store) ListDomainBlocks(ctx context.Context) ([]DomainBlock, error) {
	var out []DomainBlock
	if err := s.r.NewSelect().Model(&out).OrderExpr("host ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list domain blocks: %w", err)
	}
	return out, nil
}

// AllowDomain puts a host on the allow list (used in allow-list mode).
func (s *Store) AllowDomain(ctx context.Context, by ID, host string) error {
	host, err := NormalizeHost(host)
	if err != nil {
		return err
	}
	return s.changePolicy(ctx, "allow", host, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(&DomainAllow{Host: host, CreatedAt: time.Now().UTC()}).On("CONFLICT (host) DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, by, AuditDomainAllow, TargetDomain, host, "")
	})
}

// DisallowDomain takes a host off the allow list.
func (s *Store) DisallowDomain(ctx context.Context, by ID, host string) error {
	host, err := NormalizeHost(host)
	if err != nil {
		return err
	}
	return s.changePolicy(ctx, "disallow", host, func(ctx context.Context, tx bun.Tx) error {
		return s.deletePolicyRow(ctx, tx, (*DomainAllow)(nil), host, host+" is not on the allow list", by, AuditDomainDisallow)
	})
}

// ListDomainAllows returns the allow list, by host.
func (s *Store) ListDomainAllows(ctx context.Context) ([]DomainAllow, error) {
	var out []DomainAllow
	if err := s.r.NewSelect().Model(&out).OrderExpr("host ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list allowed domains: %w", err)
	}
	return out, nil
}

// FederationMode is FederationOpen or FederationAllowlist.
func (s *Store) FederationMode() string {
	if s.policy.allowlist {
		return FederationAllowlist
	}
	return FederationOpen
}

// DomainPolicy tells how the node treats a remote host: PolicyNone,
// SeveritySilence or SeveritySuspend. host is what a URL's Host holds
// (name, maybe with a port); a block on a domain covers its subdomains,
// and the most specific block wins. In allow-list mode a host that is
// neither blocked nor allowed is SeveritySuspend.
//
// It is meant for hot paths (every inbox POST, every delivery): the
// answer comes from an in-memory copy of both lists, refreshed at once
// after a change made through this store, and within PolicyRecheck of a
// change made by another process (policy_version moved). An error means
// the lists could not be read at all.
func (s *Store) DomainPolicy(ctx context.Context, host string) (string, error) {
	snap, err := s.policy.snapshot(ctx, s)
	if err != nil {
		return PolicyNone, err
	}
	return snap.severity(strings.ToLower(strings.TrimSuffix(host, ".")), s.policy.allowlist), nil
}

// ActorPolicy is the strictest of a remote actor's own flags (Suspended,
// Silenced) and its domain's policy. For members it is their flags only.
func (s *Store) ActorPolicy(ctx context.Context, a *Account) (string, error) {
	if a.Suspended {
		return SeveritySuspend, nil
	}
	p := PolicyNone
	if !a.IsLocal() {
		var err error
		if p, err = s.DomainPolicy(ctx, a.Domain); err != nil {
			return PolicyNone, err
		}
	}
	if p == PolicyNone && a.Silenced {
		p = SeveritySilence
	}
	return p, nil
}

// domainPolicy caches both lists. Readers take the current snapshot
// without a lock; one reader at a time checks policy_version when the
// snapshot was last confirmed more than PolicyRecheck ago, and reloads
// the lists only when the version moved. invalidate takes the same lock,
// so a load that read the tables before a change cannot be stored after
// the change cleared it.
type domainPolicy struct {
	allowlist bool
	mu        sync.Mutex
	cur       atomic.Pointer[policySnapshot]
	// newlySuspended are hosts whose suspension this process noticed,
	// with when: PurgeSlippedThrough purges them again once what this
	// process was writing when the block came has committed.
	newlySuspended map[string]time.Time
}

type policySnapshot struct {
	blocks    map[string]string
	allows    map[string]bool
	actors    *suspendedActors // see [Store.ActorSuspended]
	version   int64
	confirmed atomic.Int64 // Unix nanoseconds when version was last read equal
}

func newDomainPolicy() *domainPolicy {
	return &domainPolicy{newlySuspended: make(map[string]time.Time)}
}

// invalidate makes the next reader reload (after a change made through
// this store, which it must see at once).
func (p *domainPolicy) invalidate() {
	p.mu.Lock()
	if snap := p.cur.Load(); snap != nil {
		snap.confirmed.Store(0)
		snap.version = -1 // reload even if the version read next looks equal
	}
	p.mu.Unlock()
}

func (p *domainPolicy) snapshot(ctx context.Context, s *Store) (*policySnapshot, error) {
	now := time.Now()
	fresh := func(snap *policySnapshot) bool {
		return snap != nil && now.UnixNano()-snap.confirmed.Load() < int64(PolicyRecheck)
	}
	if snap := p.cur.Load(); fresh(snap) {
		return snap, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.cur.Load()
	if fresh(old) {
		return old, nil
	}
	var version int64
	if err := s.r.NewRaw("SELECT version FROM policy_version WHERE id = 1").Scan(ctx, &version); err != nil {
		if old != nil && old.version >= 0 {
			// The database is unreachable: keep enforcing what we knew.
			return old, nil
		}
		return nil, fmt.Errorf("read policy version: %w", err)
	}
	if old != nil && old.version == version {
		old.confirmed.Store(now.UnixNano())
		return old, nil
	}
	blocks, err := s.ListDomainBlocks(ctx)
	if err != nil {
		return nil, err
	}
	allows, err := s.ListDomainAllows(ctx)
	if err != nil {
		return nil, err
	}
	actors, err := loadSuspendedActors(ctx, s)
	if err != nil {
		return nil, err
	}
	snap := &policySnapshot{blocks: make(map[string]string, len(blocks)), allows: make(map[string]bool, len(allows)),
		actors: actors, version: version}
	snap.confirmed.Store(now.UnixNano())
	for _, b := range blocks {
		snap.blocks[b.Host] = b.Severity
		if b.Severity == SeveritySuspend && old != nil && old.blocks[b.Host] != SeveritySuspend {
			p.newlySuspended[b.Host] = now
		}
	}
	for _, a := range allows {
		snap.allows[a.Host] = true
	}
	p.cur.Store(snap)
	return snap, nil
}

// slipGrace is how long after noticing a suspension a process purges the
// host again: by then every write it had begun under the old policy has
// committed or failed.
const slipGrace = 2 * time.Second

// PurgeSlippedThrough purges, once more, what hosts suspended since this
// process last looked still have here. Suspending a host purges it in
// the block's own transaction, but another process that had not seen the
// block yet may store one more activity from it meanwhile; every process
// sees the block within PolicyRecheck, and purges again slipGrace later,
// when what it had in flight is written. It first checks the policy
// itself, so a quiet process notices blocks too. The node calls it
// every PolicyRecheck (see [Store.WatchPolicy]).
func (s *Store) PurgeSlippedThrough(ctx context.Context) error {
	if _, err := s.policy.snapshot(ctx, s); err != nil {
		return err
	}
	p := s.policy
	p.mu.Lock()
	var due []string
	for host, at := range p.newlySuspended {
		if time.Since(at) >= slipGrace {
			due = append(due, host)
		}
	}
	p.mu.Unlock()
	for _, host := range due {
		err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error { return s.purgeDomain(ctx, tx, host) })
		if err != nil {
			return fmt.Errorf("purge %s again: %w", host, err)
		}
		p.mu.Lock()
		delete(p.newlySuspended, host)
		p.mu.Unlock()
	}
	return nil
}

// WatchPolicy keeps this process's copy of the domain policy within
// PolicyRecheck of the database and purges what slipped through a new
// suspension (PurgeSlippedThrough), until ctx ends.
func (s *Store) WatchPolicy(ctx context.Context, onError func(error)) {
	t := time.NewTicker(PolicyRecheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.PurgeSlippedThrough(ctx); err != nil && ctx.Err() == nil && onError != nil {
				onError(err)
			}
		}
	}
}

// severity checks host, then host without its port, then each parent
// domain: the first (most specific) block found decides.
func (snap *policySnapshot) severity(host string, allowlist bool) string {
	candidates := hostAndParents(host)
	for _, c := range candidates {
		if sev, ok := snap.blocks[c]; ok {
			return sev
		}
	}
	if allowlist {
		for _, c := range candidates {
			if snap.allows[c] {
				return PolicyNone
			}
		}
		return SeveritySuspend
	}
	return PolicyNone
}

func hostAndParents(host string) []string {
	out := []string{host}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
		out = append(out, name)
	}
	if net.ParseIP(name) != nil {
		return out
	}
	for {
		i := strings.IndexByte(name, '.')
		if i < 0 || !strings.Contains(name[i+1:], ".") {
			return out
		}
		name = name[i+1:]
		out = append(out, name)
	}
}

// CountRemoteServers counts the remote hosts the node knows an actor of.
func (s *Store) CountRemoteServers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.NewRaw("SELECT COUNT(DISTINCT domain) FROM accounts WHERE domain <> ''").Scan(ctx, &n); err != nil {
		return 0, fmt.Errorf("count remote servers: %w", err)
	}
	return n, nil
}
