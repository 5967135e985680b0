package storage

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Roles a local member can hold.
const (
	RoleMember    = "member"
	RoleModerator = "moderator"
	RoleAdmin     = "admin"
)

// Account is a local member (Domain == "") or a remote actor known to the
// node (Domain is its host, APID its canonical id).
type Account struct {
	bun.BaseModel `bun:"table:accounts"`

	ID           ID     `bun:"id,pk"`
	Handle       string `bun:"handle"`
	Domain       string `bun:"domain"`
	DisplayName  string `bun:"display_name"`
	Bio          string `bun:"bio"`
	Role         string `bun:"role"`
	Email        string `bun:"email"`
	PasswordHash string `bun:"password_hash"`
	Reputation   int64  `bun:"reputation"`
	PostCount    int64  `bun:"post_count"`
	Suspended    bool   `bun:"suspended"`
	// Silenced keeps a remote actor's (or member's) threads out of forum
	// lists; their posts still show in threads.
	Silenced bool `bun:"silenced"`
	// ApprovalPending is set on a registration that waits for an admin
	// (--registration approval); such a member cannot sign in yet.
	ApprovalPending bool `bun:"approval_pending"`
	// EmailVerifiedAt is set once the member followed the link sent to
	// Email; mail goes only to verified addresses (but the link itself).
	EmailVerifiedAt *time.Time `bun:"email_verified_at"`
	// MailApplications: an admin is mailed about registrations waiting
	// for approval.
	MailApplications bool `bun:"mail_applications"`
	// AutoWatch: starting or replying to a thread follows it.
	AutoWatch bool `bun:"auto_watch"`
	// TimeZone (an IANA name) and DigestHour place the daily digest in
	// the member's day; DigestDueAt is when the next one is due, nil
	// while no kind of notification goes by digest.
	TimeZone     string     `bun:"time_zone"`
	DigestHour   int        `bun:"digest_hour"`
	DigestDueAt  *time.Time `bun:"digest_due_at"`
	DeletedAt    *time.Time `bun:"deleted_at"` // the member deleted their account
	CreatedAt    time.Time  `bun:"created_at"`
	APID         *string    `bun:"ap_id"`
	ActorType    string     `bun:"actor_type"`
	Inbox        string     `bun:"inbox"`
	SharedInbox  string     `bun:"shared_inbox"`
	FollowersURL string     `bun:"followers_url"`
	URL          string     `bun:"url"`
	AvatarURL    string     `bun:"avatar_url"`
	PublicKeyID  string     `bun:"public_key_id"`
	PublicKeyPEM string     `bun:"public_key_pem"`
	Software     string     `bun:"software"`
	FetchedAt    *time.Time `bun:"fetched_at"`
	// UnreadNotifications counts a member's unread notifications, kept in
	// the transaction that adds or reads one (see [Store.ReadNotification]); the page
	// header shows it from the session's account, at no cost.
	UnreadNotifications int64 `bun:"unread_notifications"`
}

// IsLocal reports whether the account is a member of this node.
func (a *Account) IsLocal() bool { return a.Domain == "" }

// IsModerator reports whether the member may moderate.
func (a *Account) IsModerator() bool { return a.Role == RoleModerator || a.Role == RoleAdmin }

// IsAdmin reports whether the member administers the node.
func (a *Account) IsAdmin() bool { return a.Role == RoleAdmin }

// Name is what pages show: the display name, else the handle.
func (a *Account) Name() string {
	if a.DisplayName != "" {
		return a.DisplayName
	}
	return a.Handle
}

// Acct is the member's or actor's address without the leading @:
// "name" for members, "name@host" for remote actors.
func (a *Account) Acct() string {
	if a.IsLocal() {
		return a.Handle
	}
	return a.Handle + "@" + a.Domain
}

var memberHandle = regexp.MustCompile(`^[a-z0-9_]{1,30}$`)

