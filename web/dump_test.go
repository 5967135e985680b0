package web_test

import (
	"os"
	"testing"
)

func TestDump(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	ts := newSite(t)
	b := ts.browser()
	b.signIn("morgan")
	r := b.get("/t/" + ts.FX.Thread.ID.String() + "?quote=" + ts.FX.Posts[1].ID.String())
	os.WriteFile("/tmp/thread.html", []byte(r.Body), 0o644)
	r = ts.browser().get("/t/" + ts.FX.Thread.ID.String())
	os.WriteFile("/tmp/thread-guest.html", []byte(r.Body), 0o644)
	r = ts.browser().get("/f/kitchen")
	os.WriteFile("/tmp/forum.html", []byte(r.Body), 0o644)
	r = ts.browser().get("/")
	os.WriteFile("/tmp/home.html", []byte(r.Body), 0o644)
	r = ts.browser().get("/u/alice")
	os.WriteFile("/tmp/member.html", []byte(r.Body), 0o644)
}
