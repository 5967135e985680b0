package node_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/storage"
)

// Multi-node tests of delivery: real nodes and fake remote
// servers on loopback, real signatures, real SQLite files. The tests of
// the outbound half seed remote follows as the inbox would record them;
// the round trips between two nodes need the inbox too and skip until it
// is there.

const waitLong = 15 * time.Second

// Fan-out by follow kind: forum followers get new threads' first posts only;
// member followers get everything the member posts.
func TestForumFollowersGetFirstPostsMemberFollowersEverything(t *testing.T) {
	a := startNode(t)
	remote := newFakeRemote(t, false)
	forumFan, memberFan := remote.actor("forumfan"), remote.actor("memberfan")
	alice, bob := a.register("alice"), a.register("bob")
	a.remoteFollow(forumFan, storage.FollowForum, a.forumID())
	a.remoteFollow(memberFan, storage.FollowAccount, alice.account().ID)

	thread := alice.newThread("Proofing baskets", "Cane or linen?")
	bob.reply(thread, "Linen, always.")
	aliceReply := alice.reply(thread, "Thanks, linen it is.")
	bobThread := bob.newThread("Scoring patterns", "Show your ears.")

	firstNote := a.URLs.Post(mustThread(t, a, thread).firstPost())
	waitFor(t, "the member follower to get both of alice's posts", waitLong, func() bool {
		return len(memberFan.received("Create")) == 2
	})
	waitFor(t, "the forum follower to get both new threads", waitLong, func() bool {
		return len(forumFan.received("Announce")) == 2
	})
	waitFor(t, "the queue to drain", waitLong, a.drained)

	creates := memberFan.received("Create")
	if objectID(creates[0]) != firstNote || objectID(creates[1]) != a.URLs.Post(aliceReply) {
		t.Errorf("member follower got Creates of %s and %s, want alice's first post and reply", objectID(creates[0]), objectID(creates[1]))
	}
	for _, c := range creates {
		if c["actor"] != a.URLs.Member("alice") || object(c)["attributedTo"] != a.URLs.Member("alice") {
			t.Errorf("Create by %v of a Note by %v", c["actor"], object(c)["attributedTo"])
		}
	}
	if n := len(memberFan.received("")); n != 2 {
		t.Errorf("member follower got %d activities, want 2 (nothing of bob's)", n)
	}
	announces := forumFan.received("Announce")
	if len(forumFan.received("")) != 2 {
		t.Errorf("forum follower got %d activities, want the 2 first posts only", len(forumFan.received("")))
	}
	wantFirst := map[string]bool{firstNote: true, a.URLs.Post(mustThread(t, a, bobThread).firstPost()): true}
	for _, an := range announces {
		if !wantFirst[objectID(an)] || an["actor"] != a.URLs.Forum("general") {
			t.Errorf("forum follower got Announce of %s by %v", objectID(an), an["actor"])
		}
		// Never Announce(Create): Mastodon does not show it.
		if o := object(an); o == nil || o["type"] != "Note" {
			t.Errorf("forum Announce object is %v, want an embedded Note", an["object"])
		}
	}
}

