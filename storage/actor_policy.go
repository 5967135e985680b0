package storage

import (
	"context"
	"fmt"
)

// Suspended remote actors, for the paths that must refuse them cheaply:
// every inbox POST, every fan-out, every delivery. They ride in the same
// in-memory snapshot as the domain lists ([Store.DomainPolicy]): reloaded at once
// after SuspendAccount or a report's suspend action through this store,
// and within PolicyRecheck after one by another process. Suspensions are rare, so the set
// stays small.

// suspendedActors is the snapshot's view of suspended remote accounts.
type suspendedActors struct {
	ids     map[ID]bool
	apIDs   map[string]bool
	inboxes map[string]bool // their personal inboxes
}

func loadSuspendedActors(ctx context.Context, s *Store) (*suspendedActors, error) {
	var rows []struct {
		ID    ID      `bun:"id"`
		APID  *string `bun:"ap_id"`
		Inbox string  `bun:"inbox"`
	}
	err := s.r.NewRaw("SELECT id, ap_id, inbox FROM accounts WHERE suspended = ? AND domain <> ''", true).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("list suspended actors: %w", err)
	}
	out := &suspendedActors{ids: make(map[ID]bool, len(rows)), apIDs: make(map[string]bool, len(rows)),
		inboxes: make(map[string]bool, len(rows))}
	for _, r := range rows {
		out.ids[r.ID] = true
		if r.APID != nil {
			out.apIDs[*r.APID] = true
		}
		if r.Inbox != "" {
			out.inboxes[r.Inbox] = true
		}
	}
	return out, nil
}

// ActorSuspended reports whether the remote actor with ActivityPub id
// apID is suspended on its own (its domain's policy is DomainPolicy's).
func (s *Store) ActorSuspended(ctx context.Context, apID string) (bool, error) {
	snap, err := s.policy.snapshot(ctx, s)
	if err != nil {
		return false, err
	}
	return snap.actors.apIDs[canonicalIRI(apID)], nil
}

// AccountSuspended is ActorSuspended by account id, for fan-outs that
// read followers' ids and inboxes only.
func (s *Store) AccountSuspended(ctx context.Context, id ID) (bool, error) {
	snap, err := s.policy.snapshot(ctx, s)
	if err != nil {
		return false, err
	}
	return snap.actors.ids[id], nil
}

// InboxSuspended reports whether inbox is the personal inbox of a
// suspended remote actor: the delivery worker drops jobs queued for one
// before the suspension. Shared inboxes serve others too and never match.
func (s *Store) InboxSuspended(ctx context.Context, inbox string) (bool, error) {
	snap, err := s.policy.snapshot(ctx, s)
	if err != nil {
		return false, err
	}
	return snap.actors.inboxes[inbox], nil
}

// KnownInbox is where one remote server (or, without a shared inbox, one
// actor of it) takes deliveries.
type KnownInbox struct {
	Inbox  string `bun:"inbox"`
	Domain string `bun:"domain"`
}

// KnownInboxes pages every place the node can reach the remote servers it
// knows: the shared inbox of each that offers one, the personal inbox of
// each known actor otherwise, suspended actors left out. A member's
// Delete{Person} goes to all of them, as Mastodon does, since their
// follows are gone by the time it is sent. after is the last Inbox of the
// previous page ("" for the first).
func (s *Store) KnownInboxes(ctx context.Context, after string, limit int) ([]KnownInbox, error) {
	var out []KnownInbox
	err := s.r.NewRaw(`SELECT inbox, MIN(domain) AS domain FROM (
			SELECT CASE WHEN shared_inbox <> '' THEN shared_inbox ELSE inbox END AS inbox, domain
			FROM accounts WHERE domain <> '' AND inbox <> '' AND suspended = ?) AS k
		WHERE inbox > ? GROUP BY inbox ORDER BY inbox LIMIT ?`, false, after, limit).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("known inboxes: %w", err)
	}
	return out, nil
}
