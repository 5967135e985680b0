package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// What a media row is for.
const (
	MediaAttachment = "attachment" // an image shown with a post
	MediaAvatar     = "avatar"     // a member's picture
)

// Limits on attachments; remote posts are held to them too.
const (
	// MaxAttachments is how many images one post carries: what Mastodon
	// shows of a status, so a post reads the same there.
	MaxAttachments = 4
	// MaxDescriptionLen is the longest alt text, in characters
	// (Mastodon's limit).
	MaxDescriptionLen = 1500
	// UploadTTL is how long an upload waits for the post it was made
	// for before the sweep removes it.
	UploadTTL = 24 * time.Hour
)

// Media is one image: an upload (attached to a post or waiting for one),
// an avatar, or a remote post's attachment, whose file is stored here
// only while the remote cache holds it. The files are in the media
// package's blob store under FileKey and ThumbKey.
type Media struct {
	bun.BaseModel `bun:"table:media,alias:media"`

	ID        ID  `bun:"id,pk"`
	AccountID ID  `bun:"account_id"`
	PostID    *ID `bun:"post_id"`
	// Purpose is MediaAttachment or MediaAvatar.
	Purpose string `bun:"purpose"`
	// Attached is set once the upload is in use: on a post, or as the
	// account's avatar. Uploads never attached are swept after UploadTTL.
	Attached    bool   `bun:"attached"`
	Position    int    `bun:"position"`
	Description string `bun:"description"` // alt text
	ContentType string `bun:"content_type"`
	FileKey     string `bun:"file_key"` // "" when the file is not stored here
	Width       int    `bun:"width"`
	Height      int    `bun:"height"`
	ThumbKey    string `bun:"thumb_key"`
	ThumbWidth  int    `bun:"thumb_width"`
	ThumbHeight int    `bun:"thumb_height"`
	Size        int64  `bun:"size"` // bytes of file and thumbnail
	Sensitive   bool   `bun:"sensitive"`
	Blurhash    string `bun:"blurhash"`
	// RemoteURL is a remote attachment's own address; "" for uploads.
	RemoteURL string     `bun:"remote_url"`
	CreatedAt time.Time  `bun:"created_at"`
	StoredAt  *time.Time `bun:"stored_at"` // when the files were written
}

// IsRemote reports whether the image came with a remote post.
func (m *Media) IsRemote() bool { return m.RemoteURL != "" }

// Stored reports whether the image's files are in the blob store.
func (m *Media) Stored() bool { return m.FileKey != "" }

// AttachMedia is an upload a member attaches to their post, with its alt
// text.
type AttachMedia struct {
	ID          ID
	Description string
}

// RemoteAttachment is an image a remote post carries, as its Note
// describes it; its file is fetched later, if at all.
type RemoteAttachment struct {
	URL         string
	ContentType string
	Description string
	Blurhash    string
	Sensitive   bool
	Width       int
	Height      int
}

// StoredFiles says where the files of an image went and what they are.
type StoredFiles struct {
	ContentType             string
	FileKey                 string
	Width, Height           int
	ThumbKey                string
	ThumbWidth, ThumbHeight int
	Size                    int64
	// Blurhash is kept only where none was known: a remote image keeps
	// the one its Note gave.
	Blurhash string
}

func (f *StoredFiles) apply(m *Media) {
	m.ContentType, m.FileKey, m.Width, m.Height = f.ContentType, f.FileKey, f.Width, f.Height
	m.ThumbKey, m.ThumbWidth, m.ThumbHeight, m.Size = f.ThumbKey, f.ThumbWidth, f.ThumbHeight, f.Size
	if m.Blurhash == "" {
		m.Blurhash = f.Blurhash
	}
}

func validateDescription(d string) error {
	if !utf8.ValidString(d) {
		return invalid("description", "an image description is not valid text")
	}
	if n := utf8.RuneCountInString(d); n > MaxDescriptionLen {
		return invalid("description", "an image description is %d characters long; the limit is %d", n, MaxDescriptionLen)
	}
	return nil
}

func validateAttachments(items []AttachMedia) error {
	if len(items) > MaxAttachments {
		return invalid("media", "a post carries at most %d images", MaxAttachments)
	}
	for _, it := range items {
		if err := validateDescription(it.Description); err != nil {
			return err
		}
	}
	return nil
}