// The outbound half of [TestLikeUpdateDeleteRoundTrip]: a member's edit and deletion
// reach the member's followers, and a like of a remote post (and its
// undo) reaches the post's author.
func TestUpdateDeleteAndLikeAreDelivered(t *testing.T) {
	a := startNode(t)
	remote := newFakeRemote(t, true) // a shared inbox: one POST per server
	fan, author := remote.actor("fan"), remote.actor("carol")
	alice := a.register("alice")
	a.remoteFollow(fan, storage.FollowAccount, alice.account().ID)
	carol := a.knowRemote(author)

	thread := alice.newThread("Crumb shots", "Open crumb or bust.")
	reply := alice.reply(thread, "First try.")
	alice.post("/p/"+reply.String()+"/edit", url.Values{"body": {"First try, edited."}})
	// An edit or a creation still waiting when its post is deleted is
	// not sent at all (the Delete is), so let the Update go first.
	waitFor(t, "the Update", waitLong, func() bool { return len(remote.received("/inbox", "Update")) == 1 })
	alice.post("/p/"+reply.String()+"/delete", nil)

	// A remote reply in alice's thread, as the inbox would store it.
	noteID := author.ID + "/statuses/1"
	remotePost, err := a.Store.CreatePost(context.Background(), storage.NewPost{ThreadID: thread, AuthorID: carol.ID,
		Source: "", HTML: "<p>Nice ears.</p>", APID: &noteID, URL: noteID})
	if err != nil {
		t.Fatal(err)
	}
	alice.post("/p/"+remotePost.ID.String()+"/like", nil)
	alice.post("/p/"+remotePost.ID.String()+"/like", nil) // unlike

	waitFor(t, "everything to be delivered", waitLong, func() bool {
		return len(remote.received("/inbox", "Undo")) == 1 && a.drained()
	})
	updates := remote.received("/inbox", "Update")
	if len(updates) != 1 || objectID(updates[0]) != a.URLs.Post(reply) ||
		!strings.Contains(object(updates[0])["content"].(string), "edited") {
		t.Fatalf("updates = %v", updates)
	}
	deletes := remote.received("/inbox", "Delete")
	if len(deletes) != 1 || objectID(deletes[0]) != a.URLs.Post(reply) || object(deletes[0])["type"] != "Tombstone" {
		t.Fatalf("deletes = %v", deletes)
	}
	likes := remote.received("/inbox", "Like")
	if len(likes) != 1 || objectID(likes[0]) != noteID || likes[0]["actor"] != a.URLs.Member("alice") {
		t.Fatalf("likes = %v", likes)
	}
	undo := remote.received("/inbox", "Undo")[0]
	if inner := object(undo); inner == nil || inner["id"] != likes[0]["id"] || inner["type"] != "Like" {
		t.Fatalf("Undo embeds %v, want the Like %v", undo["object"], likes[0]["id"])
	}
	if a.remoteFollowers(storage.FollowAccount, alice.account().ID) != 1 {
		t.Fatal("the follower is gone")
	}
}

// The outbound half of [TestUndoFollowStopsDelivery]: a member follows a remote actor
// (a signed Follow) and unfollows it (Undo{Follow} of the same Follow).
func TestFollowRemoteAndUndo(t *testing.T) {
	a := startNode(t)
	remote := newFakeRemote(t, false)
	group := remote.actor("bakers")
	alice := a.register("alice")

	alice.post("/follow-remote", url.Values{"q": {group.ID}})
	waitFor(t, "the Follow", waitLong, func() bool { return len(group.received("Follow")) == 1 })
	follow := group.received("Follow")[0]
	if follow["actor"] != a.URLs.Member("alice") || follow["object"] != group.ID {
		t.Fatalf("Follow = %v", follow)
	}
	acc, err := a.Store.AccountByAPID(context.Background(), group.ID)
	if err != nil {
		t.Fatal(err)
	}
	if page := alice.get("/follow-remote"); !strings.Contains(page, "@bakers@"+remote.host) || !strings.Contains(page, "Waiting for approval") {
		t.Errorf("the follow page does not list the pending follow")
	}

	alice.post("/follow-remote/undo", url.Values{"id": {acc.ID.String()}})
	waitFor(t, "the Undo", waitLong, func() bool { return len(group.received("Undo")) == 1 })
	undo := group.received("Undo")[0]
	if inner := object(undo); inner == nil || inner["id"] != follow["id"] || inner["type"] != "Follow" {
		t.Fatalf("Undo embeds %v, want the Follow %v", undo["object"], follow["id"])
	}
	if _, err := a.Store.FollowOf(context.Background(), alice.account().ID, storage.FollowAccount, acc.ID); err == nil {
		t.Fatal("the follow is still recorded")
	}
}

// Retry per host: a host that fails with 500 for a while gets
// everything once it recovers, while another host gets everything
// meanwhile.
func TestFailingHostRecoversOthersUnaffected(t *testing.T) {
	a := startNode(t)
	down, up := newFakeRemote(t, false), newFakeRemote(t, false)
	downFan, upFan := down.actor("patient"), up.actor("prompt")
	alice := a.register("alice")
	a.remoteFollow(downFan, storage.FollowAccount, alice.account().ID)
	a.remoteFollow(upFan, storage.FollowAccount, alice.account().ID)
	// The failing host answers 500 at least three times, and until the
	// healthy one has everything: what the healthy host gets, it gets
	// while the other is failing.
	down.Respond(fedtest.Status(func(n int) int {
		if n <= 3 || len(upFan.received("Create")) < 3 {
			return 500
		}
		return 202
	}))

	threads := []storage.ID{alice.newThread("One", "a"), alice.newThread("Two", "b"), alice.newThread("Three", "c")}
	waitFor(t, "the healthy host to get all three", waitLong, func() bool { return len(upFan.received("Create")) == 3 })
	waitFor(t, "the failing host to recover and get all three", waitLong, func() bool { return len(downFan.received("Create")) == 3 })
	got := map[string]bool{}
	for _, c := range downFan.received("Create") {
		got[objectID(c)] = true
	}
	for _, id := range threads {
		if !got[a.URLs.Post(mustThread(t, a, id).firstPost())] {
			t.Errorf("the recovered host misses thread %s", id)
		}
	}
	failed := len(down.Deliveries()) - len(down.Received("", ""))
	if failed < 3 {
		t.Errorf("the failing host refused %d POSTs, want at least 3", failed)
	}
}

