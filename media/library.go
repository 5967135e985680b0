package media

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// DefaultRemoteCache is how many bytes of remote attachments are kept
// when the node names no other cap.
const DefaultRemoteCache = 1 << 30

// Library keeps image files and their rows in step. Every file has a row
// written before it (so a file is never in the store without something
// that will remove it); rows that go put their files in the store's trash
// in the same transaction, and Sweep deletes them. Several processes may
// share one Library's store and database.
type Library struct {
	store *storage.Store
	blobs Blobs
	urls  *site.URLs
	log   *slog.Logger

	// RemoteCacheBytes caps the copies of remote attachments; Sweep
	// evicts those stored longest ago beyond it.
	RemoteCacheBytes int64

	busy chan struct{} // images decoded at once: each may take 80 MB
	wake chan struct{}
}

// NewLibrary joins a store, a blob store and the site's URLs.
func NewLibrary(store *storage.Store, blobs Blobs, urls *site.URLs, log *slog.Logger) *Library {
	if log == nil {
		log = slog.Default()
	}
	return &Library{store: store, blobs: blobs, urls: urls, log: log, RemoteCacheBytes: DefaultRemoteCache,
		busy: make(chan struct{}, 2), wake: make(chan struct{}, 1)}
}

// Blobs is the library's file store.
func (l *Library) Blobs() Blobs { return l.blobs }

// URL is where a stored file is served.
func (l *Library) URL(key string) string { return l.urls.Media(key) }

// Open reads a stored file for serving.
func (l *Library) Open(ctx context.Context, key string) (Blob, error) { return l.blobs.Open(ctx, key) }

// newStem is the random part of a new image's keys: 80 bits, so a file's
// address cannot be guessed from another's.
func newStem() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// newFiles names the files of a processed image: fresh keys for the
// image and its thumbnail, with what the row records of them.
func newFiles(p *Processed) storage.StoredFiles {
	stem := newStem()
	return storage.StoredFiles{ContentType: p.Image.ContentType, FileKey: stem + p.Image.Ext(),
		Width: p.Image.Width, Height: p.Image.Height, ThumbKey: stem + "-t" + p.Thumb.Ext(),
		ThumbWidth: p.Thumb.Width, ThumbHeight: p.Thumb.Height, Size: int64(len(p.Image.Data) + len(p.Thumb.Data)),
		Blurhash: p.Blurhash}
}

// inSlot runs process (Process or ProcessAvatar) on r in one of the
// library's decoding slots, waiting for one until ctx ends, so only so
// many images are decoded at once.
func inSlot[T any](ctx context.Context, l *Library, process func(io.Reader) (T, error), r io.Reader) (T, error) {
	select {
	case l.busy <- struct{}{}:
	case <-ctx.Done():
		var none T
		return none, ctx.Err()
	}
	defer func() { <-l.busy }()
	return process(r)
}

// Upload checks and re-encodes an image member uploaded for a post and
// stores it with its thumbnail. It waits for the post for
// storage.UploadTTL. A *Refusal error says why the file was not taken.
func (l *Library) Upload(ctx context.Context, member storage.ID, r io.Reader) (*storage.Media, error) {
	p, err := inSlot(ctx, l, Process, r)
	if err != nil {
		return nil, err
	}
	files := newFiles(p)
	m, err := l.store.AddUpload(ctx, member, storage.MediaAttachment, files)
	if err != nil {
		return nil, err
	}
	if err := l.put(ctx, m, map[string][]byte{files.FileKey: p.Image.Data, files.ThumbKey: p.Thumb.Data}); err != nil {
		return nil, err
	}
	return m, nil
}

// SetAvatar makes an uploaded image, cut to a square, member's avatar.
func (l *Library) SetAvatar(ctx context.Context, member storage.ID, r io.Reader) (*storage.Media, error) {
	e, err := inSlot(ctx, l, ProcessAvatar, r)
	if err != nil {
		return nil, err
	}
	files := storage.StoredFiles{ContentType: e.ContentType, FileKey: newStem() + e.Ext(), Width: e.Width, Height: e.Height,
		Size: int64(len(e.Data))}
	m, err := l.store.AddUpload(ctx, member, storage.MediaAvatar, files)
	if err != nil {
		return nil, err
	}
	if err := l.put(ctx, m, map[string][]byte{files.FileKey: e.Data}); err != nil {
		return nil, err
	}
	if err := l.store.SetAvatar(ctx, member, m.ID, l.URL(files.FileKey)); err != nil {
		return nil, err
	}
	return m, nil
}

