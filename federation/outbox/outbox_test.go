package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/federation/outbox"
	"github.com/skein-forum/skein/storage"
)

// activitiesOf processes one pending event of the given kind and returns
// its activities decoded, keyed by type and actor.
func activitiesOf(t *testing.T, w *outbox.Worker, s *storage.Store, kind string) map[string]storage.NewActivity {
	t.Helper()
	ctx := context.Background()
	events, err := s.PendingEvents(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]storage.NewActivity{}
	for _, ev := range events {
		acts, err := w.Activities(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteEvent(ctx, ev.ID, acts); err != nil {
			t.Fatal(err)
		}
		if ev.Kind != kind {
			continue
		}
		for _, a := range acts {
			var m map[string]any
			if err := json.Unmarshal(a.Body, &m); err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprint(m["type"], " ", a.ActorID)] = a
		}
	}
	return out
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// FEP-1b12 peers among a forum's followers get Announce{Create{Note}} of
// every post; a remote reply is announced by its thread; replies to a
// remote author reach that author.
func TestOutboxAudiences(t *testing.T) {
	ctx := context.Background()
	n := testnode.New(t, nil)
	w := &outbox.Worker{Fed: n.Fed}
	fx := n.Fx
	activitiesOf(t, w, n.Store, "") // the fixtures' own events

	lemmy := n.AddRemoteAccount("lemmyuser", "lemmy.example")
	if err := n.Store.SetDomainSoftware(ctx, "lemmy.example", "lemmy"); err != nil {
		t.Fatal(err)
	}
	masto := n.AddRemoteAccount("mastouser", "masto.example")
	for _, a := range []*storage.Account{lemmy, masto} {
		if _, err := n.Store.AddFollow(ctx, a.ID, storage.FollowForum, fx.Forum.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Store.AddFollow(ctx, a.ID, storage.FollowThread, fx.Thread.ID, nil, true); err != nil {
			t.Fatal(err)
		}
	}

	// A remote reply, as the inbox stores it: the thread boosts it by id.
	noteID := "https://masto.example/users/mastouser/statuses/9"
	remote, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: masto.ID, HTML: "<p>Hi</p>", APID: &noteID})
	if err != nil {
		t.Fatal(err)
	}
	acts := activitiesOf(t, w, n.Store, storage.EventPostCreate)
	boost, ok := acts["Announce "+n.URLs.Thread(fx.Thread.ID)]
	if !ok || decode(t, boost.Body)["object"] != noteID {
		t.Fatalf("remote reply: activities %v", keys(acts))
	}
	if len(boost.Inboxes) != 1 || boost.Inboxes[0].FollowerID != lemmy.ID {
		t.Errorf("the thread boosts a reply to its author: %+v", boost.Inboxes)
	}

	// Bob answers the remote author.
	_, err = n.Store.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "Hello @mastouser@masto.example",
		HTML: "<p>Hello</p>", ReplyToID: &remote.ID})
	if err != nil {
		t.Fatal(err)
	}
	acts = activitiesOf(t, w, n.Store, storage.EventPostCreate)
	create := acts["Create "+n.URLs.Member("bob")]
	if len(create.Inboxes) == 0 || create.Inboxes[0].Inbox != *masto.APID+"/inbox" {
		t.Fatalf("Create goes to %+v, want the replied-to author", create.Inboxes)
	}
	note := decode(t, create.Body)["object"].(map[string]any)
	if note["inReplyTo"] != noteID {
		t.Errorf("inReplyTo = %v", note["inReplyTo"])
	}
	if tags, _ := json.Marshal(note["tag"]); !strings.Contains(string(tags), *masto.APID) {
		t.Errorf("the mention is not tagged: %s", tags)
	}
	group := acts["Announce "+n.URLs.Forum(fx.Forum.Slug)]
	inner, _ := decode(t, group.Body)["object"].(map[string]any)
	if inner == nil || inner["type"] != "Create" || len(group.Inboxes) != 1 || group.Inboxes[0].FollowerID != lemmy.ID {
		t.Fatalf("FEP-1b12: group Announce %s to %+v", group.Body, group.Inboxes)
	}
	if _, ok := inner["@context"]; ok {
		t.Error("the announced activity carries its own @context")
	}
	if len(acts) != 3 {
		t.Errorf("a reply makes %v; want Create, the thread's Announce and the group Announce", keys(acts))
	}
}

