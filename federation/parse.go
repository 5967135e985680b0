package federation

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/markup"
	"github.com/skein-forum/skein/storage"
)

// ErrNotActor means a fetched document is not an actor.
var ErrNotActor = errors.New("not an actor")

// remoteActor is what the five ActivityStreams actor types have in common
// that Skein reads.
type remoteActor interface {
	vocab.Type
	GetActivityStreamsPreferredUsername() vocab.ActivityStreamsPreferredUsernameProperty
	GetActivityStreamsName() vocab.ActivityStreamsNameProperty
	GetActivityStreamsSummary() vocab.ActivityStreamsSummaryProperty
	GetActivityStreamsInbox() vocab.ActivityStreamsInboxProperty
	GetActivityStreamsFollowers() vocab.ActivityStreamsFollowersProperty
	GetActivityStreamsUrl() vocab.ActivityStreamsUrlProperty
	GetActivityStreamsIcon() vocab.ActivityStreamsIconProperty
	GetW3IDSecurityV1PublicKey() vocab.W3IDSecurityV1PublicKeyProperty
}

// parseActor reads a remote actor document into an Account (not yet
// stored; Domain is the host of its id). m is the decoded JSON; go-fed
// gives the typed view, and the raw map supplies what go-fed does not
// know (endpoints.sharedInbox).
func parseActor(ctx context.Context, m map[string]any) (*storage.Account, error) {
	t, err := streams.ToType(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("parse actor: %w", err)
	}
	a, ok := t.(remoteActor)
	if !ok {
		return nil, fmt.Errorf("%w: type %s", ErrNotActor, t.GetTypeName())
	}
	id := iriOf(a.GetJSONLDId())
	u, err := url.Parse(id)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("parse actor: bad id %q", id)
	}
	acc := &storage.Account{
		APID:      &id,
		Domain:    strings.ToLower(u.Host),
		ActorType: t.GetTypeName(),
	}
	if name, ok := m["preferredUsername"].(string); ok {
		acc.Handle = name
	} else if p := a.GetActivityStreamsPreferredUsername(); p != nil {
		if p.IsXMLSchemaString() {
			acc.Handle = p.GetXMLSchemaString()
		} else if p.IsRDFLangString() {
			for _, v := range p.GetRDFLangString() {
				acc.Handle = v
				break
			}
		}
	}
	if acc.Handle == "" {
		return nil, fmt.Errorf("parse actor %s: no preferredUsername", id)
	}
	// A handle is an identifier: one that is too long or holds control
	// characters is refused, not clipped into someone else's name.
	if len(acc.Handle) > maxHandleLen || strings.IndexFunc(acc.Handle, isControlOrSpace) >= 0 || !utf8.ValidString(acc.Handle) {
		return nil, fmt.Errorf("parse actor %s: preferredUsername is not a plausible handle", id)
	}
	// go-fed reads a string like "Zed: the one" as an IRI and lower-cases
	// its "scheme", so plain strings come from the raw map.
	acc.DisplayName = cleanName(rawString(m, "name", firstString(a.GetActivityStreamsName())))
	// A bio is shown on pages: remote HTML only ever enters sanitized,
	// and a long one only as a plain excerpt.
	acc.Bio = markup.SanitizeRemote(clipText(rawString(m, "summary", firstSummary(a.GetActivityStreamsSummary())), maxRemoteHTML))
	if len(acc.Bio) > maxBioLen {
		acc.Bio = "<p>" + html.EscapeString(markup.Excerpt(acc.Bio, 500)) + "</p>"
	}
	if p := a.GetActivityStreamsInbox(); p != nil {
		acc.Inbox = iriString(p.GetIRI())
	}
	if acc.Inbox == "" || len(acc.Inbox) > maxURLLen {
		return nil, fmt.Errorf("parse actor %s: no inbox", id)
	}
	if p := a.GetActivityStreamsFollowers(); p != nil {
		acc.FollowersURL = iriString(p.GetIRI())
	}
	if p := a.GetActivityStreamsUrl(); p != nil {
		for it := p.Begin(); it != p.End(); it = it.Next() {
			if it.IsXMLSchemaAnyURI() {
				acc.URL = iriString(it.GetXMLSchemaAnyURI())
				break
			}
			if it.IsActivityStreamsLink() {
				if h := it.GetActivityStreamsLink().GetActivityStreamsHref(); h != nil {
					acc.URL = iriString(h.Get())
					break
				}
			}
		}
	}
	if p := a.GetActivityStreamsIcon(); p != nil {
		for it := p.Begin(); it != p.End(); it = it.Next() {
			if it.IsActivityStreamsImage() {
				if up := it.GetActivityStreamsImage().GetActivityStreamsUrl(); up != nil && up.Begin() != nil {
					if first := up.Begin(); first.IsXMLSchemaAnyURI() {
						acc.AvatarURL = iriString(first.GetXMLSchemaAnyURI())
					}
				}
				break
			}
		}
	}
	if p := a.GetW3IDSecurityV1PublicKey(); p != nil {
		for it := p.Begin(); it != p.End(); it = it.Next() {
			if !it.IsW3IDSecurityV1PublicKey() {
				continue
			}
			k := it.Get()
			owner := ""
			if o := k.GetW3IDSecurityV1Owner(); o != nil {
				owner = iriString(o.GetIRI())
				if owner == "" && o.IsXMLSchemaAnyURI() {
					owner = iriString(o.Get())
				}
			}
			pem := k.GetW3IDSecurityV1PublicKeyPem()
			if owner != id || pem == nil || !pem.IsXMLSchemaString() {
				continue
			}
			acc.PublicKeyID = iriOf(k.GetJSONLDId())
			acc.PublicKeyPEM = pem.Get()
			break
		}
	}
	if acc.PublicKeyID == "" || acc.PublicKeyPEM == "" || len(acc.PublicKeyID) > maxURLLen {
		return nil, fmt.Errorf("parse actor %s: no public key it owns", id)
	}
	if _, err := signature.ParsePublicKeyPEM(acc.PublicKeyPEM); err != nil {
		return nil, fmt.Errorf("parse actor %s: public key: %w", id, err)
	}
	if ep, ok := m["endpoints"].(map[string]any); ok {
		if si, ok := ep["sharedInbox"].(string); ok && isHTTPURL(si) {
			acc.SharedInbox = si
		}
	}
	for _, u := range []*string{&acc.FollowersURL, &acc.URL, &acc.AvatarURL} {
		if len(*u) > maxURLLen {
			*u = ""
		}
	}
	return acc, nil
}