// put writes the files of row m; when one cannot be written the row goes
// (its files to the trash) and the error is returned.
func (l *Library) put(ctx context.Context, m *storage.Media, files map[string][]byte) error {
	for key, data := range files {
		if err := l.blobs.Put(ctx, key, bytes.NewReader(data)); err != nil {
			if derr := l.store.DropMedia(context.WithoutCancel(ctx), m.ID); derr != nil {
				l.log.Error("drop an upload whose files were not written", "media", m.ID, "err", derr)
			}
			return err
		}
	}
	return nil
}

// StoreRemote checks, re-encodes and stores the fetched bytes of remote
// attachment id, so its post shows the copy instead of linking the
// original. The remote cache's cap is kept by the next Sweep.
func (l *Library) StoreRemote(ctx context.Context, id storage.ID, r io.Reader) error {
	p, err := inSlot(ctx, l, Process, r)
	if err != nil {
		return err
	}
	files := newFiles(p)
	for key, data := range map[string][]byte{files.FileKey: p.Image.Data, files.ThumbKey: p.Thumb.Data} {
		if err := l.blobs.Put(ctx, key, bytes.NewReader(data)); err != nil {
			l.blobs.Delete(context.WithoutCancel(ctx), files.FileKey)
			l.blobs.Delete(context.WithoutCancel(ctx), files.ThumbKey)
			return err
		}
	}
	// When the attachment went meanwhile, the store puts the files in
	// the trash and says ErrNotFound.
	return l.store.StoreRemoteFiles(ctx, id, files)
}

// SweepResult counts what one Sweep did.
type SweepResult struct {
	StaleUploads int // uploads that never got their post
	Evicted      int // remote copies taken out of the cache
	Deleted      int // files deleted
}

// Sweep deletes the files in the trash, after putting there those of
// uploads that never got their post and of remote copies beyond the
// cache's cap, and forgets expired form tokens. A file is forgotten only
// once it is deleted, so an interrupted sweep repeats, never misses.
func (l *Library) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	var err error
	if res.StaleUploads, err = l.store.TrashStaleUploads(ctx, time.Now().Add(-storage.UploadTTL)); err != nil {
		return res, err
	}
	if _, err := l.store.DeleteExpiredFormTokens(ctx, time.Now()); err != nil {
		return res, err
	}
	over, err := l.store.RemoteCacheOverflow(ctx, l.RemoteCacheBytes)
	if err != nil {
		return res, err
	}
	ids := make([]storage.ID, len(over))
	for i, m := range over {
		ids[i] = m.ID
	}
	if err := l.store.EvictRemoteMedia(ctx, ids); err != nil {
		return res, err
	}
	res.Evicted = len(ids)
	for {
		keys, err := l.store.TrashedFiles(ctx, 200)
		if err != nil || len(keys) == 0 {
			return res, err
		}
		var done []string
		var failed error
		for _, k := range keys {
			if err := l.blobs.Delete(ctx, k); err != nil && !errors.Is(err, errBadKey) {
				failed = errors.Join(failed, err)
				continue
			}
			done = append(done, k)
		}
		if err := l.store.ForgetTrashedFiles(ctx, done); err != nil {
			return res, err
		}
		res.Deleted += len(done)
		if failed != nil {
			return res, fmt.Errorf("delete trashed files: %w", failed)
		}
	}
}

// Notify asks Run to sweep soon, as after a form that may have deleted
// something.
func (l *Library) Notify() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// sweepPause is the least time between two sweeps Notify asks for: a
// burst of deletions is swept once.
const sweepPause = 2 * time.Second

// Run sweeps at start, every interval and after Notify, until ctx ends.
func (l *Library) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if res, err := l.Sweep(ctx); err != nil && ctx.Err() == nil {
			l.log.Error("media sweep", "err", err)
		} else if res != (SweepResult{}) {
			l.log.Debug("media sweep", "stale_uploads", res.StaleUploads, "evicted", res.Evicted, "deleted", res.Deleted)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-l.wake:
			select {
			case <-ctx.Done():
				return
			case <-time.After(sweepPause):
			}
		}
	}
}

// CopyFiles copies every file the database's rows name into dst, the
// media half of a backup. Files a row names that are not stored (their
// row went while the copy ran) are counted in missing, not an error.
func (l *Library) CopyFiles(ctx context.Context, dst Blobs) (copied, missing int, err error) {
	err = l.store.MediaKeys(ctx, func(key string) error {
		b, err := l.blobs.Open(ctx, key)
		if errors.Is(err, ErrNotExist) {
			missing++
			return nil
		}
		if err != nil {
			return err
		}
		defer b.Close()
		if err := dst.Put(ctx, key, b); err != nil {
			return err
		}
		copied++
		return nil
	})
	return copied, missing, err
}