// AddUpload records an upload before its files are written: a file is
// never in the store without a row that will remove it. The upload waits
// for its post (or to become an avatar) for UploadTTL.
func (s *Store) AddUpload(ctx context.Context, accountID ID, purpose string, f StoredFiles) (*Media, error) {
	if purpose != MediaAttachment && purpose != MediaAvatar {
		return nil, fmt.Errorf("add upload: purpose %q", purpose)
	}
	m := &Media{ID: s.NewID(), AccountID: accountID, Purpose: purpose, CreatedAt: time.Now().UTC()}
	f.apply(m)
	now := m.CreatedAt
	m.StoredAt = &now
	if _, err := s.w.NewInsert().Model(m).Returning("NULL").Exec(ctx); err != nil {
		return nil, fmt.Errorf("add upload: %w", err)
	}
	return m, nil
}

// DropMedia removes an image row and trashes its files, as for an upload
// whose files could not be written. The post that showed it, if any,
// loses it.
func (s *Store) DropMedia(ctx context.Context, id ID) error {
	return s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := s.removeMediaTx(ctx, tx, id)
		return err
	})
}

// MediaByID finds an image.
func (s *Store) MediaByID(ctx context.Context, id ID) (*Media, error) {
	return selectOne[Media](ctx, s.r, "media "+id.String(), "id = ?", id)
}

// PendingUploads returns those of ids that are the member's attachment
// uploads still waiting for a post, in the order of ids: what a composer
// shows again after a preview or a refusal.
func (s *Store) PendingUploads(ctx context.Context, accountID ID, ids []ID) ([]Media, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []Media
	err := s.r.NewSelect().Model(&rows).
		Where("id IN (?) AND account_id = ? AND purpose = ? AND attached = ?", bun.List(ids), accountID, MediaAttachment, false).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("pending uploads: %w", err)
	}
	return inOrder(rows, ids), nil
}

// inOrder arranges rows in the order of ids, leaving out ids without a row.
func inOrder(rows []Media, ids []ID) []Media {
	byID := make(map[ID]Media, len(rows))
	for _, m := range rows {
		byID[m.ID] = m
	}
	out := make([]Media, 0, len(rows))
	for _, id := range ids {
		if m, ok := byID[id]; ok {
			out = append(out, m)
			delete(byID, id)
		}
	}
	return out
}

// MediaOfPosts returns the attachments of posts, in their order. Callers
// pass only posts whose MediaCount is not zero, so pages without images
// pay nothing.
func (s *Store) MediaOfPosts(ctx context.Context, postIDs []ID) (map[ID][]Media, error) {
	out := make(map[ID][]Media)
	if len(postIDs) == 0 {
		return out, nil
	}
	var rows []Media
	err := s.r.NewSelect().Model(&rows).Where("post_id IN (?)", bun.List(postIDs)).
		OrderExpr("post_id, position").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("media of posts: %w", err)
	}
	for _, m := range rows {
		out[*m.PostID] = append(out[*m.PostID], m)
	}
	return out, nil
}

// attachUploads gives post p (inserted already in tx) the listed uploads
// of its author, in order, and sets its media count. An id that is not
// the author's waiting upload is skipped: a form sent twice, or one
// naming somebody else's upload, attaches nothing it should not.
func attachUploads(ctx context.Context, tx bun.IDB, p *Post, items []AttachMedia) error {
	return placeAttachments(ctx, tx, p, items)
}

// placeAttachments attaches items to p in order: the author's waiting
// uploads, and attachments p has already (which get their new place and
// description). It sets p's media count.
func placeAttachments(ctx context.Context, tx bun.IDB, p *Post, items []AttachMedia) error {
	n := 0
	for _, it := range items {
		if n == MaxAttachments {
			break
		}
		res, err := tx.NewRaw("UPDATE media SET post_id = ?, attached = ?, position = ?, description = ? "+
			"WHERE id = ? AND account_id = ? AND purpose = ? AND (post_id = ? OR attached = ?)",
			p.ID, true, n, it.Description, it.ID, p.AuthorID, MediaAttachment, p.ID, false).Exec(ctx)
		if err != nil {
			return fmt.Errorf("attach upload %s: %w", it.ID, err)
		}
		if k, _ := res.RowsAffected(); k == 1 {
			n++
		}
	}
	if n == p.MediaCount {
		return nil
	}
	p.MediaCount = n
	if _, err := tx.NewRaw("UPDATE posts SET media_count = ? WHERE id = ?", n, p.ID).Exec(ctx); err != nil {
		return fmt.Errorf("count attachments: %w", err)
	}
	return nil
}

