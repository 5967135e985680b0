package media_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/skein-forum/skein/media"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

func photo(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type rig struct {
	store *storage.Store
	fx    *storagetest.Fixtures
	dir   string
	lib   *media.Library
}

func newRig(t *testing.T, s *storage.Store) *rig {
	t.Helper()
	dir := t.TempDir()
	blobs, err := media.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{store: s, fx: storagetest.Seed(t, s), dir: dir,
		lib: media.NewLibrary(s, blobs, site.MustNew("https://forum.example"), nil)}
}

// files lists the keys in the directory.
func (r *rig) files(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(r.dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			out[e.Name()] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// forEachRig runs fn with a rig on a seeded store of each dialect.
func forEachRig(t *testing.T, fn func(t *testing.T, s *storage.Store, r *rig)) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		fn(t, s, newRig(t, s))
	})
}

// add stores the test photo for the member through one of the library's
// ways in ([media.Library.Upload], [media.Library.SetAvatar]).
func (r *rig) add(t *testing.T, way func(context.Context, storage.ID, io.Reader) (*storage.Media, error), member storage.ID) *storage.Media {
	t.Helper()
	m, err := way(context.Background(), member, bytes.NewReader(photo(t)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (r *rig) sweep(t *testing.T) media.SweepResult {
	t.Helper()
	res, err := r.lib.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// An upload is stored with its thumbnail; once its post is deleted, the
// sweep deletes both files.
func TestUploadThenDeletePostRemovesFiles(t *testing.T) {
	forEachRig(t, func(t *testing.T, s *storage.Store, r *rig) {
		ctx := context.Background()
		m := r.add(t, r.lib.Upload, r.fx.Bob.ID)
		if m.ContentType != "image/jpeg" || m.Width != 640 || m.ThumbWidth != media.ThumbSide || m.Attached {
			t.Fatalf("upload %+v", m)
		}
		if f := r.files(t); !f[m.FileKey] || !f[m.ThumbKey] || len(f) != 2 {
			t.Fatalf("files %v", f)
		}
		b, err := r.lib.Open(ctx, m.FileKey)
		if err != nil {
			t.Fatal(err)
		}
		head, _ := io.ReadAll(io.LimitReader(b, 512))
		b.Close()
		if media.ContentType(head) != "image/jpeg" {
			t.Fatalf("stored file sniffs as %q", media.ContentType(head))
		}
		p, err := s.CreatePost(ctx, storage.NewPost{ThreadID: r.fx.Thread.ID, AuthorID: r.fx.Bob.ID, Source: "look", HTML: "<p>look</p>",
			Media: []storage.AttachMedia{{ID: m.ID, Description: "a loaf"}}})
		if err != nil {
			t.Fatal(err)
		}
		if res := r.sweep(t); res.Deleted != 0 || len(r.files(t)) != 2 {
			t.Fatalf("sweep removed files of a live post: %+v", res)
		}
		if err := s.DeletePost(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if res := r.sweep(t); res.Deleted != 2 || len(r.files(t)) != 0 {
			t.Fatalf("after deleting the post: %+v, files %v", res, r.files(t))
		}
		if _, err := r.lib.Open(ctx, m.FileKey); !errors.Is(err, media.ErrNotExist) {
			t.Fatalf("open after sweep: %v", err)
		}
	})
}

// A refused file leaves nothing behind.
func TestRefusedUploadStoresNothing(t *testing.T) {
	forEachRig(t, func(t *testing.T, s *storage.Store, r *rig) {
		_, err := r.lib.Upload(context.Background(), r.fx.Bob.ID, bytes.NewReader([]byte("<svg onload=alert(1)>")))
		var refusal *media.Refusal
		if !errors.As(err, &refusal) {
			t.Fatalf("upload of an svg: %v", err)
		}
		if len(r.files(t)) != 0 {
			t.Fatalf("files %v", r.files(t))
		}
		if list, _ := s.ListMedia(context.Background(), 0, 10); len(list) != 0 {
			t.Fatalf("rows %+v", list)
		}
	})
}

// A new avatar replaces the old one, file and all; deleting the account
// removes it.
func TestAvatar(t *testing.T) {
	forEachRig(t, func(t *testing.T, s *storage.Store, r *rig) {
		ctx := context.Background()
		first := r.add(t, r.lib.SetAvatar, r.fx.Bob.ID)
		if first.Width != media.AvatarSide || first.Height != media.AvatarSide {
			t.Fatalf("avatar %dx%d", first.Width, first.Height)
		}
		second := r.add(t, r.lib.SetAvatar, r.fx.Bob.ID)
		bob, _ := s.AccountByID(ctx, r.fx.Bob.ID)
		if bob.AvatarURL != "https://forum.example/media/"+second.FileKey {
			t.Fatalf("avatar url %q", bob.AvatarURL)
		}
		r.sweep(t)
		if f := r.files(t); len(f) != 1 || !f[second.FileKey] {
			t.Fatalf("files after replacing the avatar: %v", f)
		}
		if err := s.DeleteOwnAccount(ctx, r.fx.Bob.ID); err != nil {
			t.Fatal(err)
		}
		r.sweep(t)
		if f := r.files(t); len(f) != 0 {
			t.Fatalf("files after deleting the account: %v", f)
		}
	})
}

// Copies of remote attachments are kept up to the cap: the sweep evicts
// the oldest, and the post links the original again.
func TestRemoteCopiesAreCapped(t *testing.T) {
	forEachRig(t, func(t *testing.T, s *storage.Store, r *rig) {
		ctx := context.Background()
		zed := storagetest.RemoteActor(t, s, "zed", "social.example")
		for _, n := range []string{"a", "b"} {
			_, err := s.CreatePost(ctx, storage.NewPost{ThreadID: r.fx.Thread.ID, AuthorID: zed.ID, HTML: "<p>" + n + "</p>",
				APID:        ptr("https://social.example/notes/" + n),
				RemoteMedia: []storage.RemoteAttachment{{URL: "https://files.social.example/" + n + ".jpg", Description: "picture " + n}}})
			if err != nil {
				t.Fatal(err)
			}
		}
		queue, err := s.RemoteMediaToFetch(ctx, 10)
		if err != nil || len(queue) != 2 {
			t.Fatalf("queue %v %d", err, len(queue))
		}
		for _, m := range queue {
			if err := r.lib.StoreRemote(ctx, m.ID, bytes.NewReader(photo(t))); err != nil {
				t.Fatal(err)
			}
		}
		stored, _ := s.MediaByID(ctx, queue[0].ID)
		if !stored.Stored() || len(r.files(t)) != 4 {
			t.Fatalf("stored copy %+v, files %d", stored, len(r.files(t)))
		}
		r.lib.RemoteCacheBytes = stored.Size + stored.Size/2 // room for one
		if res := r.sweep(t); res.Evicted != 1 || res.Deleted != 2 {
			t.Fatalf("sweep over the cap: %+v", res)
		}
		if first, _ := s.MediaByID(ctx, queue[0].ID); first.Stored() || first.RemoteURL == "" {
			t.Fatalf("the oldest copy was not evicted: %+v", first)
		}
		if second, _ := s.MediaByID(ctx, queue[1].ID); !second.Stored() {
			t.Fatal("the newer copy was evicted")
		}
	})
}

// A backup copies every file the rows name into another store.
func TestCopyFiles(t *testing.T) {
	forEachRig(t, func(t *testing.T, s *storage.Store, r *rig) {
		ctx := context.Background()
		m := r.add(t, r.lib.Upload, r.fx.Bob.ID)
		av := r.add(t, r.lib.SetAvatar, r.fx.Alice.ID)
		dstDir := t.TempDir()
		dst, _ := media.NewDir(dstDir)
		copied, missing, err := r.lib.CopyFiles(ctx, dst)
		if err != nil || copied != 3 || missing != 0 {
			t.Fatalf("copy: %d copied, %d missing, %v", copied, missing, err)
		}
		for _, k := range []string{m.FileKey, m.ThumbKey, av.FileKey} {
			want, _ := os.ReadFile(filepath.Join(r.dir, k[:2], k))
			got, err := os.ReadFile(filepath.Join(dstDir, k[:2], k))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("copy of %s: %v", k, err)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
