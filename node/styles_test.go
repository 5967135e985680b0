package node_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/storage"
)

// Servers as they really behave (fedtest's styles) meeting a real node:
// someone the node has never heard of follows a thread, gets its new
// posts, likes one and replies, each as real software would send it.

func TestFirstContactMastodon(t *testing.T) { testFirstContact(t, fedtest.Mastodon) }

func TestFirstContactGoToSocial(t *testing.T) { testFirstContact(t, fedtest.GoToSocial) }

func TestFirstContactLemmy(t *testing.T) { testFirstContact(t, fedtest.Lemmy) }

func testFirstContact(t *testing.T, style fedtest.Style) {
	t.Parallel()
	ctx := context.Background()
	a := startNode(t)
	remote := fedtest.New(t, style)
	fan := remote.Actor("fan")
	alice := a.register("alice")
	thread := alice.newThread("Crumb structure", "Open or tight?")
	threadActor := a.URLs.Thread(thread)
	first := a.URLs.Post(mustThread(t, a, thread).firstPost())
	// Servers deliver to the shared inbox a node advertises; GoToSocial
	// did in testdata/gotosocial.
	inbox := a.URLs.SharedInbox()
	post := func(what string, act map[string]any) {
		t.Helper()
		code, body, err := fan.Post(ctx, inbox, act)
		if err != nil || code != http.StatusAccepted {
			t.Fatalf("%s: %d %v %s", what, code, err, body)
		}
	}

	follow := fan.Follow(threadActor)
	post("Follow", follow)
	accept := remote.AwaitType(t, waitLong, "", "Accept", 1)[0]
	if accept.Signer != threadActor || fedtest.ObjectID(accept.Activity) != follow["id"] {
		t.Fatalf("Accept by %s of %v, want the thread's of the Follow", accept.Signer, accept.Activity["object"])
	}
	if want := fan.SharedInbox(); want == "" && accept.Inbox != fan.InboxPath() {
		t.Errorf("Accept went to %s, want the follower's own inbox", accept.Inbox)
	}

	reply := alice.reply(thread, "Tight, for sandwiches.")
	an := remote.AwaitType(t, waitLong, "", "Announce", 1)[0]
	if an.Signer != threadActor || an.ObjectID() != a.URLs.Post(reply) {
		t.Errorf("Announce by %s of %s, want the thread's of alice's reply", an.Signer, an.ObjectID())
	}

	post("Like", fan.Like(first, a.URLs.Member("alice")))
	waitFor(t, "the like", waitLong, func() bool {
		p, err := a.Store.PostByID(ctx, mustThread(t, a, thread).firstPost())
		return err == nil && p.LikeCount == 1
	})

	note := fan.Note(first, "Open, always.", fedtest.Mention{ID: threadActor, Handle: "t." + thread.String() + "@" + a.URLs.Host()})
	post("Create", fan.Create(note))
	waitFor(t, "the reply in the thread", waitLong, func() bool {
		p, err := a.Store.PostByAPID(ctx, note["id"].(string))
		return err == nil && p.ThreadID == thread
	})
	if page := alice.get("/t/" + thread.String()); !strings.Contains(page, "Open, always.") {
		t.Error("the thread page does not show the reply")
	}
}

