package storage

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// Staff act only on accounts below their own role: a moderator on
// members, an administrator on moderators and members. Every moderation
// method that acts on an account, or removes content from one, checks it
// in its own transaction, so no page or form can forget it (a moderator
// resolving a report with "suspend" against an administrator is refused
// like the same action on the members page). The shell (Operator) is the
// forum's owner and may do anything; members act on their own content
// through the unaudited methods.

// roleRank orders the roles; remote actors are members.
func roleRank(role string) int {
	switch role {
	case RoleAdmin:
		return 2
	case RoleModerator:
		return 1
	}
	return 0
}

// mayActOn returns nil when by may moderate the account target, and an
// [Forbidden] error saying why not otherwise. ownContent allows staff
// to remove their own posts and threads (not to suspend themselves).
func mayActOn(ctx context.Context, db bun.IDB, by, target ID, ownContent bool) error {
	if by == Operator || (ownContent && by == target) {
		return nil
	}
	var roles []struct {
		ID     ID     `bun:"id"`
		Role   string `bun:"role"`
		Domain string `bun:"domain"`
	}
	if err := db.NewRaw("SELECT id, role, domain FROM accounts WHERE id IN (?, ?)", by, target).Scan(ctx, &roles); err != nil {
		return fmt.Errorf("check roles: %w", err)
	}
	byRank, targetRank := -1, 0
	for _, r := range roles {
		rank := roleRank(r.Role)
		if r.Domain != "" {
			rank = 0
		}
		if r.ID == by {
			byRank = rank
		}
		if r.ID == target {
			targetRank = rank
		}
	}
	if byRank < 1 {
		return &Forbidden{Msg: "only moderators and administrators can do that"}
	}
	if by == target {
		return &Forbidden{Msg: "staff cannot act on their own account; ask another administrator, or use the skein command"}
	}
	if targetRank >= byRank {
		return &Forbidden{Msg: "staff act only on accounts below their own role; ask an administrator, or use the skein command"}
	}
	return nil
}

// mayRemovePost is mayActOn for the author of a post.
func mayRemovePost(ctx context.Context, db bun.IDB, by, postID ID) error {
	var author ID
	if err := db.NewRaw("SELECT author_id FROM posts WHERE id = ?", postID).Scan(ctx, &author); err != nil {
		return notFound(err, "post "+postID.String())
	}
	return mayActOn(ctx, db, by, author, true)
}

// mayGrant checks that by may hand out role: nobody raises another above
// their own role.
func mayGrant(ctx context.Context, db bun.IDB, by ID, role string) error {
	if by == Operator {
		return nil
	}
	var own string
	if err := db.NewRaw("SELECT role FROM accounts WHERE id = ?", by).Scan(ctx, &own); err != nil {
		return notFound(err, "account "+by.String())
	}
	if roleRank(role) > roleRank(own) {
		return &Forbidden{Msg: "nobody can give a role above their own"}
	}
	return nil
}