// insertRemoteMedia records a remote post's attachments (the first
// MaxAttachments that are plausible) and sets its media count.
func (s *Store) insertRemoteMedia(ctx context.Context, tx bun.IDB, p *Post, items []RemoteAttachment, now time.Time) error {
	var rows []Media
	for _, it := range items {
		if len(rows) == MaxAttachments {
			break
		}
		if !strings.HasPrefix(it.URL, "https://") && !strings.HasPrefix(it.URL, "http://") || len(it.URL) > 2048 {
			continue
		}
		desc := strings.ToValidUTF8(it.Description, "\uFFFD")
		if r := []rune(desc); len(r) > MaxDescriptionLen {
			desc = string(r[:MaxDescriptionLen])
		}
		ct := it.ContentType
		if len(ct) > 100 {
			ct = ""
		}
		bh := it.Blurhash
		if len(bh) > 100 {
			bh = ""
		}
		rows = append(rows, Media{ID: s.NewID(), AccountID: p.AuthorID, PostID: &p.ID, Purpose: MediaAttachment,
			Attached: true, Position: len(rows), Description: desc, ContentType: ct, Width: max(0, it.Width),
			Height: max(0, it.Height), Sensitive: it.Sensitive, Blurhash: bh, RemoteURL: it.URL, CreatedAt: now})
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := tx.NewInsert().Model(&rows).Returning("NULL").Exec(ctx); err != nil {
		return fmt.Errorf("record attachments: %w", err)
	}
	p.MediaCount = len(rows)
	if _, err := tx.NewRaw("UPDATE posts SET media_count = ? WHERE id = ?", len(rows), p.ID).Exec(ctx); err != nil {
		return fmt.Errorf("count attachments: %w", err)
	}
	return nil
}

// replaceAttachments makes the attachments of local post p exactly items:
// attachments kept get their new place and description, new uploads of
// the author are attached, and the rest are removed with their files.
func replaceAttachments(ctx context.Context, tx bun.Tx, p *Post, items []AttachMedia) error {
	var current []ID
	if err := tx.NewSelect().Model((*Media)(nil)).Column("id").Where("post_id = ?", p.ID).Scan(ctx, &current); err != nil {
		return fmt.Errorf("attachments of %s: %w", p.ID, err)
	}
	keep := make(map[ID]bool)
	for _, it := range items {
		keep[it.ID] = true
	}
	var drop []ID
	for _, id := range current {
		if !keep[id] {
			drop = append(drop, id)
		}
	}
	if len(drop) > 0 {
		if err := trashMedia(ctx, tx, "id IN (?)", bun.List(drop)); err != nil {
			return err
		}
	}
	return placeAttachments(ctx, tx, p, items)
}

// trashTime is when a file went to the trash, as SQL both databases read
// as a time: a bound parameter in a SELECT list is text to PostgreSQL.
const trashTime = "CURRENT_TIMESTAMP"

// trashMedia deletes the media rows that match where (on media) and puts
// their files in the trash, in tx: the sweep deletes the files once the
// transaction has committed.
func trashMedia(ctx context.Context, tx bun.IDB, where string, args ...any) error {
	for _, col := range []string{"file_key", "thumb_key"} {
		q := "INSERT INTO media_trash (file_key, trashed_at) SELECT DISTINCT " + col + ", " + trashTime + " FROM media WHERE " +
			col + " <> '' AND (" + where + ") ON CONFLICT (file_key) DO NOTHING"
		if _, err := tx.NewRaw(q, args...).Exec(ctx); err != nil {
			return fmt.Errorf("trash media files: %w", err)
		}
	}
	if _, err := tx.NewRaw("DELETE FROM media WHERE "+where, args...).Exec(ctx); err != nil {
		return fmt.Errorf("delete media: %w", err)
	}
	return nil
}

// trashPostMedia removes the attachments of the posts that match where
// (on posts).
func trashPostMedia(ctx context.Context, tx bun.IDB, where string, args ...any) error {
	return trashMedia(ctx, tx, "post_id IN (SELECT id FROM posts WHERE "+where+")", args...)
}

// removeMediaTx removes one image: its row goes, its files go to the
// trash, the post that showed it counts one fewer and its pages change,
// an avatar is cleared from its account. It returns the row as it was.
func (s *Store) removeMediaTx(ctx context.Context, tx bun.Tx, id ID) (*Media, error) {
	m := new(Media)
	if err := tx.NewSelect().Model(m).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "media "+id.String())
	}
	if err := trashMedia(ctx, tx, "id = ?", id); err != nil {
		return nil, err
	}
	if m.PostID != nil {
		var threadID ID
		err := tx.NewRaw("UPDATE posts SET media_count = media_count - 1 WHERE id = ? AND media_count > 0 RETURNING thread_id", *m.PostID).
			Scan(ctx, &threadID)
		switch {
		case err == nil:
			if err := bumpThread(ctx, tx, threadID); err != nil {
				return nil, err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("uncount attachment: %w", err)
		}
	}
	if m.Purpose == MediaAvatar && m.Attached {
		if _, err := tx.NewRaw("UPDATE accounts SET avatar_url = '' WHERE id = ?", m.AccountID).Exec(ctx); err != nil {
			return nil, fmt.Errorf("clear avatar: %w", err)
		}
	}
	return m, nil
}

