package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skein-forum/skein/media"
	"github.com/skein-forum/skein/storage/storagetest"
)

// A backup carries the image files the database names.
func TestBackupMediaCopiesImages(t *testing.T) {
	ctx := context.Background()
	store := storagetest.Open(t, "sqlite")
	fx := storagetest.Seed(t, store)
	src := filepath.Join(t.TempDir(), "media")
	dir, err := media.NewDir(src)
	if err != nil {
		t.Fatal(err)
	}
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 40, 30)))
	m, err := media.NewLibrary(store, dir, nil, nil).Upload(ctx, fx.Bob.ID, &img)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy.db-media")
	var out bytes.Buffer
	if err := backupMedia(ctx, store, src, dst, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "copied 2 image files") {
		t.Errorf("backup said %q", out.String())
	}
	for _, k := range []string{m.FileKey, m.ThumbKey} {
		if _, err := os.Stat(filepath.Join(dst, k[:2], k)); err != nil {
			t.Errorf("backup lacks %s: %v", k, err)
		}
	}
	if err := backupMedia(ctx, store, src, dst, &out); err == nil {
		t.Error("a second backup into the same directory was not refused")
	}
}
