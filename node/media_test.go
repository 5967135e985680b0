package node_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/skein-forum/skein/storage"
)

// upload attaches an image to a reply through the composer, as a
// browser without script does: Attach (the file goes up and comes back
// with a field for its alt text), then Post reply.
func (m *member) replyWithImage(thread storage.ID, body, alt string) storage.ID {
	m.t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 120, 80))
	for x := range 120 {
		img.Set(x, x%80, color.NRGBA{200, 80, 20, 255})
	}
	var file bytes.Buffer
	png.Encode(&file, img)
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("body", body)
	mw.WriteField("upload", "1")
	fw, _ := mw.CreateFormFile("images", "loaf.png")
	fw.Write(file.Bytes())
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, m.n.Base+"/t/"+thread.String()+"/reply", &form)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", m.n.Base)
	resp, err := m.c.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := regexp.MustCompile(`name="alt-([0-9a-z]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || id == nil {
		m.t.Fatalf("attach: status %d, no image to describe: %.500s", resp.StatusCode, page)
	}
	return postIDFrom(m.t, m.post("/t/"+thread.String()+"/reply", map[string][]string{"body": {body},
		"media": {string(id[1])}, "alt-" + string(id[1]): {alt}}))
}

// A member's image reaches a follower as a Document with its type, URL
// and alt text, and the URL serves the image; a remote Note's images
// show in the thread with their alt text, linked without a referrer, a
// sensitive one blurred until clicked.
func TestAttachmentsFederateBothWays(t *testing.T) {
	a := startNode(t)
	remote := newFakeRemote(t, false)
	fan := remote.actor("fan")
	alice := a.register("alice")
	a.remoteFollow(fan, storage.FollowAccount, alice.account().ID)

	thread := alice.newThread("Crumb", "Show your crumb.")
	post := alice.replyWithImage(thread, "Mine, after 20 hours cold.", "An open crumb with glossy holes")
	waitFor(t, "the follower to get the reply", waitLong, func() bool { return len(fan.received("Create")) == 2 })
	var note map[string]any
	for _, c := range fan.received("Create") {
		if objectID(c) == a.URLs.Post(post) {
			note = object(c)
		}
	}
	atts, _ := note["attachment"].([]any)
	if len(atts) != 1 {
		t.Fatalf("the Note carries attachments %v", note["attachment"])
	}
	doc := atts[0].(map[string]any)
	url, _ := doc["url"].(string)
	if doc["type"] != "Document" || doc["mediaType"] != "image/png" || doc["name"] != "An open crumb with glossy holes" ||
		!strings.HasPrefix(url, a.Base+"/media/") || doc["width"] != float64(120) || len(fmt.Sprint(doc["blurhash"])) < 6 {
		t.Errorf("attachment %v", doc)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("the attachment's URL answers %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The Note document says the same.
	if got := getAP(t, a.URLs.Post(post)); !strings.Contains(got, `"name":"An open crumb with glossy holes"`) {
		t.Errorf("the Note document lacks the attachment: %s", got)
	}

	// Inbound: a reply from the remote with two images, the Note marked
	// sensitive, and a video linked as before.
	reply := fan.Note(a.URLs.Post(post), "Here is mine.")
	reply["sensitive"] = true
	reply["attachment"] = []any{
		map[string]any{"type": "Document", "mediaType": "image/jpeg", "url": remote.URL + "/media/crumb.jpg",
			"name": "A tight crumb, a bit underproofed", "blurhash": "UBL_:rOpGG-;~qRjWBay00xu%MM{IUWBt7of", "width": 1600, "height": 1200},
		map[string]any{"type": "Image", "url": remote.URL + "/media/ear.png", "name": "The ear"},
		map[string]any{"type": "Document", "mediaType": "video/mp4", "url": remote.URL + "/media/scoring.mp4"},
		map[string]any{"type": "Document", "mediaType": "image/png", "url": "javascript:alert(1)"},
	}
	if code := fan.send(t, a.Base+"/inbox", fan.Create(reply)); code != http.StatusAccepted {
		t.Fatalf("inbox answered %d", code)
	}
	var stored *storage.Post
	waitFor(t, "the remote reply to be stored", waitLong, func() bool {
		p, err := a.Store.PostByAPID(context.Background(), reply["id"].(string))
		stored = p
		return err == nil
	})
	if stored.MediaCount != 2 {
		t.Errorf("the remote reply has %d images, want 2", stored.MediaCount)
	}
	page := alice.get("/t/" + thread.String())
	for _, want := range []string{
		`<img src="` + remote.URL + `/media/crumb.jpg" alt="A tight crumb, a bit underproofed" width="400" height="300" loading="lazy" referrerpolicy="no-referrer">`,
		`alt="The ear" loading="lazy" referrerpolicy="no-referrer">`,
		`<details class="sensitive">`,
		`href="` + remote.URL + `/media/scoring.mp4"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the thread page lacks %s", want)
		}
	}
	if strings.Contains(page, "javascript:") {
		t.Error("a javascript: attachment reached the page")
	}
}