// A member follows a GoToSocial user from the node: the node's signed
// GET passes GoToSocial's check, the Follow reaches the user's own inbox
// (there is no shared one) verified, and once the node has the user's
// key on file, the user's Accept, like and reply are taken.
func TestMemberFollowsGoToSocialUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := startNode(t)
	gts := fedtest.New(t, fedtest.GoToSocial)
	ana := gts.Actor("ana")
	alice := a.register("alice")

	alice.post("/follow-remote", url.Values{"q": {ana.ID}})
	follow := gts.AwaitType(t, waitLong, ana.InboxPath(), "Follow", 1)[0]
	if follow.Signer != a.URLs.Member("alice") || fedtest.ObjectID(follow.Activity) != ana.ID {
		t.Fatalf("Follow by %s of %s", follow.Signer, fedtest.ObjectID(follow.Activity))
	}
	for _, r := range gts.Requests() {
		if r.Method == http.MethodGet && r.Path == "/users/ana" && r.Header.Get("Signature") == "" {
			t.Errorf("the node fetched the actor unsigned")
		}
	}
	accept := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": gts.URL + "/accept/1", "type": "Accept",
		"actor": ana.ID, "object": follow.Activity}
	if code, body, err := ana.Post(ctx, a.URLs.Member("alice")+"/inbox", accept); err != nil || code != http.StatusAccepted {
		t.Fatalf("Accept: %d %v %s", code, err, body)
	}
	waitFor(t, "the follow to be accepted", waitLong, func() bool {
		fs, err := a.Store.RemoteFollowing(ctx, alice.account().ID, 10)
		return err == nil && len(fs) == 1 && fs[0].Accepted
	})

	thread := alice.newThread("Levain", "Stiff or liquid?")
	first := a.URLs.Post(mustThread(t, a, thread).firstPost())
	if code, _, _ := ana.Post(ctx, a.URLs.Member("alice")+"/inbox", ana.Like(first, a.URLs.Member("alice"))); code != http.StatusAccepted {
		t.Fatalf("Like: %d", code)
	}
	note := ana.Note(first, "Stiff, at 50%.", fedtest.Mention{ID: a.URLs.Member("alice"), Handle: "alice@" + a.URLs.Host()})
	if code, _, _ := ana.Post(ctx, a.URLs.Member("alice")+"/inbox", ana.Create(note)); code != http.StatusAccepted {
		t.Fatalf("Create: %d", code)
	}
	waitFor(t, "the like and the reply", waitLong, func() bool {
		p, err := a.Store.PostByID(ctx, mustThread(t, a, thread).firstPost())
		r, rerr := a.Store.PostByAPID(ctx, note["id"].(string))
		return err == nil && rerr == nil && p.LikeCount == 1 && r.ThreadID == thread
	})
}

// A node delivers to a GoToSocial follower's own inbox, and GoToSocial's
// check of the node's signature passes.
func TestDeliveryToGoToSocialFollower(t *testing.T) {
	t.Parallel()
	a := startNode(t)
	gts := fedtest.New(t, fedtest.GoToSocial)
	ana := gts.Actor("ana")
	alice := a.register("alice")
	id := ana.ID
	acc, err := a.Store.UpsertRemoteAccount(context.Background(), &storage.Account{Handle: ana.Name, Domain: gts.Host, APID: &id,
		ActorType: "Person", Inbox: ana.Inbox(), PublicKeyID: ana.KeyID(), PublicKeyPEM: ana.PublicKeyPEM()})
	if err != nil {
		t.Fatal(err)
	}
	followID := ana.ID + "/follow/1"
	if _, err := a.Store.AddFollow(context.Background(), acc.ID, storage.FollowAccount, alice.account().ID, &followID, true); err != nil {
		t.Fatal(err)
	}
	alice.newThread("Scoring", "One slash.")
	create := gts.AwaitType(t, waitLong, ana.InboxPath(), "Create", 1)[0]
	if create.Signer != a.URLs.Member("alice") {
		t.Errorf("Create signed by %s", create.Signer)
	}
	waitFor(t, "the queue to drain", 10*time.Second, a.drained)
	if refused := len(gts.Deliveries()) - len(gts.Received("", "")); refused != 0 {
		t.Errorf("GoToSocial refused %d deliveries", refused)
	}
}

