package storage

// Standing is what this node tells others of one of its actors (a
// member, forum or thread): whether its ActivityPub document is served,
// whether WebFinger answers for it and whether a guest is offered to
// follow it from another server. One rule for all three, so that what
// one of them finds, the others do not deny.
type Standing int

const (
	// ActorLive: the actor is served, found and may be followed.
	ActorLive Standing = iota
	// ActorUnknown: the actor does not exist to the fediverse yet: a
	// registration that awaits approval. Not found (404).
	ActorUnknown
	// ActorGone: the actor was there and is no more: a deleted or suspended
	// member, a deleted thread. 410, with a Tombstone where a document
	// is asked for, so that servers which knew it drop it.
	ActorGone
	// ActorElsewhere: no actor here, its original is on other servers: a
	// mirror of a remote thread (whose actor is the remote one), the
	// hidden forum that holds the mirrors. Not found (404) to the
	// fediverse; a guest is told where to follow instead.
	ActorElsewhere
)

// Standing of a local member. Approval comes first: a registration
// deleted or suspended before it was approved was never known outside.
func (a *Account) Standing() Standing {
	switch {
	case a.ApprovalPending:
		return ActorUnknown
	case a.Suspended, a.DeletedAt != nil:
		return ActorGone
	}
	return ActorLive
}

// Standing of a forum.
func (f *Forum) Standing() Standing {
	if f.Hidden {
		return ActorElsewhere
	}
	return ActorLive
}

// Standing of a thread. A mirror is [ActorElsewhere] even once deleted: its
// actor was never this node's to answer for.
func (t *Thread) Standing() Standing {
	switch {
	case t.IsMirror():
		return ActorElsewhere
	case t.DeletedAt != nil:
		return ActorGone
	}
	return ActorLive
}
