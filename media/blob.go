// Package media owns the files members upload and the copies of remote
// attachments: a small blob store ([Blobs], a directory now, room for an
// S3-compatible bucket later), the checks and re-encoding every image goes
// through ([Process], [ProcessAvatar]), and [Library], which keeps the
// files and their rows in the store in step: uploads, avatars, remote
// copies under a size cap, and the sweep that removes the files of deleted
// posts and accounts.
package media

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// Blobs stores immutable files by key. A key is written once and never
// changed (a new image gets a new key), which is what lets pages serve
// files with a year-long cache and lets several processes share one store
// without locks: a reader sees a whole file or none.
//
// Dir is the implementation for a directory. An S3-compatible one maps
// Put to PutObject, Open to ranged GetObject calls, Delete to DeleteObject
// and Walk to ListObjectsV2.
type Blobs interface {
	// Put stores what r yields under key, replacing nothing a reader
	// could see half-written.
	Put(ctx context.Context, key string, r io.Reader) error
	// Open reads the file under key; a missing one is [ErrNotExist].
	Open(ctx context.Context, key string) (Blob, error)
	// Delete removes key; a key that is not there is not an error.
	Delete(ctx context.Context, key string) error
	// Walk calls fn for every stored key, in no particular order.
	Walk(ctx context.Context, fn func(key string, size int64) error) error
}

// Blob is one stored file being read.
type Blob interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// ErrNotExist is what Open answers for a key that is not stored.
var ErrNotExist = fs.ErrNotExist

// ValidKey reports whether key is one a store accepts: 3 to 100 of
// [a-z0-9._-], starting with a letter or digit, so a key is always one
// plain file name and never a path.
func ValidKey(key string) bool {
	if len(key) < 3 || len(key) > 100 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

var errBadKey = errors.New("media: invalid blob key")