// Bounds on what a remote actor document may put in the database.
const (
	maxHandleLen = 255
	maxBioLen    = 16 << 10
	maxURLLen    = 2048
)

// isHTTPURL reports whether s is a plausible http(s) URL to store.
func isHTTPURL(s string) bool {
	if len(s) > maxURLLen {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func isControlOrSpace(r rune) bool {
	return unicode.IsControl(r) || unicode.IsSpace(r) || isBidiControl(r)
}

// isBidiControl reports the invisible characters that reorder text around
// them: in a name they make it read as someone else's.
func isBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') || r == '\u200e' || r == '\u200f' || r == '\u061c'
}

// cleanName makes a remote display name safe to store and show: no
// control or bidi characters (NUL also breaks PostgreSQL and SQLite's
// statement text), valid UTF-8, at most maxNameLen bytes.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || isBidiControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.TrimSpace(clipText(s, maxNameLen))
}

// isActorType reports whether a document's type names an actor, before
// anything is parsed.
func isActorType(m map[string]any) bool {
	switch m["type"] {
	case "Person", "Group", "Service", "Application", "Organization":
		return true
	}
	return false
}

// rawString is m[key] when it is a plain string, else fallback.
func rawString(m map[string]any, key, fallback string) string {
	if s, ok := m[key].(string); ok {
		return s
	}
	return fallback
}

func iriOf(p vocab.JSONLDIdProperty) string {
	if p == nil {
		return ""
	}
	return iriString(p.Get())
}

func iriString(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.String()
}

// textIterator is what go-fed's name and summary property iterators
// share: one value that may be a string, an IRI or language-tagged text.
type textIterator[T any] interface {
	comparable
	IsXMLSchemaString() bool
	GetXMLSchemaString() string
	IsIRI() bool
	GetIRI() *url.URL
	IsRDFLangString() bool
	GetRDFLangString() map[string]string
	Next() T
}

// firstText reads the first value of a name or summary. go-fed takes a
// string that looks like "word:rest" for an IRI, so that case is read
// back as text.
func firstText[T textIterator[T]](it, end T) string {
	for ; it != end; it = it.Next() {
		switch {
		case it.IsXMLSchemaString():
			return it.GetXMLSchemaString()
		case it.IsIRI():
			return iriString(it.GetIRI())
		case it.IsRDFLangString():
			for _, v := range it.GetRDFLangString() {
				return v
			}
		}
	}
	return ""
}

func firstString(p vocab.ActivityStreamsNameProperty) string {
	if p == nil {
		return ""
	}
	return firstText(p.Begin(), p.End())
}

func firstSummary(p vocab.ActivityStreamsSummaryProperty) string {
	if p == nil {
		return ""
	}
	return firstText(p.Begin(), p.End())
}
