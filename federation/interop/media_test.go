package interop

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"
)

// testPNG is a small picture to send both ways.
func testPNG() []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		img.Set(x, x%48, color.NRGBA{180, 90, 30, 255})
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// A member's reply with an image shows in a GoToSocial user's home
// timeline with the image and its alt text.
func TestMemberImageReachesGoToSocial(t *testing.T) {
	j := begin(t, env.plain, "imager")
	id, _ := j.thread("Pictures "+word("t"), "Show your loaf.")
	a := j.resolve(j.node.threadURL(id))
	j.follow(a)
	text, alt := word("img-reply"), word("alt")
	if _, err := j.member.ReplyWithImage(j.ctx, id, "My loaf: "+text, "A loaf "+alt, testPNG()); err != nil {
		t.Fatalf("member replies with an image: %v", err)
	}
	eventuallyWithin(t, 90*time.Second, "the image and its alt text are in the home timeline", func() error {
		st, err := j.homeShows(text)
		if err != nil {
			return err
		}
		if len(st.Media) != 1 || st.Media[0].Description != "A loaf "+alt || st.Media[0].Type != "image" {
			return fmt.Errorf("the status shows attachments %+v", st.Media)
		}
		return nil
	})
}

// A GoToSocial user's reply with an image shows in the thread with its
// alt text, linked from GoToSocial without a referrer.
func TestGoToSocialImageShowsInThread(t *testing.T) {
	j := begin(t, env.plain, "replier")
	id, first := j.thread("Crumb shots "+word("t"), "Post your crumb.")
	st := j.resolveStatus(j.node.postURL(first))
	alt := word("fedi-alt")
	md, err := j.fedi.Upload(j.ctx, "crumb.png", testPNG(), "A crumb "+alt)
	if err != nil {
		t.Fatal(err)
	}
	reply := replyTo(st, "Mine: "+word("fedi-img"))
	reply.MediaIDs = []string{md.ID}
	if _, err := j.fedi.Post(j.ctx, reply); err != nil {
		t.Fatal(err)
	}
	eventuallyWithin(t, 90*time.Second, "the image shows in the thread", func() error {
		p := j.page("/t/" + id)
		_, img, ok := strings.Cut(p.Body, `alt="A crumb `+alt+`"`)
		if !ok {
			return fmt.Errorf("the thread shows no image described %q", "A crumb "+alt)
		}
		if tag, _, _ := strings.Cut(img, ">"); !strings.Contains(tag, `referrerpolicy="no-referrer"`) {
			return fmt.Errorf("the remote image is linked with a referrer: %s", tag)
		}
		return nil
	})
}