// reservedNames can never be taken by a member or a forum: they are paths,
// role words or names people would mistake for the node itself.
var reservedNames = map[string]bool{
	"admin": true, "administrator": true, "moderator": true, "mod": true, "root": true,
	"skein": true, "actor": true, "instance": true, "inbox": true, "outbox": true,
	"api": true, "static": true, "www": true, "system": true, "support": true,
	"help": true, "about": true, "login": true, "signin": true, "register": true,
	"settings": true, "search": true, "nodeinfo": true, "webfinger": true,
}

// ValidateHandle checks a member handle: 1-30 of [a-z0-9_], not reserved.
func ValidateHandle(h string) error {
	if !memberHandle.MatchString(h) {
		return invalid("handle", "a handle is 1 to 30 lower-case letters, digits or underscores")
	}
	if reservedNames[h] {
		return fmt.Errorf("%w: %q", ErrReserved, h)
	}
	return nil
}

// NewMember is what registration or `skein user create` supplies.
type NewMember struct {
	Handle       string
	DisplayName  string
	Email        string
	PasswordHash string
	Role         string
	// ApprovalPending registers a member who may sign in only once an
	// admin approved them.
	ApprovalPending bool
	// VerifyMail, when set and Email is not empty, makes the mail with
	// the link that verifies Email; the token and the mail are stored
	// with the member.
	VerifyMail MailFunc
	// VerifyTTL is how long that link works.
	VerifyTTL time.Duration
	// AdminMail, when set, makes the mail that tells an admin of the new
	// member (in approval mode, of the registration to approve); one is
	// queued for every admin with a verified address who wants them.
	AdminMail func(admin *Account) (NewMail, error)
}

// CreateMember adds a local member. The handle shares one namespace with
// forums, so WebFinger never has two answers for one name.
func (s *Store) CreateMember(ctx context.Context, m NewMember) (*Account, error) {
	m.Handle = strings.ToLower(strings.TrimSpace(m.Handle))
	if err := ValidateHandle(m.Handle); err != nil {
		return nil, err
	}
	if m.Role == "" {
		m.Role = RoleMember
	}
	if m.Role != RoleMember && m.Role != RoleModerator && m.Role != RoleAdmin {
		return nil, invalid("role", "unknown role %q", m.Role)
	}
	if m.DisplayName == "" {
		m.DisplayName = m.Handle
	}
	a := &Account{
		ID:              s.NewID(),
		Handle:          m.Handle,
		DisplayName:     m.DisplayName,
		Email:           m.Email,
		PasswordHash:    m.PasswordHash,
		Role:            m.Role,
		ApprovalPending: m.ApprovalPending,
		// An admin hears of registrations to approve until they opt
		// out; the field is meaningless for others.
		MailApplications: true,
		AutoWatch:        true,
		TimeZone:         "UTC",
		DigestHour:       DefaultDigestHour,
		ActorType:        "Person",
		CreatedAt:        time.Now().UTC(),
	}
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := claimName(ctx, tx, a.Handle, "member", a.ID); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(a).Returning("NULL").Exec(ctx); err != nil {
			return err
		}
		if m.VerifyMail != nil && m.Email != "" {
			if err := s.issueToken(ctx, tx, a.CreatedAt, a.ID, TokenVerifyEmail, m.Email, m.VerifyTTL, m.VerifyMail); err != nil {
				return err
			}
		}
		if m.AdminMail != nil {
			return s.mailAdmins(ctx, tx, a.CreatedAt, m.AdminMail)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create member %s: %w", m.Handle, err)
	}
	return a, nil
}

// claimName reserves a local actor name inside tx, or fails with
// ErrNameTaken.
func claimName(ctx context.Context, tx bun.Tx, name, kind string, id ID) error {
	if reservedNames[name] {
		return fmt.Errorf("%w: %q", ErrReserved, name)
	}
	res, err := tx.NewRaw("INSERT INTO local_names (name, kind, ref_id) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
		name, kind, id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("claim name: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %q", ErrNameTaken, name)
	}
	return nil
}

