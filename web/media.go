package web

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/skein-forum/skein/media"
	"github.com/skein-forum/skein/storage"
)

// Images members attach to posts: a composer sends its files with the
// form; each is checked and stored as it arrives (media.Library.Upload)
// and named in the form by its id from then on, so a preview, a refusal
// or a kept form shows the same images again without sending them twice.

// maxComposerBytes bounds a composer's body: its text and as many images
// as a post carries.
const maxComposerBytes = maxFormBytes + storage.MaxAttachments*(media.MaxFileBytes+4<<10)

// A member may store uploadBurst images at once, then one every 20
// seconds: a forum's busiest posters stay far below, a script filling
// the disk is slowed.
const (
	uploadRate  = 1.0 / 20
	uploadBurst = 40
)

// tooManyUploads is the refusal past the upload limit.
var tooManyUploads = &media.Refusal{Message: "You have sent many images in a short time. Wait a few minutes, then attach the rest."}

// parseComposerForm reads a composer's body, a plain form or, when it
// carries files, multipart. On failure it has answered.
func (s *Server) parseComposerForm(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return s.parseForm(w, r)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxComposerBytes)
	// Files past 8 MB in all wait in temporary files, which net/http
	// removes when the request is done.
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.errorPage(w, r, http.StatusRequestEntityTooLarge, "That was more than a post can hold: at most "+
				strconv.Itoa(storage.MaxAttachments)+" images of "+strconv.Itoa(media.MaxFileBytes>>20)+" MB each. Go back and send less.")
			return false
		}
		s.errorPage(w, r, http.StatusBadRequest, "The form could not be read. Go back and try again.")
		return false
	}
	return true
}

// attachmentField is an image in a composer: an upload waiting for its
// post, or one the post has, with the alt text typed for it.
type attachmentField struct {
	ID       string
	ThumbURL string
	Alt      string
}

// composerMedia reads the images a composer names (the "media" ids in
// order, each with its "alt-ID") and stores the files it sends, as the
// member's uploads. It returns what the composer shows again and a
// message for each file refused.
func (s *Server) composerMedia(r *http.Request, viewer *storage.Account, f url.Values, existing []storage.Media) ([]attachmentField, []string) {
	var ids []storage.ID
	for _, v := range f["media"] {
		if id, err := storage.ParseID(v); err == nil && len(ids) < storage.MaxAttachments {
			ids = append(ids, id)
		}
	}
	var problems []string
	var uploaded []storage.Media
	if r.MultipartForm != nil && s.media != nil {
		for _, fh := range r.MultipartForm.File["images"] {
			if fh.Size == 0 && fh.Filename == "" {
				continue // the file picker left empty
			}
			if len(ids)+len(uploaded) >= storage.MaxAttachments {
				problems = append(problems, "A post carries at most "+strconv.Itoa(storage.MaxAttachments)+" images; "+fh.Filename+" was left out.")
				continue
			}
			m, err := s.upload(r, viewer, fh)
			var refused *media.Refusal
			switch {
			case errors.As(err, &refused):
				problems = append(problems, fh.Filename+": "+refused.Message)
			case err != nil:
				s.Log.Error("store an upload", "member", viewer.ID, "err", err)
				problems = append(problems, fh.Filename+": the image could not be stored just now. Try again.")
			default:
				uploaded = append(uploaded, *m)
			}
		}
	} else if r.MultipartForm != nil && len(r.MultipartForm.File["images"]) > 0 {
		problems = append(problems, "This forum does not take images.")
	}
	known := make(map[storage.ID]storage.Media)
	for _, m := range existing {
		known[m.ID] = m
	}
	pending, err := s.Store.PendingUploads(r.Context(), viewer.ID, ids)
	if err != nil {
		s.Log.Error("pending uploads", "err", err)
	}
	for _, m := range pending {
		known[m.ID] = m
	}
	var out []attachmentField
	for _, id := range ids {
		if m, ok := known[id]; ok {
			out = append(out, s.attachmentField(m, f.Get("alt-"+id.String())))
			delete(known, id)
		}
	}
	for _, m := range uploaded {
		out = append(out, s.attachmentField(m, ""))
	}
	return out, problems
}

func (s *Server) attachmentField(m storage.Media, alt string) attachmentField {
	return attachmentField{ID: m.ID.String(), ThumbURL: s.mediaURL(m.ThumbKey, m.FileKey), Alt: alt}
}

