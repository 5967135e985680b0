package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestDirStoresReadsAndDeletes(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "ab12cd.jpg", bytes.NewReader([]byte("pixels"))); err != nil {
		t.Fatal(err)
	}
	b, err := d.Open(ctx, "ab12cd.jpg")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b)
	b.Close()
	if string(got) != "pixels" || b.Size() != 6 {
		t.Fatalf("read %q, size %d", got, b.Size())
	}
	if _, err := os.Stat(filepath.Join(root, "ab", "ab12cd.jpg")); err != nil {
		t.Fatalf("not under its fan-out directory: %v", err)
	}
	if err := d.Delete(ctx, "ab12cd.jpg"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "ab12cd.jpg"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := d.Open(ctx, "ab12cd.jpg"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("open after delete: %v", err)
	}
}

// Keys are plain names: nothing can reach outside the directory.
func TestDirRefusesPaths(t *testing.T) {
	ctx := context.Background()
	d, _ := NewDir(t.TempDir())
	for _, key := range []string{"../../etc/passwd", "..", "a/b.jpg", ".hidden", "x", "UPPER.jpg", "-dash.jpg", ""} {
		if err := d.Put(ctx, key, bytes.NewReader(nil)); err == nil {
			t.Errorf("put %q accepted", key)
		}
		if _, err := d.Open(ctx, key); !errors.Is(err, ErrNotExist) {
			t.Errorf("open %q: %v", key, err)
		}
	}
}

// Two processes (two Dir values here) write, read and walk one directory
// at once: a reader sees whole files only, and a walk never lists a
// write in progress.
func TestDirSharedByWriters(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	a, _ := NewDir(root)
	b, _ := NewDir(root)
	body := bytes.Repeat([]byte("0123456789"), 50_000)
	var wg sync.WaitGroup
	for i, d := range []*Dir{a, b, a, b} {
		wg.Go(func() {
			for j := range 10 {
				// Both write the same keys too: the last rename wins whole.
				if err := d.Put(ctx, fmt.Sprintf("k%d%d.png", j, i%2), bytes.NewReader(body)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			a.Walk(ctx, func(key string, size int64) error {
				if size != int64(len(body)) {
					t.Errorf("walk saw %s at %d bytes", key, size)
				}
				return nil
			})
		}
	})
	wg.Wait()
	n := 0
	if err := b.Walk(ctx, func(key string, size int64) error {
		n++
		f, err := b.Open(ctx, key)
		if err != nil {
			return err
		}
		defer f.Close()
		got, _ := io.ReadAll(f)
		if !bytes.Equal(got, body) {
			t.Errorf("%s is not whole", key)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 20 {
		t.Fatalf("walked %d keys, want 20", n)
	}
}
