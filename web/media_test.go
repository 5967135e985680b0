package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/skein-forum/skein/media"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/web"
)

// mediaSite is a test site that takes images, with its library.
func mediaSite(t *testing.T) (*testSite, *media.Library) {
	t.Helper()
	var lib *media.Library
	ts := newSiteWith(t, func(c *web.Config) {
		dir, err := media.NewDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		lib = media.NewLibrary(c.Store, dir, c.URLs, slog.New(slog.NewTextHandler(io.Discard, nil)))
		c.Media = lib
	})
	return ts, lib
}

// pngImage is a small PNG of w×h pixels.
func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// postFiles sends a multipart form as a browser on the same site does;
// files maps a field to file name and content pairs.
func (b *browser) postFiles(path string, form url.Values, field string, files map[string][]byte) *response {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for name, data := range files {
		fw, _ := mw.CreateFormFile(field, name)
		fw.Write(data)
	}
	mw.Close()
	req, err := http.NewRequest("POST", b.site.URL+path, &body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.site.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

var altField = regexp.MustCompile(`name="alt-([0-9a-z]+)"`)

func TestUploadImagesWithAltText(t *testing.T) {
	ts, lib := mediaSite(t)
	bob := ts.browser()
	bob.signIn("bob")
	threadPath := site.ThreadPath(ts.FX.Thread.ID)
	tok := formToken(t, bob.get(threadPath))

	// Attach: the images come back with a field for their alt text, the
	// typed text kept; nothing is posted yet.
	before := ts.thread(ts.FX.Thread.ID).PostCount
	r := bob.postFiles(threadPath+"/reply", url.Values{"body": {"My two starters"}, "form_token": {tok}, "upload": {"1"}},
		"images", map[string][]byte{"a.png": pngImage(t, 900, 600), "notes.txt": []byte("just text, named nothing")})
	r.wantStatus(t, http.StatusOK).wantContains(t, "My two starters</textarea>", "notes.txt: The file is not a JPEG, PNG, WebP or GIF image.")
	ids := altField.FindAllStringSubmatch(r.Body, -1)
	if len(ids) != 1 {
		t.Fatalf("%d images to describe after attaching one image and one text file", len(ids))
	}
	id := ids[0][1]
	if ts.thread(ts.FX.Thread.ID).PostCount != before {
		t.Fatal("attaching posted")
	}
	loc := bob.post(threadPath+"/reply", url.Values{"body": {"My two starters"}, "form_token": {tok},
		"media": {id}, "alt-" + id: {"Two jars of bubbling starter on a windowsill"}}).wantStatus(t, http.StatusSeeOther).location(t)

	page := ts.browser().get(strings.SplitN(loc, "#", 2)[0]).wantStatus(t, http.StatusOK)
	img := regexp.MustCompile(`<img src="(/media/[^"]+)" alt="Two jars of bubbling starter on a windowsill" width="400" height="26[67]"`).
		FindStringSubmatch(page.Body)
	if img == nil {
		t.Fatalf("the thread does not show the image with its alt text:\n%s", page.Body)
	}
	f := ts.browser().get(img[1]).wantStatus(t, http.StatusOK)
	if ct := f.Header.Get("Content-Type"); ct != "image/jpeg" {
		t.Errorf("thumbnail served as %q", ct)
	}
	if cc := f.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
		t.Errorf("Cache-Control %q", cc)
	}
	if f.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff on a media file")
	}
	ts.browser().get("/media/..%2fskein.db").wantStatus(t, http.StatusNotFound)
	ts.browser().get("/media/nosuchfile.png").wantStatus(t, http.StatusNotFound)

	// Deleting the post puts its files in the trash; the sweep deletes them.
	posts, _ := ts.Store.ThreadPage(context.Background(), ts.FX.Thread.ID, 1)
	last := posts[len(posts)-1]
	if last.MediaCount != 1 {
		t.Fatalf("the post has %d attachments", last.MediaCount)
	}
	bob.post(site.PostPath(last.ID)+"/delete", nil).wantStatus(t, http.StatusSeeOther)
	if res, err := lib.Sweep(context.Background()); err != nil || res.Deleted != 2 {
		t.Fatalf("sweep after deleting the post: %+v, %v", res, err)
	}
	ts.browser().get(img[1]).wantStatus(t, http.StatusNotFound)
}

func TestNewThreadWithImageAndKeptUpload(t *testing.T) {
	ts, _ := mediaSite(t)
	bob := ts.browser()
	bob.signIn("bob")
	newPath := site.ForumPath(ts.FX.Forum.Slug) + "/new"
	tok := formToken(t, bob.get(newPath))
	// Posted straight away with a file and a title too long: the upload
	// is kept with the form, and the page it lands on shows it.
	loc := bob.postFiles(newPath, url.Values{"title": {strings.Repeat("t", 201)}, "body": {"Crumb shot"}, "form_token": {tok}},
		"images", map[string][]byte{"crumb.png": pngImage(t, 64, 64)}).wantStatus(t, http.StatusSeeOther).location(t)
	page := bob.get(strings.TrimSuffix(loc, "#compose")).wantStatus(t, http.StatusOK).wantContains(t, "the limit is 200")
	ids := altField.FindAllStringSubmatch(page.Body, -1)
	if len(ids) != 1 {
		t.Fatalf("the kept form shows %d images, want the one sent", len(ids))
	}
	loc = bob.post(newPath, url.Values{"title": {"Crumb"}, "body": {"Crumb shot"}, "form_token": {tok},
		"media": {ids[0][1]}, "alt-" + ids[0][1]: {"An open crumb"}}).wantStatus(t, http.StatusSeeOther).location(t)
	ts.browser().get(loc).wantStatus(t, http.StatusOK).wantContains(t, `alt="An open crumb"`)

	// Another member cannot attach Bob's upload.
	alice := ts.browser()
	alice.signIn("alice")
	r := alice.postFiles(newPath, url.Values{"upload": {"1"}}, "images", map[string][]byte{"x.png": pngImage(t, 8, 8)})
	theirs := altField.FindStringSubmatch(r.Body)[1]
	bob.post(site.ThreadPath(ts.FX.Thread.ID)+"/reply", url.Values{"body": {"stolen?"}, "media": {theirs}}).
		wantStatus(t, http.StatusSeeOther)
	posts, _ := ts.Store.ThreadPage(context.Background(), ts.FX.Thread.ID, 1)
	if n := posts[len(posts)-1].MediaCount; n != 0 {
		t.Errorf("Bob's post carries %d of Alice's images", n)
	}
}