// Following a remote thread: a member of node B follows a thread on node A; a post
// on A arrives at B; B's member replies and the reply appears in A's
// thread page and collection.
func TestFollowThreadAcrossNodes(t *testing.T) {
	a, b := startNode(t), startNode(t)
	alice, bob := a.register("alice"), b.register("bob")
	thread := alice.newThread("Levain ratios", "1:5:5 or 1:2:2?")
	threadActor := a.URLs.Thread(thread)

	bob.post("/follow-remote", url.Values{"q": {threadActor}})
	var remoteThread *storage.Account
	waitFor(t, "A to accept bob's follow", waitLong, func() bool {
		acc, err := b.Store.AccountByAPID(context.Background(), threadActor)
		if err != nil {
			return false
		}
		f, err := b.Store.FollowOf(context.Background(), bob.account().ID, storage.FollowAccount, acc.ID)
		remoteThread = acc
		return err == nil && f.Accepted
	})

	alice.reply(thread, "I go 1:5:5 in summer.")
	mirror := b.waitMirror("alice's post to reach B's mirror", bob.account().ID, func(mirror storage.ID) bool {
		return strings.Contains(bob.get("/t/"+mirror.String()), "1:5:5 in summer")
	})
	if page := bob.get("/t/" + mirror.String()); !strings.Contains(page, "@alice@"+a.URLs.Host()) {
		t.Errorf("the mirror does not show alice as @alice@%s", a.URLs.Host())
	}
	_ = remoteThread

	bob.reply(mirror, "Same here, 1:2:2 in winter.")
	waitFor(t, "bob's reply in A's thread page", waitLong, func() bool {
		return strings.Contains(alice.get("/t/"+thread.String()), "1:2:2 in winter")
	})
	// The collection lists a remote post by its own id: find the one
	// A stored for bob's reply.
	posts, err := a.Store.PostsInRange(context.Background(), thread, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	var bobsNote string
	for _, p := range posts {
		if p.Author != nil && p.Author.Handle == "bob" && p.APID != nil {
			bobsNote = *p.APID
		}
	}
	if bobsNote == "" || !strings.HasPrefix(bobsNote, b.URLs.Base()+"/p/") {
		t.Fatalf("A stored bob's reply with id %q, want one on %s", bobsNote, b.URLs.Base())
	}
	if page := getAP(t, threadActor+"/posts?page=true&from=1"); !strings.Contains(page, bobsNote) {
		t.Fatalf("A's thread collection does not list %s:\n%s", bobsNote, page)
	}
}

// Like, Update and Delete round-trip between nodes.
func TestLikeUpdateDeleteRoundTrip(t *testing.T) {
	a, b := startNode(t), startNode(t)
	alice, bob := a.register("alice"), b.register("bob")
	thread := alice.newThread("Hydration", "75% to start?")
	bob.post("/follow-remote", url.Values{"q": {a.URLs.Thread(thread)}})
	b.waitFollowAccepted("the follow to be accepted", bob.account().ID)
	aliceReply := alice.reply(thread, "Then raise it by 5% a week.")
	var mirrorPost *storage.Post
	waitFor(t, "alice's reply at B", waitLong, func() bool {
		p, err := b.Store.PostByAPID(context.Background(), a.URLs.Post(aliceReply))
		mirrorPost = p
		return err == nil
	})
	bobReply := bob.reply(mirrorPost.ThreadID, "Raising it now.")
	var atA *storage.Post
	waitFor(t, "bob's reply at A", waitLong, func() bool {
		p, err := a.Store.PostByAPID(context.Background(), b.URLs.Post(bobReply))
		atA = p
		return err == nil
	})

	bob.post("/p/"+mirrorPost.ID.String()+"/like", nil)
	waitFor(t, "bob's like at A", waitLong, func() bool {
		p, err := a.Store.PostByID(context.Background(), aliceReply)
		return err == nil && p.LikeCount == 1
	})
	bob.post("/p/"+bobReply.String()+"/edit", url.Values{"body": {"Raised it to 80%."}})
	waitFor(t, "bob's edit at A", waitLong, func() bool {
		p, err := a.Store.PostByID(context.Background(), atA.ID)
		return err == nil && strings.Contains(p.HTML, "80%")
	})
	alice.post("/p/"+aliceReply.String()+"/edit", url.Values{"body": {"Then raise it by 2% a week."}})
	waitFor(t, "alice's edit at B", waitLong, func() bool {
		p, err := b.Store.PostByID(context.Background(), mirrorPost.ID)
		return err == nil && strings.Contains(p.HTML, "2% a week")
	})
	bob.post("/p/"+mirrorPost.ID.String()+"/like", nil) // unlike
	waitFor(t, "bob's unlike at A", waitLong, func() bool {
		p, err := a.Store.PostByID(context.Background(), aliceReply)
		return err == nil && p.LikeCount == 0
	})
	bob.post("/p/"+bobReply.String()+"/delete", nil)
	waitFor(t, "bob's deletion at A", waitLong, func() bool {
		p, err := a.Store.PostByID(context.Background(), atA.ID)
		return err == nil && p.IsDeleted()
	})
	alice.post("/p/"+aliceReply.String()+"/delete", nil)
	waitFor(t, "alice's deletion at B", waitLong, func() bool {
		p, err := b.Store.PostByID(context.Background(), mirrorPost.ID)
		return err == nil && p.IsDeleted()
	})
}

// Undo{Follow} stops delivery.
func TestUndoFollowStopsDelivery(t *testing.T) {
	a := startNode(t)
	remote := newFakeRemote(t, false)
	fan := remote.actor("fan")
	alice := a.register("alice")
	thread := alice.newThread("Banneton care", "Rice flour.")
	threadActor := a.URLs.Thread(thread)
	followID := fan.ID + "#follows/1"
	fan.send(t, threadActor+"/inbox", map[string]any{"id": followID, "type": "Follow", "object": threadActor})
	waitFor(t, "the Accept", waitLong, func() bool { return len(fan.received("Accept")) == 1 })

	alice.reply(thread, "And a brush.")
	waitFor(t, "the Announce of the reply", waitLong, func() bool { return len(fan.received("Announce")) == 1 })

	fan.send(t, threadActor+"/inbox", map[string]any{"id": fan.ID + "#undo/1", "type": "Undo",
		"object": map[string]any{"id": followID, "type": "Follow", "actor": fan.ID, "object": threadActor}})
	waitFor(t, "the follow to be removed", waitLong, func() bool {
		return a.remoteFollowers(storage.FollowThread, thread) == 0
	})
	alice.reply(thread, "Never wash it.")
	waitFor(t, "the queue to drain", waitLong, a.drained)
	if n := len(fan.received("Announce")); n != 1 {
		t.Fatalf("after Undo{Follow} the former follower got %d Announces, want still 1", n)
	}
}

// threadRow is a thread read back from a node.
type threadRow struct {
	t *storage.Thread
}

func mustThread(t testing.TB, n *testNode, id storage.ID) threadRow {
	t.Helper()
	th, err := n.Store.ThreadByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return threadRow{th}
}

func (r threadRow) firstPost() storage.ID { return *r.t.FirstPostID }

// remoteFollowers counts the accepted follows of a target by remote
// actors, suspended ones too (a fan-out leaves those out).
func (n *testNode) remoteFollowers(kind string, id storage.ID) int {
	n.t.Helper()
	var c int
	if err := n.Store.DB().NewRaw(`SELECT count(*) FROM follows AS f JOIN accounts AS a ON a.id = f.follower_id
		WHERE f.target_kind = ? AND f.target_id = ? AND f.accepted = ? AND a.domain <> ''`, kind, id, true).Scan(context.Background(), &c); err != nil {
		n.t.Fatal(err)
	}
	return c
}

// knowRemote stores a remote actor, as a fetch or an inbox would have.
func (n *testNode) knowRemote(actor *fakeActor) *storage.Account {
	n.t.Helper()
	return storeActor(n.t, n.Store, actor)
}

// getAP fetches an ActivityPub document unsigned and returns its body.
func getAP(t testing.TB, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
