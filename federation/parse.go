package federation

import (
	"context"
	"html"
	"strings"
	"unicode"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/markup"
	"github.com/skein-forum/skein/storage"
)

// ErrNotActor means a fetched document is not an actor.
var ErrNotActor = as.ErrNotActor

// maxBioLen bounds a remote actor's bio as stored.
const maxBioLen = 16 << 10

// ParseActor reads a remote actor document into an Account (not yet
// stored; Domain is the host of its id), its text made safe to store and
// show.
func ParseActor(ctx context.Context, m map[string]any) (*storage.Account, error) {
	ra, err := as.ReadActor(ctx, m)
	if err != nil {
		return nil, err
	}
	id := ra.ID
	acc := &storage.Account{
		APID:         &id,
		Domain:       ra.Host,
		ActorType:    ra.Type,
		Handle:       ra.Handle,
		DisplayName:  cleanName(ra.Name),
		Inbox:        ra.Inbox,
		SharedInbox:  ra.SharedInbox,
		FollowersURL: ra.Followers,
		URL:          ra.URL,
		AvatarURL:    ra.Avatar,
		PublicKeyID:  ra.PublicKeyID,
		PublicKeyPEM: ra.PublicKeyPEM,
	}
	// A bio is shown on pages: remote HTML only ever enters sanitized,
	// and a long one only as a plain excerpt.
	acc.Bio = markup.SanitizeRemote(as.ClipText(ra.Summary, as.MaxContent))
	if len(acc.Bio) > maxBioLen {
		acc.Bio = "<p>" + html.EscapeString(markup.Excerpt(acc.Bio, 500)) + "</p>"
	}
	return acc, nil
}

// cleanName makes a remote display name or title safe to store and show:
// no control or bidi characters (NUL also breaks PostgreSQL and SQLite's
// statement text), valid UTF-8, at most [as.MaxNameLen] bytes.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || as.IsBidiControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.TrimSpace(as.ClipText(s, as.MaxNameLen))
}