// plausibleName reports whether s could be a local name at all. Lookups
// refuse anything else before the database sees it: PostgreSQL answers a
// NUL byte or invalid UTF-8 with an error, which must be a miss instead.
func plausibleName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// LocalName tells what a local name belongs to: kind is "member" or
// "forum".
func (s *Store) LocalName(ctx context.Context, name string) (kind string, id ID, err error) {
	if !plausibleName(name) {
		return "", 0, fmt.Errorf("local name: %w", ErrNotFound)
	}
	err = s.r.NewRaw("SELECT kind, ref_id FROM local_names WHERE name = ?", name).Scan(ctx, &kind, &id)
	if err != nil {
		return "", 0, notFound(err, "local name "+name)
	}
	return kind, id, nil
}

// MemberByHandle finds a local member.
func (s *Store) MemberByHandle(ctx context.Context, handle string) (*Account, error) {
	if !plausibleName(handle) {
		return nil, fmt.Errorf("member: %w", ErrNotFound)
	}
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	a, err := h.queryAccount(ctx, h.memberByHandle, strings.ToLower(handle))
	if err != nil {
		return nil, notFound(err, "member "+handle)
	}
	return a, nil
}

// AccountByID finds any account.
func (s *Store) AccountByID(ctx context.Context, id ID) (*Account, error) {
	return selectOne[Account](ctx, s.r, "account "+id.String(), "id = ?", id)
}

// AccountByAPID finds a remote actor by its ActivityPub id.
func (s *Store) AccountByAPID(ctx context.Context, apID string) (*Account, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	a, err := h.queryAccount(ctx, h.accountByAPID, canonicalIRI(apID))
	if err != nil {
		return nil, notFound(err, "actor "+apID)
	}
	return a, nil
}

// AccountByKeyID finds a remote actor by the id of its public key.
func (s *Store) AccountByKeyID(ctx context.Context, keyID string) (*Account, error) {
	return selectOne[Account](ctx, s.r, "key "+keyID, "public_key_id = ?", canonicalIRI(keyID))
}

// ListMembers pages local members by id (keyset: after is the last id of
// the previous page, 0 for the first).
func (s *Store) ListMembers(ctx context.Context, after ID, limit int) ([]Account, error) {
	var out []Account
	err := s.r.NewSelect().Model(&out).Where("domain = '' AND id > ?", after).
		OrderExpr("id ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return out, nil
}

// CountMembers counts local members.
func (s *Store) CountMembers(ctx context.Context) (int64, error) {
	n, err := s.r.NewSelect().Model((*Account)(nil)).Where("domain = ''").Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count members: %w", err)
	}
	return n, nil
}

// SetPassword replaces a member's password hash and signs them out
// everywhere.
func (s *Store) SetPassword(ctx context.Context, id ID, hash string) error {
	return s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return setPassword(ctx, tx, id, hash, "")
	})
}

// ChangePassword replaces a member's password hash and ends every session
// of theirs but keep, the session (token) of the browser that changed it.
func (s *Store) ChangePassword(ctx context.Context, id ID, hash, keep string) error {
	return s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return setPassword(ctx, tx, id, hash, keep)
	})
}