func TestAvatarAndAdminRemovesImage(t *testing.T) {
	ts, lib := mediaSite(t)
	bob := ts.browser()
	bob.signIn("bob")
	bob.postFiles("/settings/avatar", nil, "avatar", map[string][]byte{"me.txt": []byte("<svg></svg>")}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "not a JPEG, PNG, WebP or GIF")
	bob.postFiles("/settings/avatar", nil, "avatar", map[string][]byte{"me.png": pngImage(t, 300, 200)}).
		wantStatus(t, http.StatusSeeOther)
	avatar := ts.account(ts.FX.Bob.ID).AvatarURL
	if !strings.Contains(avatar, "/media/") {
		t.Fatalf("avatar URL %q", avatar)
	}
	ts.browser().get(site.ThreadPath(ts.FX.Thread.ID)).wantContains(t, `<img class="avatar" src="`+avatar+`"`)

	admin := addAdmin(t, ts)
	ab := ts.browser()
	ab.signIn(admin.Handle)
	list := ab.get("/admin/media").wantStatus(t, http.StatusOK).wantContains(t, "@bob", "avatar")
	id := regexp.MustCompile(`/admin/media/([0-9a-z]+)/remove`).FindStringSubmatch(list.Body)[1]
	bob.post("/admin/media/"+id+"/remove", nil).wantStatus(t, http.StatusForbidden)
	ab.post("/admin/media/"+id+"/remove", nil).wantStatus(t, http.StatusSeeOther)
	if a := ts.account(ts.FX.Bob.ID).AvatarURL; a != "" {
		t.Errorf("avatar still %q after an admin removed it", a)
	}
	if _, err := lib.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(avatar)
	ts.browser().get(u.Path).wantStatus(t, http.StatusNotFound)
	ab.get("/admin/audit").wantContains(t, "media.remove")
}

func TestEditPostImages(t *testing.T) {
	ts, _ := mediaSite(t)
	bob := ts.browser()
	bob.signIn("bob")
	threadPath := site.ThreadPath(ts.FX.Thread.ID)
	r := bob.postFiles(threadPath+"/reply", url.Values{"upload": {"1"}}, "images", map[string][]byte{"a.png": pngImage(t, 50, 50)})
	first := altField.FindStringSubmatch(r.Body)[1]
	bob.post(threadPath+"/reply", url.Values{"body": {"Two views"}, "media": {first}, "alt-" + first: {"From above"}}).
		wantStatus(t, http.StatusSeeOther)
	posts, _ := ts.Store.ThreadPage(context.Background(), ts.FX.Thread.ID, 1)
	post := posts[len(posts)-1]
	edit := site.PostPath(post.ID) + "/edit"
	bob.get(edit).wantStatus(t, http.StatusOK).wantContains(t, `name="alt-`+first+`"`, "From above</textarea>")

	// Untick the first image and add another, described.
	r = bob.postFiles(edit, url.Values{"media_shown": {"1"}, "body": {"Two views"}, "upload": {"1"}}, "images", map[string][]byte{"b.png": pngImage(t, 60, 40)})
	second := altField.FindStringSubmatch(r.Body)[1]
	if second == first {
		t.Fatal("the edit form's new image has the old one's id")
	}
	bob.post(edit, url.Values{"media_shown": {"1"}, "body": {"One view"}, "media": {second}, "alt-" + second: {"From the side"}}).
		wantStatus(t, http.StatusSeeOther)
	ts.browser().get(threadPath).wantContains(t, `alt="From the side"`).wantLacks(t, `alt="From above"`)
	// An edit form without the images (an old page) leaves them alone.
	bob.post(edit, url.Values{"body": {"One view, again"}}).wantStatus(t, http.StatusSeeOther)
	ts.browser().get(threadPath).wantContains(t, `alt="From the side"`)
}

// A member sending image after image is slowed down, with a message.
func TestUploadLimit(t *testing.T) {
	ts, _ := mediaSite(t)
	bob := ts.browser()
	bob.signIn("bob")
	img := pngImage(t, 8, 8)
	four := map[string][]byte{"a.png": img, "b.png": img, "c.png": img, "d.png": img}
	path := site.ThreadPath(ts.FX.Thread.ID) + "/reply"
	for range 10 {
		bob.postFiles(path, url.Values{"upload": {"1"}}, "images", four).wantStatus(t, http.StatusOK).wantLacks(t, "many images")
	}
	bob.postFiles(path, url.Values{"upload": {"1"}}, "images", map[string][]byte{"e.png": img}).
		wantContains(t, "e.png: You have sent many images in a short time.")
	// Others are not held up.
	alice := ts.browser()
	alice.signIn("alice")
	alice.postFiles(path, url.Values{"upload": {"1"}}, "images", map[string][]byte{"f.png": img}).wantLacks(t, "many images")
}