// A member's reply in a mirror thread goes to the remote thread's owner,
// pointing at the remote thread.
func TestOutboxMirrorReply(t *testing.T) {
	ctx := context.Background()
	n := testnode.New(t, nil)
	w := &outbox.Worker{Fed: n.Fed}
	activitiesOf(t, w, n.Store, "")
	owner := n.AddRemoteAccount("t.abc", "forum.example")
	author := n.AddRemoteAccount("zed", "forum.example")
	firstID := "https://forum.example/p/1"
	mirror, err := n.Store.MirrorThread(ctx, storage.NewMirror{APID: "https://forum.example/t/abc", RemoteActorID: &owner.ID,
		Title: "Remote", First: storage.NewPost{AuthorID: author.ID, HTML: "<p>Remote first</p>", APID: &firstID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: mirror.ID, AuthorID: n.Fx.Alice.ID, Source: "Reply", HTML: "<p>Reply</p>"}); err != nil {
		t.Fatal(err)
	}
	acts := activitiesOf(t, w, n.Store, storage.EventPostCreate)
	if len(acts) != 1 {
		t.Fatalf("a mirror reply makes %v, want one Create", keys(acts))
	}
	create := acts["Create "+n.URLs.Member("alice")]
	if len(create.Inboxes) != 2 {
		t.Errorf("recipients %+v, want the thread's owner and the replied-to author", create.Inboxes)
	}
	note := decode(t, create.Body)["object"].(map[string]any)
	if note["inReplyTo"] != firstID || note["context"] != "https://forum.example/t/abc" || note["audience"] != *owner.APID {
		t.Errorf("mirror Note: inReplyTo %v, context %v, audience %v", note["inReplyTo"], note["context"], note["audience"])
	}
	if _, ok := note["name"]; ok {
		t.Error("a reply carries a title")
	}
}

func keys(m map[string]storage.NewActivity) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// One pass over many events loads their posts, threads and followers
// together: each event must still send what it sent alone. Remote
// replies in a remotely followed thread are announced by it; those in a
// thread whose only remote follower left after they were stored send
// nothing; a member's post in the same pass goes out as before.
func TestPassSendsWhatEachEventSends(t *testing.T) {
	ctx := context.Background()
	n := testnode.New(t, nil)
	w := &outbox.Worker{Fed: n.Fed}
	followed := n.Fx.Thread
	quiet, _, err := n.Store.CreateThread(ctx, storage.NewThread{ForumID: n.Fx.Forum.ID, AuthorID: n.Fx.Alice.ID,
		Title: "Nobody follows this", Source: "Opening", HTML: "<p>Opening</p>"})
	if err != nil {
		t.Fatal(err)
	}
	masto := n.AddRemoteAccount("mastouser", "masto.example")
	if _, err := n.Store.AddFollow(ctx, masto.ID, storage.FollowThread, followed.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	// Followed when the replies are stored, so that their events are
	// written (storage writes none for a remote reply nobody remote
	// follows), and left before the pass reads them.
	leaver := n.AddRemoteAccount("leaver", "gone.example")
	if _, err := n.Store.AddFollow(ctx, leaver.ID, storage.FollowThread, quiet.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	zed := n.AddRemoteAccount("zed", "bread.example")
	for { // the fixtures' and the new thread's events
		if k, err := w.ProcessPending(ctx); err != nil || k == 0 {
			break
		}
	}
	var nps []storage.NewPost
	for i := range 6 {
		apid := fmt.Sprintf("https://bread.example/users/zed/statuses/%d", i)
		th := followed.ID
		if i%2 == 1 {
			th = quiet.ID
		}
		nps = append(nps, storage.NewPost{ThreadID: th, AuthorID: zed.ID, APID: &apid, Source: "Reply", HTML: "<p>Reply</p>"})
	}
	nps = append(nps, storage.NewPost{ThreadID: quiet.ID, AuthorID: n.Fx.Bob.ID, Source: "Mine", HTML: "<p>Mine</p>"})
	if _, err := n.Store.CreatePosts(ctx, nps); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store.RemoveFollow(ctx, leaver.ID, storage.FollowThread, quiet.ID); err != nil {
		t.Fatal(err)
	}
	announcesOf := "SELECT count(*) FROM activities WHERE actor_id = ? AND ap_id LIKE '%#announce-%'"
	before := testnode.Count(t, n.Store, announcesOf, n.URLs.Thread(followed.ID))
	sentBy := "SELECT count(*) FROM activities WHERE actor_id = ?"
	quietBefore := testnode.Count(t, n.Store, sentBy, n.URLs.Thread(quiet.ID)) // its Accept of the leaver's follow
	if k, err := w.ProcessPending(ctx); err != nil || k != len(nps) {
		t.Fatalf("pass read %d events (%v), want %d", k, err, len(nps))
	}
	announces := -before + testnode.Count(t, n.Store, announcesOf, n.URLs.Thread(followed.ID))
	if announces != 3 {
		t.Errorf("the followed thread announced %d remote replies, want 3", announces)
	}
	if got := testnode.Count(t, n.Store, sentBy, n.URLs.Thread(quiet.ID)) - quietBefore; got != 0 {
		t.Errorf("the unfollowed thread sent %d activities", got)
	}
	if got := testnode.Count(t, n.Store, "SELECT count(*) FROM outbox_events WHERE processed_at IS NULL"); got != 0 {
		t.Errorf("%d events left pending", got)
	}
}

// A thread's followers are reached once per shared inbox, and once each
// where a follower has none: the remote author of the reply is left out
// only where it is alone behind its inbox, suspended followers are left
// out, and a place standing for one follower still names it, so the
// author alone behind it is left out.
func TestThreadAnnounceGoesOncePerSharedInbox(t *testing.T) {
	ctx := context.Background()
	n := testnode.New(t, nil)
	w := &outbox.Worker{Fed: n.Fed}
	activitiesOf(t, w, n.Store, "") // the fixtures' own events
	follow := func(handle, host string, shared bool) *storage.Account {
		id := "https://" + host + "/users/" + handle
		a := &storage.Account{Handle: handle, Domain: host, APID: &id, Inbox: id + "/inbox", PublicKeyID: id + "#main-key", PublicKeyPEM: "-"}
		if shared {
			a.SharedInbox = "https://" + host + "/inbox"
		}
		a, err := n.Store.UpsertRemoteAccount(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.Store.AddFollow(ctx, a.ID, storage.FollowThread, n.Fx.Thread.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		return a
	}
	zed := follow("zed", "bread.example", true)
	follow("ann", "bread.example", true)
	lone := follow("lone", "lone.example", true)
	for _, h := range []string{"amy", "bea", "cat"} {
		follow(h, "many.example", true)
	}
	troll := follow("troll", "troll.example", true)
	if err := n.Store.SuspendAccount(ctx, storage.Operator, troll.ID, true); err != nil {
		t.Fatal(err)
	}
	sol := follow("sol", "solo.example", true)
	p1, p2 := follow("p1", "plain.example", false), follow("p2", "plain.example", false)

	announced := func(author *storage.Account) string {
		t.Helper()
		noteID := *author.APID + "/statuses/1"
		if _, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: n.Fx.Thread.ID, AuthorID: author.ID, HTML: "<p>Hi</p>", APID: &noteID}); err != nil {
			t.Fatal(err)
		}
		var places []string
		for _, r := range activitiesOf(t, w, n.Store, storage.EventPostCreate)["Announce "+n.URLs.Thread(n.Fx.Thread.ID)].Inboxes {
			place := r.Inbox
			if r.SharedInbox != "" {
				place = r.SharedInbox
			}
			places = append(places, fmt.Sprintf("%s %d", place, r.FollowerID))
		}
		return strings.Join(places, ", ")
	}
	if got, want := announced(zed), fmt.Sprintf("https://bread.example/inbox 0, https://lone.example/inbox %d, https://many.example/inbox 0, "+
		"https://solo.example/inbox %d, %s %d, %s %d", lone.ID, sol.ID, p1.Inbox, p1.ID, p2.Inbox, p2.ID); got != want {
		t.Errorf("zed's reply is announced to\n%s\nwant\n%s", got, want)
	}
	if got, want := announced(lone), fmt.Sprintf("https://bread.example/inbox 0, https://many.example/inbox 0, "+
		"https://solo.example/inbox %d, %s %d, %s %d", sol.ID, p1.Inbox, p1.ID, p2.Inbox, p2.ID); got != want {
		t.Errorf("lone's reply is announced to\n%s\nwant\n%s", got, want)
	}
}