// A member follows a Lemmy community; the community announces what its
// members post (FEP-1b12), and the node keeps a topic and its replies as
// one mirror thread, fetching each note from its author's server.
func TestLemmyCommunityAnnouncesIntoMirror(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := startNode(t)
	lemmy := fedtest.New(t, fedtest.Lemmy)
	group, ana, ben := lemmy.Group("sourdough"), lemmy.Actor("ana"), lemmy.Actor("ben")
	alice := a.register("alice")
	aliceInbox := a.URLs.Member("alice") + "/inbox"

	alice.post("/follow-remote", url.Values{"q": {group.ID}})
	follow := lemmy.AwaitType(t, waitLong, "", "Follow", 1)[0]
	if follow.Signer != a.URLs.Member("alice") || fedtest.ObjectID(follow.Activity) != group.ID {
		t.Fatalf("Follow by %s of %s", follow.Signer, fedtest.ObjectID(follow.Activity))
	}
	accept := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": group.ID + "/accept/1", "type": "Accept",
		"actor": group.ID, "object": follow.Activity}
	if code, body, err := group.Post(ctx, aliceInbox, accept); err != nil || code != http.StatusAccepted {
		t.Fatalf("Accept: %d %v %s", code, err, body)
	}
	waitFor(t, "the follow to be accepted", waitLong, func() bool {
		fs, err := a.Store.RemoteFollowing(ctx, alice.account().ID, 10)
		return err == nil && len(fs) == 1 && fs[0].Accepted
	})

	topic := ana.Note("", "Show us your starter.")
	if code, body, err := group.Announce(ctx, aliceInbox, ana.Create(topic)); err != nil || code != http.StatusAccepted {
		t.Fatalf("Announce of the topic: %d %v %s", code, err, body)
	}
	var mirror storage.ID
	waitFor(t, "the topic's mirror thread", waitLong, func() bool {
		p, err := a.Store.PostByAPID(ctx, topic["id"].(string))
		if err == nil {
			mirror = p.ThreadID
		}
		return err == nil
	})
	reply := ben.Note(topic["id"].(string), "Mine is a rye one.")
	if code, _, _ := group.Announce(ctx, aliceInbox, ben.Create(reply)); code != http.StatusAccepted {
		t.Fatalf("Announce of the reply: %d", code)
	}
	waitFor(t, "the reply in the same mirror", waitLong, func() bool {
		p, err := a.Store.PostByAPID(ctx, reply["id"].(string))
		return err == nil && p.ThreadID == mirror
	})
	if page := alice.get("/t/" + mirror.String()); !strings.Contains(page, "Show us your starter.") || !strings.Contains(page, "Mine is a rye one.") {
		t.Error("the mirror page does not show the topic and the reply")
	}
}

// A forum peer that files each post under one group, as NodeBB files a
// topic under a category, files a member's posts under the forum, not the
// thread: the Notes the forum announces to it (a new thread's first post,
// then each Create, FEP-1b12) name the forum as their audience and
// address it before any other group.
func TestGroupPeerFilesPostsUnderTheForum(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := startNode(t)
	forum, alice := a.URLs.Forum("general"), a.register("alice")
	peer := fedtest.New(t, fedtest.Lemmy)
	category := peer.Group("bread")
	if code, body, err := category.Post(ctx, a.URLs.SharedInbox(), category.Follow(forum)); err != nil || code != http.StatusAccepted {
		t.Fatalf("Follow of the forum: %d %v %s", code, err, body)
	}
	peer.AwaitType(t, waitLong, "", "Accept", 1)
	// The first post reaches the peer as it reaches any forum follower;
	// the node learns from the peer's NodeInfo meanwhile that it is group
	// software, which then gets each post's Create announced.
	thread := alice.newThread("Rye ratios", "How much rye is too much?")
	waitFor(t, "the node to know the peer's software", waitLong, func() bool {
		sw, err := a.Store.DomainSoftware(ctx, peer.Host)
		return err == nil && sw != ""
	})
	alice.reply(thread, "Past 40% it gets gummy.")
	for _, d := range peer.AwaitType(t, waitLong, "", "Announce", 2) {
		note := object(d.Activity)
		if note["type"] == "Create" {
			note = object(note)
		}
		if note["audience"] != forum {
			t.Errorf("Note %v: audience %v, want the forum", note["id"], note["audience"])
		}
		filed, err := category.FiledUnder(ctx, note)
		if err != nil {
			t.Fatal(err)
		}
		if filed != forum {
			t.Errorf("Note %v (to %v, cc %v) is filed under %q, want the forum", note["id"], note["to"], note["cc"], filed)
		}
	}
}