// imagesAgain tells a member who was signed out that the images they
// sent were not kept: only members' files are stored.
func imagesAgain(r *http.Request) string {
	if r.MultipartForm == nil {
		return ""
	}
	for _, fh := range r.MultipartForm.File["images"] {
		if fh.Filename != "" {
			return " Attach your new images again."
		}
	}
	return ""
}

// attachItems is what the store attaches: the composer's images in order
// with their alt text.
func attachItems(fields []attachmentField) []storage.AttachMedia {
	out := make([]storage.AttachMedia, 0, len(fields))
	for _, a := range fields {
		if id, err := storage.ParseID(a.ID); err == nil {
			out = append(out, storage.AttachMedia{ID: id, Description: a.Alt})
		}
	}
	return out
}

func (s *Server) upload(r *http.Request, viewer *storage.Account, fh *multipart.FileHeader) (*storage.Media, error) {
	if !allow(s.uploadLimit, viewer.ID.String()) {
		return nil, tooManyUploads
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return s.media.Upload(r.Context(), viewer.ID, f)
}

// mediaURL is where a stored file is served: the first key that is set.
func (s *Server) mediaURL(keys ...string) string {
	for _, k := range keys {
		if k != "" {
			return s.path("/media/" + k)
		}
	}
	return ""
}

// serveMedia serves a stored file. Keys are never reused (a new image
// gets a new key), so a file may be cached for a year; its type is read
// from its own bytes, and nosniff (set on every response) keeps browsers
// from guessing another.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if s.media == nil || !media.ValidKey(key) {
		http.NotFound(w, r)
		return
	}
	b, err := s.media.Open(r.Context(), key)
	if errors.Is(err, media.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.Log.Error("open media file", "key", key, "err", err)
		http.Error(w, "The file could not be read.", http.StatusInternalServerError)
		return
	}
	defer b.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(b, head)
	ct := media.ContentType(head[:n])
	if ct == "" {
		http.Error(w, "Not an image.", http.StatusNotFound)
		return
	}
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		http.Error(w, "The file could not be read.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", b.ModTime(), b)
}

// TakesImages reports whether members may upload images (a media store
// is configured).
func (s *Server) TakesImages() bool { return s.media != nil }

// mediaView is an attachment as a post shows it.
type mediaView struct {
	URL       string // the full image: stored here, or the remote original
	ThumbURL  string
	Alt       string
	Width     int // of the thumbnail shown, 0 when not known
	Height    int
	Sensitive bool
	Remote    bool // shown from its own server (not in the cache)
}

func (s *Server) newMediaView(m *storage.Media) mediaView {
	v := mediaView{Alt: m.Description, Sensitive: m.Sensitive}
	switch {
	case m.Stored():
		v.URL = s.mediaURL(m.FileKey)
		v.ThumbURL = s.mediaURL(m.ThumbKey, m.FileKey)
		v.Width, v.Height = m.ThumbWidth, m.ThumbHeight
		if m.ThumbKey == "" {
			v.Width, v.Height = m.Width, m.Height
		}
	case m.IsRemote():
		// Linked where it lives, with no referrer (see FEDERATION.md).
		v.URL, v.ThumbURL, v.Remote = m.RemoteURL, m.RemoteURL, true
		v.Width, v.Height = m.Width, m.Height
	}
	if v.Width > 0 && v.Height > 0 {
		// Box the size attributes like the thumbnail: the layout does not
		// jump when it loads.
		if f := float64(media.ThumbSide) / float64(max(v.Width, v.Height)); f < 1 {
			v.Width, v.Height = max(1, int(float64(v.Width)*f)), max(1, int(float64(v.Height)*f))
		}
	}
	return v
}

// postMedia loads the attachments of the posts that have some, in one
// query; pages without images make none.
func (s *Server) postMedia(ctx context.Context, posts []storage.Post) (map[storage.ID][]mediaView, error) {
	var ids []storage.ID
	for i := range posts {
		if posts[i].MediaCount > 0 && !posts[i].IsDeleted() {
			ids = append(ids, posts[i].ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	byPost, err := s.Store.MediaOfPosts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[storage.ID][]mediaView, len(byPost))
	for id, ms := range byPost {
		for i := range ms {
			if v := s.newMediaView(&ms[i]); v.URL != "" {
				out[id] = append(out[id], v)
			}
		}
	}
	return out, nil
}
