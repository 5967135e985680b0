package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Kinds of local actor that own a key pair.
const (
	KeyOwnerInstance = "instance" // the node's own Application actor, id 0
	KeyOwnerMember   = "member"
	KeyOwnerForum    = "forum"
	KeyOwnerThread   = "thread"
)

// ActorKey is a local actor's RSA key pair in PEM.
type ActorKey struct {
	bun.BaseModel `bun:"table:actor_keys"`

	OwnerKind  string    `bun:"owner_kind,pk"`
	OwnerID    ID        `bun:"owner_id,pk"`
	PublicPEM  string    `bun:"public_pem"`
	PrivatePEM string    `bun:"private_pem"`
	CreatedAt  time.Time `bun:"created_at"`
}

// ActorKey returns the key pair of a local actor, or ErrNotFound when it
// has none yet.
func (s *Store) ActorKey(ctx context.Context, kind string, id ID) (*ActorKey, error) {
	return selectOne[ActorKey](ctx, s.r, "key of "+kind+" "+id.String(), "owner_kind = ? AND owner_id = ?", kind, id)
}

// SaveActorKey stores a key pair unless the actor already has one, and
// returns the one stored: when two processes generate a key at once, the
// first write wins and both use it.
func (s *Store) SaveActorKey(ctx context.Context, k *ActorKey) (*ActorKey, error) {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now().UTC()
	}
	if _, err := s.w.NewInsert().Model(k).On("CONFLICT DO NOTHING").Returning("NULL").Exec(ctx); err != nil {
		return nil, fmt.Errorf("save key: %w", err)
	}
	out := new(ActorKey)
	err := s.w.NewSelect().Model(out).Where("owner_kind = ? AND owner_id = ?", k.OwnerKind, k.OwnerID).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	return out, nil
}
