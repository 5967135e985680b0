package node_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/skein-forum/skein/storage"
)

// Starting or replying to a thread follows it, unless the member turned
// that off; a muted thread is unfollowed and posting in it does not
// follow it again; forums can be followed.
func TestWatchingByPostingMutingAndForums(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	alice, bob, cleo := n.register("alice"), n.register("bob"), n.register("cleo")
	follows := func(m *member, thread storage.ID) bool {
		t.Helper()
		_, err := n.Store.FollowOf(ctx, m.account().ID, storage.FollowThread, thread)
		return err == nil
	}

	thread := alice.newThread("Sourdough starters", "Mine is called Bubbles.")
	if !follows(alice, thread) {
		t.Error("starting a thread did not follow it")
	}
	bob.reply(thread, "Mine is Clint Yeastwood.")
	if !follows(bob, thread) {
		t.Error("replying did not follow the thread")
	}
	if page := bob.get("/followed"); !strings.Contains(page, "Sourdough starters") {
		t.Error("/followed does not list the thread followed by replying")
	}

	cleo.post("/settings/watching", url.Values{})
	if cleo.account().AutoWatch {
		t.Fatal("the setting did not turn off")
	}
	cleo.reply(thread, "I keep mine in the fridge.")
	if follows(cleo, thread) {
		t.Error("a reply followed the thread though the member turned that off")
	}

	tp := "/t/" + thread.String()
	bob.post(tp+"/mute", url.Values{"on": {"1"}})
	if follows(bob, thread) {
		t.Error("muting did not unfollow")
	}
	if page := bob.get(tp); !strings.Contains(page, `aria-pressed="true" title="Hear of this thread again">Muted</button>`) {
		t.Error("the thread page does not show it muted")
	}
	bob.reply(thread, "Still here, quietly.")
	if follows(bob, thread) {
		t.Error("posting in a muted thread followed it again")
	}
	bob.post(tp+"/follow", url.Values{"on": {"1"}})
	if !follows(bob, thread) {
		t.Error("following again did not follow")
	}
	if st, _ := n.Store.ThreadReaderState(ctx, bob.account().ID, thread); st.Muted {
		t.Error("following a muted thread left it muted")
	}

	// A forum.
	if page := cleo.get("/f/general"); !strings.Contains(page, ">Follow forum</button>") {
		t.Error("the forum page offers no follow button")
	}
	cleo.post("/f/general/follow", url.Values{"on": {"1"}})
	if _, err := n.Store.FollowOf(ctx, cleo.account().ID, storage.FollowForum, n.forumID()); err != nil {
		t.Fatalf("forum not followed: %v", err)
	}
	if page := cleo.get("/followed"); !strings.Contains(page, `Forums you follow`) || !strings.Contains(page, ">General</bdi></a>") {
		t.Error("/followed does not list the followed forum")
	}
	cleo.post("/f/general/follow", url.Values{"on": {"0"}})
	if _, err := n.Store.FollowOf(ctx, cleo.account().ID, storage.FollowForum, n.forumID()); err == nil {
		t.Error("forum still followed")
	}
	guest := n.visitor()
	if r := guest.post("/f/general/follow", url.Values{"on": {"1"}}); r.status != http.StatusSeeOther || r.location == "/f/general" {
		t.Errorf("a guest's follow: %d to %q, want a redirect to sign in", r.status, r.location)
	}
}

// The settings page's on/off forms save both ways: a ticked box turns
// its setting on, and a box left unticked (absent from the form) turns it
// off, for following by posting and for mail about registrations.
func TestSettingsTogglesSaveBothWays(t *testing.T) {
	n := startNode(t)
	dora := n.register("dora")
	for _, on := range []bool{false, true, false, true} {
		form := url.Values{}
		if on {
			form = url.Values{"auto_watch": {"on"}, "applications": {"on"}}
		}
		if to := dora.post("/settings/watching", form); to != "/settings?done=watching" {
			t.Fatalf("saving watching sent the member to %q", to)
		}
		dora.post("/settings/mail", form)
		if a := dora.account(); a.AutoWatch != on || a.MailApplications != on {
			t.Fatalf("after saving %v: following by posting %v, mail about registrations %v", on, a.AutoWatch, a.MailApplications)
		}
	}
}
