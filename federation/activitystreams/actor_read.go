package activitystreams

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"github.com/skein-forum/skein/federation/signature"
)

// ErrNotActor means a document is not an actor.
var ErrNotActor = errors.New("not an actor")

// MaxHandleLen bounds a remote preferredUsername; a longer one is refused,
// not clipped into someone else's name.
const MaxHandleLen = 255

// RemoteActor is an actor document as read: its text is not yet
// sanitized (Name and Summary are as sent), its URLs are bounded, and its
// key is one it owns and that parses.
type RemoteActor struct {
	ID           string
	Host         string // of ID, lower case
	Type         string // Person, Group, Service, Application or Organization
	Handle       string // preferredUsername, checked to be a plausible handle
	Name         string
	Summary      string // remote HTML, unsanitized
	Inbox        string
	SharedInbox  string
	Followers    string
	URL          string
	Avatar       string
	PublicKeyID  string
	PublicKeyPEM string
}

// IsActorType reports whether a document's type names an actor, before
// anything is parsed.
func IsActorType(m map[string]any) bool {
	switch m["type"] {
	case "Person", "Group", "Service", "Application", "Organization":
		return true
	}
	return false
}

// actorLike is what the five actor types have in common that Skein reads.
type actorLike interface {
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

// ReadActor reads an actor document from its decoded JSON. Its errors,
// but for ErrNotActor, are not ErrInvalid: an actor's server may mend its
// document, so what needed it is tried again later. go-fed's
// streams gives the typed view (keys and their owners, icons, links);
// the raw map supplies the text, which go-fed may misread as an IRI, and
// endpoints.sharedInbox, which it does not know.
func ReadActor(ctx context.Context, m map[string]any) (*RemoteActor, error) {
	t, err := streams.ToType(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("parse actor: %w", err)
	}
	a, ok := t.(actorLike)
	if !ok {
		return nil, fmt.Errorf("%w: type %s", ErrNotActor, t.GetTypeName())
	}
	id := iriOf(a.GetJSONLDId())
	u, err := url.Parse(id)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("parse actor: bad id %q", id)
	}
	acc := &RemoteActor{ID: id, Host: strings.ToLower(u.Host), Type: t.GetTypeName()}
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
	if len(acc.Handle) > MaxHandleLen || strings.IndexFunc(acc.Handle, isControlOrSpace) >= 0 || !utf8.ValidString(acc.Handle) {
		return nil, fmt.Errorf("parse actor %s: preferredUsername is not a plausible handle", id)
	}
	// go-fed reads a string like "Zed: the one" as an IRI and lower-cases
	// its "scheme", so plain strings come from the raw map.
	acc.Name = rawOr(m, "name", firstText(a.GetActivityStreamsName()))
	acc.Summary = rawOr(m, "summary", firstText(a.GetActivityStreamsSummary()))
	if p := a.GetActivityStreamsInbox(); p != nil {
		acc.Inbox = iriString(p.GetIRI())
	}
	if acc.Inbox == "" || len(acc.Inbox) > MaxURLLen {
		return nil, fmt.Errorf("parse actor %s: no inbox", id)
	}
	if p := a.GetActivityStreamsFollowers(); p != nil {
		acc.Followers = iriString(p.GetIRI())
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
						acc.Avatar = iriString(first.GetXMLSchemaAnyURI())
					}
				}
				break
			}
		}
	}
	acc.PublicKeyID, acc.PublicKeyPEM = ownedKey(a.GetW3IDSecurityV1PublicKey(), id)
	if acc.PublicKeyID == "" || acc.PublicKeyPEM == "" || len(acc.PublicKeyID) > MaxURLLen {
		return nil, fmt.Errorf("parse actor %s: no public key it owns", id)
	}
	if _, err := signature.ParsePublicKeyPEM(acc.PublicKeyPEM); err != nil {
		return nil, fmt.Errorf("parse actor %s: public key: %w", id, err)
	}
	if ep, ok := m["endpoints"].(map[string]any); ok {
		if si := String(ep, "sharedInbox"); IsHTTPURL(si) {
			acc.SharedInbox = si
		}
	}
	for _, u := range []*string{&acc.Followers, &acc.URL, &acc.Avatar} {
		if len(*u) > MaxURLLen {
			*u = ""
		}
	}
	return acc, nil
}

// ownedKey is the id and PEM of the first key of p whose owner is the
// actor.
func ownedKey(p vocab.W3IDSecurityV1PublicKeyProperty, actorID string) (id, pem string) {
	if p == nil {
		return "", ""
	}
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
		if owner != actorID || pem == nil || !pem.IsXMLSchemaString() {
			continue
		}
		return iriOf(k.GetJSONLDId()), pem.Get()
	}
	return "", ""
}

// rawOr is m[key] when it is a plain string, else fallback.
func rawOr(m map[string]any, key, fallback string) string {
	if s, ok := m[key].(string); ok {
		return s
	}
	return fallback
}

func isControlOrSpace(r rune) bool {
	return unicode.IsControl(r) || unicode.IsSpace(r) || IsBidiControl(r)
}

// IsBidiControl reports the invisible characters that reorder text around
// them: in a name they make it read as someone else's.
func IsBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') || r == '\u200e' || r == '\u200f' || r == '\u061c'
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

// textProperty is what go-fed's name and summary properties share.
type textProperty[T textIterator[T]] interface {
	comparable
	Begin() T
	End() T
}

// textIterator is one value of a name or summary: a string, an IRI or
// language-tagged text.
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
func firstText[T textIterator[T], P textProperty[T]](p P) string {
	var zero P
	if p == zero {
		return ""
	}
	for it := p.Begin(); it != p.End(); it = it.Next() {
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
