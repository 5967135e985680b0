package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Dir is a [Blobs] store in a directory: key K is the file K[:2]/K, so no
// directory grows too large. Writes go to a temporary file in the same
// directory that is then renamed over the key, which is atomic on every
// file system Skein runs on: several processes (a node, `skein backup`,
// another node on the same PostgreSQL database and disk) can share it.
type Dir struct {
	root string
}

// NewDir opens (and creates) a directory store.
func NewDir(root string) (*Dir, error) {
	if root == "" {
		return nil, errors.New("media: no directory for files")
	}
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("media directory: %w", err)
	}
	return &Dir{root: root}, nil
}

// Root is the directory.
func (d *Dir) Root() string { return d.root }

func (d *Dir) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("%w: %q", errBadKey, key)
	}
	return filepath.Join(d.root, key[:2], key), nil
}

// Put implements [Blobs].
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	tmp := f.Name()
	_, err = io.Copy(f, contextReader{ctx, r})
	if err == nil {
		err = f.Sync() // the rename must not publish a file the disk has not got
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o640)
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// Open implements [Blobs].
func (d *Dir) Open(_ context.Context, key string) (Blob, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotExist, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err // wraps fs.ErrNotExist for a missing file
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileBlob{File: f, size: fi.Size(), mod: fi.ModTime()}, nil
}

// Delete implements [Blobs].
func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Walk implements [Blobs]. Temporary files of writes in progress (or of
// a process that died while writing) are not keys and are skipped.
func (d *Dir) Walk(ctx context.Context, fn func(key string, size int64) error) error {
	return filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || !ValidKey(e.Name()) {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted while walking
			}
			return err
		}
		return fn(e.Name(), fi.Size())
	})
}

type fileBlob struct {
	*os.File
	size int64
	mod  time.Time
}

func (b *fileBlob) Size() int64        { return b.size }
func (b *fileBlob) ModTime() time.Time { return b.mod }

// contextReader stops a long copy when its context ends.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