// RemoveMedia is a moderator or admin removing an image: the file is
// deleted, the post shows that an image was removed no more, and the
// audit log records it.
func (s *Store) RemoveMedia(ctx context.Context, by, id ID) error {
	return s.txAs(ctx, "remove media", func(ctx context.Context, tx bun.Tx) error {
		m, err := s.removeMediaTx(ctx, tx, id)
		if err != nil {
			return err
		}
		detail := m.Purpose
		if m.PostID != nil {
			detail += " of post " + m.PostID.String()
		}
		if m.RemoteURL != "" {
			detail += " from " + m.RemoteURL
		}
		return s.audit(ctx, tx, by, AuditMediaRemove, TargetMedia, m.ID.String(), detail)
	})
}

// SetAvatar makes upload mediaID (made for the purpose) the member's
// avatar, served at url; the previous avatar goes with its file.
func (s *Store) SetAvatar(ctx context.Context, accountID, mediaID ID, url string) error {
	return s.txAs(ctx, "set avatar", func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewRaw("UPDATE media SET attached = ? WHERE id = ? AND account_id = ? AND purpose = ?",
			true, mediaID, accountID, MediaAvatar).Exec(ctx)
		if err != nil {
			return fmt.Errorf("attach avatar: %w", err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return fmt.Errorf("avatar upload %s: %w", mediaID, ErrNotFound)
		}
		if err := trashMedia(ctx, tx, "account_id = ? AND purpose = ? AND id <> ?", accountID, MediaAvatar, mediaID); err != nil {
			return err
		}
		if _, err := tx.NewRaw("UPDATE accounts SET avatar_url = ? WHERE id = ? AND domain = ''", url, accountID).Exec(ctx); err != nil {
			return fmt.Errorf("set avatar: %w", err)
		}
		return nil
	})
}

// ClearAvatar takes a member's avatar away, with its file.
func (s *Store) ClearAvatar(ctx context.Context, accountID ID) error {
	return s.txAs(ctx, "clear avatar", func(ctx context.Context, tx bun.Tx) error {
		if err := trashMedia(ctx, tx, "account_id = ? AND purpose = ?", accountID, MediaAvatar); err != nil {
			return err
		}
		if _, err := tx.NewRaw("UPDATE accounts SET avatar_url = '' WHERE id = ? AND domain = ''", accountID).Exec(ctx); err != nil {
			return fmt.Errorf("clear avatar: %w", err)
		}
		return nil
	})
}