// setPassword sets the hash and ends the member's sessions, all but the
// one of token keep when keep is not empty.
func setPassword(ctx context.Context, tx bun.Tx, id ID, hash, keep string) error {
	res, err := tx.NewUpdate().Model((*Account)(nil)).Set("password_hash = ?", hash).
		Where("id = ? AND domain = ''", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set password: %w", ErrNotFound)
	}
	q := tx.NewDelete().Model((*Session)(nil)).Where("account_id = ?", id)
	if keep != "" {
		q = q.Where("token_hash <> ?", hashToken(keep))
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}

// UpdateProfile changes a member's display name and bio (bio is sanitized
// HTML made by the caller from the member's Markdown).
func (s *Store) UpdateProfile(ctx context.Context, id ID, displayName, bio string) error {
	_, err := s.w.NewUpdate().Model((*Account)(nil)).
		Set("display_name = ?", displayName).Set("bio = ?", bio).
		Where("id = ? AND domain = ''", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update profile: %w", err)
	}
	return nil
}

// SetRole changes a member's role.
func (s *Store) SetRole(ctx context.Context, id ID, role string) error {
	if role != RoleMember && role != RoleModerator && role != RoleAdmin {
		return invalid("role", "unknown role %q", role)
	}
	return s.setMember(ctx, id, "role", role)
}

// setMember writes one column of a local member's row; a remote actor's
// row is never changed this way.
func (s *Store) setMember(ctx context.Context, id ID, column string, value any) error {
	_, err := s.w.NewUpdate().Model((*Account)(nil)).Set("? = ?", bun.Ident(column), value).
		Where("id = ? AND domain = ''", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set %s of member %s: %w", column, id, err)
	}
	return nil
}

// UpsertRemoteAccount stores a remote actor by its APID, inserting it or
// refreshing what its document says. It returns the stored row.
func (s *Store) UpsertRemoteAccount(ctx context.Context, a *Account) (*Account, error) {
	if a.APID == nil || *a.APID == "" || a.Domain == "" {
		return nil, invalid("", "a remote actor needs an id and a domain")
	}
	a.APID = canonicalIRIPtr(a.APID)
	a.Domain = canonicalHost(a.Domain, "")
	a.PublicKeyID = canonicalIRI(a.PublicKeyID)
	now := time.Now().UTC()
	a.FetchedAt = &now
	if a.ID == 0 {
		a.ID = s.NewID()
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	if a.Role == "" {
		a.Role = RoleMember
	}
	_, err := s.w.NewInsert().Model(a).
		On("CONFLICT (ap_id) DO UPDATE").
		Set("handle = EXCLUDED.handle").
		Set("display_name = EXCLUDED.display_name").
		Set("bio = EXCLUDED.bio").
		Set("actor_type = EXCLUDED.actor_type").
		Set("inbox = EXCLUDED.inbox").
		Set("shared_inbox = EXCLUDED.shared_inbox").
		Set("followers_url = EXCLUDED.followers_url").
		Set("url = EXCLUDED.url").
		Set("avatar_url = EXCLUDED.avatar_url").
		Set("public_key_id = EXCLUDED.public_key_id").
		Set("public_key_pem = EXCLUDED.public_key_pem").
		Set("fetched_at = EXCLUDED.fetched_at").
		Returning("NULL").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("store remote actor %s: %w", *a.APID, err)
	}
	return s.AccountByAPID(ctx, *a.APID)
}

// CountActiveMembers counts local members who wrote a post since the given
// time, for NodeInfo's activeMonth and activeHalfyear.
func (s *Store) CountActiveMembers(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	err := s.r.NewRaw("SELECT COUNT(DISTINCT p.author_id) FROM posts AS p JOIN accounts AS a ON a.id = p.author_id "+
		"WHERE a.domain = '' AND p.id >= ?", IDAt(since)).Scan(ctx, &n)
	if err != nil {
		return 0, fmt.Errorf("count active members: %w", err)
	}
	return n, nil
}

// AccountByAcct finds a member ("name") or a known remote actor
// ("name@host"), as admins type them.
func (s *Store) AccountByAcct(ctx context.Context, acct string) (*Account, error) {
	acct = strings.TrimPrefix(strings.TrimSpace(acct), "@")
	handle, domain, remote := strings.Cut(acct, "@")
	if !remote {
		return s.MemberByHandle(ctx, handle)
	}
	a := new(Account)
	err := s.r.NewSelect().Model(a).Where("handle = ? AND domain = ?", handle, canonicalHost(domain, "")).Limit(1).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "actor "+acct)
	}
	return a, nil
}

// ListPendingMembers returns registrations waiting for approval, oldest
// first.
func (s *Store) ListPendingMembers(ctx context.Context, limit int) ([]Account, error) {
	var out []Account
	err := s.r.NewSelect().Model(&out).Where("domain = '' AND approval_pending = ?", true).
		OrderExpr("id ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list pending members: %w", err)
	}
	return out, nil
}