// MediaListing is an image as the admins' media page lists it.
type MediaListing struct {
	Media       `bun:",extend"`
	Handle      string `bun:"handle"`
	Domain      string `bun:"domain"`
	ThreadID    *ID    `bun:"thread_id"`
	ThreadTitle string `bun:"thread_title"`
}

// ListMedia pages every image, newest first: before is the last id of the
// previous page (0 for the first).
func (s *Store) ListMedia(ctx context.Context, before ID, limit int) ([]MediaListing, error) {
	var out []MediaListing
	q := s.r.NewSelect().Model(&out).ColumnExpr("media.*").
		ColumnExpr("a.handle, a.domain, p.thread_id, t.title AS thread_title").
		Join("JOIN accounts AS a ON a.id = media.account_id").
		Join("LEFT JOIN posts AS p ON p.id = media.post_id").
		Join("LEFT JOIN threads AS t ON t.id = p.thread_id")
	if err := scanNewest(ctx, q, "media.id", before, limit); err != nil {
		return nil, fmt.Errorf("list media: %w", err)
	}
	return out, nil
}

// TrashedFiles returns up to limit keys of files to delete.
func (s *Store) TrashedFiles(ctx context.Context, limit int) ([]string, error) {
	var keys []string
	err := s.r.NewSelect().Table("media_trash").Column("file_key").OrderExpr("trashed_at").Limit(int64(limit)).Scan(ctx, &keys)
	if err != nil {
		return nil, fmt.Errorf("trashed files: %w", err)
	}
	return keys, nil
}

// ForgetTrashedFiles drops keys whose files are deleted from the trash.
func (s *Store) ForgetTrashedFiles(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := s.w.NewDelete().Table("media_trash").Where("file_key IN (?)", bun.List(keys)).Exec(ctx); err != nil {
		return fmt.Errorf("forget trashed files: %w", err)
	}
	return nil
}

// TrashStaleUploads removes uploads made before cutoff that never got
// their post (or became an avatar), and returns how many.
func (s *Store) TrashStaleUploads(ctx context.Context, cutoff time.Time) (int, error) {
	var ids []ID
	err := s.r.NewSelect().Model((*Media)(nil)).Column("id").
		Where("attached = ? AND created_at < ?", false, cutoff.UTC()).Limit(500).Scan(ctx, &ids)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	err = s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return trashMedia(ctx, tx, "id IN (?) AND attached = ?", bun.List(ids), false)
	})
	if err != nil {
		return 0, fmt.Errorf("trash stale uploads: %w", err)
	}
	return len(ids), nil
}

// MediaKeys lists the keys of every file the rows point at: what a backup
// copies beside the database.
func (s *Store) MediaKeys(ctx context.Context, fn func(key string) error) error {
	var after ID
	for {
		var rows []Media
		err := s.r.NewSelect().Model(&rows).Column("id", "file_key", "thumb_key").
			Where("id > ? AND (file_key <> '' OR thumb_key <> '')", after).OrderExpr("id").Limit(1000).Scan(ctx)
		if err != nil {
			return fmt.Errorf("media keys: %w", err)
		}
		for _, m := range rows {
			for _, k := range []string{m.FileKey, m.ThumbKey} {
				if k != "" {
					if err := fn(k); err != nil {
						return err
					}
				}
			}
			after = m.ID
		}
		if len(rows) < 1000 {
			return nil
		}
	}
}

// RemoteMediaToFetch returns remote attachments whose files are not
// stored here and were never fetched, oldest first: the queue of the
// fetcher.
func (s *Store) RemoteMediaToFetch(ctx context.Context, limit int) ([]Media, error) {
	var out []Media
	err := s.r.NewSelect().Model(&out).
		Where("remote_url <> '' AND file_key = '' AND stored_at IS NULL AND post_id IS NOT NULL").
		OrderExpr("id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("remote media to fetch: %w", err)
	}
	return out, nil
}

// StoreRemoteFiles records that the files of remote attachment id were
// fetched and stored. When the attachment went meanwhile (its post was
// deleted) the files go straight to the trash and ErrNotFound is
// returned.
func (s *Store) StoreRemoteFiles(ctx context.Context, id ID, f StoredFiles) error {
	now := time.Now().UTC()
	gone := false
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		gone = false
		var threadID ID
		err := tx.NewRaw(`UPDATE media SET content_type = ?, file_key = ?, width = ?, height = ?, thumb_key = ?,
			thumb_width = ?, thumb_height = ?, size = ?, stored_at = ? WHERE id = ? AND remote_url <> ''
			RETURNING (SELECT thread_id FROM posts WHERE posts.id = media.post_id)`,
			f.ContentType, f.FileKey, f.Width, f.Height, f.ThumbKey, f.ThumbWidth, f.ThumbHeight, f.Size, now, id).
			Scan(ctx, &threadID)
		if errors.Is(err, sql.ErrNoRows) {
			gone = true
			for _, k := range []string{f.FileKey, f.ThumbKey} {
				if k == "" {
					continue
				}
				if _, err := tx.NewRaw("INSERT INTO media_trash (file_key, trashed_at) VALUES (?, "+trashTime+") ON CONFLICT (file_key) DO NOTHING",
					k).Exec(ctx); err != nil {
					return fmt.Errorf("trash fetched file: %w", err)
				}
			}
			return nil
		}
		if err != nil {
			return err
		}
		return bumpThread(ctx, tx, threadID)
	})
	if err != nil {
		return fmt.Errorf("store remote media %s: %w", id, err)
	}
	if gone {
		return fmt.Errorf("remote media %s: %w", id, ErrNotFound)
	}
	return nil
}

// RemoteCacheOverflow returns the remote attachments to evict, stored
// longest ago first, so that what stays of the remote cache fits in
// limit bytes.
func (s *Store) RemoteCacheOverflow(ctx context.Context, limit int64) ([]Media, error) {
	var total int64
	err := s.r.NewSelect().Model((*Media)(nil)).ColumnExpr("COALESCE(SUM(size), 0)").
		Where("remote_url <> '' AND file_key <> ''").Scan(ctx, &total)
	if err != nil {
		return nil, fmt.Errorf("remote cache size: %w", err)
	}
	var out []Media
	for total > limit {
		var rows []Media
		q := s.r.NewSelect().Model(&rows).Column("id", "size", "stored_at").
			Where("remote_url <> '' AND file_key <> ''").OrderExpr("stored_at, id").Limit(200)
		if n := len(out); n > 0 {
			last := out[n-1]
			q = q.Where("(stored_at > ? OR (stored_at = ? AND id > ?))", last.StoredAt, last.StoredAt, last.ID)
		}
		if err := q.Scan(ctx); err != nil {
			return nil, fmt.Errorf("remote cache: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		for _, m := range rows {
			if total <= limit {
				break
			}
			out = append(out, m)
			total -= m.Size
		}
	}
	return out, nil
}

// EvictRemoteMedia takes the files of remote attachments out of the
// cache: the rows stay (pages link the remote original instead) and the
// files go to the trash.
func (s *Store) EvictRemoteMedia(ctx context.Context, ids []ID) error {
	if len(ids) == 0 {
		return nil
	}
	return s.txAs(ctx, "evict remote media", func(ctx context.Context, tx bun.Tx) error {
		for _, col := range []string{"file_key", "thumb_key"} {
			q := "INSERT INTO media_trash (file_key, trashed_at) SELECT " + col + ", " + trashTime + " FROM media WHERE " +
				col + " <> '' AND remote_url <> '' AND id IN (?) ON CONFLICT (file_key) DO NOTHING"
			if _, err := tx.NewRaw(q, bun.List(ids)).Exec(ctx); err != nil {
				return fmt.Errorf("trash evicted files: %w", err)
			}
		}
		_, err := tx.NewRaw(`UPDATE threads SET version = version + 1 WHERE id IN
			(SELECT p.thread_id FROM posts AS p JOIN media AS m ON m.post_id = p.id WHERE m.id IN (?) AND m.remote_url <> '')`,
			bun.List(ids)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("bump threads of evicted media: %w", err)
		}
		_, err = tx.NewRaw("UPDATE media SET file_key = '', thumb_key = '', size = 0 WHERE remote_url <> '' AND id IN (?)",
			bun.List(ids)).Exec(ctx)
		return err
	})
}
