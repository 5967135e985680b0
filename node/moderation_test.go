package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/node"
	"github.com/skein-forum/skein/storage"
)

// Moderation across servers: reports from members and remote Flags, each
// domain block severity in both directions, a suspended actor, and
// moderators' actions federating. Real nodes and fake remote servers on
// loopback, as in [TestFollowThreadAcrossNodes].

// Reports from a member (the web form) and from a remote Flag land in one
// queue; a Flag delivered twice files nothing new; a report about a
// remote post is forwarded to its server as a Flag whose object is an
// array.
func TestReportsFromMembersAndFlagsAndForwarding(t *testing.T) {
	a := startNode(t)
	remote := newFakeRemote(t, true)
	modActor, carolActor := remote.actor("moderators"), remote.actor("carol")
	alice, bob, admin := a.register("alice"), a.register("bob"), a.register("ada")
	admin.promote(storage.RoleAdmin)
	thread := alice.newThread("Starter smells", "Like nail polish. Normal?")
	reply := alice.reply(thread, "It is hungry: feed it.")
	first := mustThread(t, a, thread).firstPost()

	if code, _ := bob.submit("/p/"+reply.String()+"/report", url.Values{"reason": {"Bad advice"}}); code != http.StatusOK {
		t.Fatalf("report form: status %d", code)
	}
	flag := map[string]any{"id": remote.URL + "/flags/1", "type": "Flag", "content": "Spam, from our users",
		"object": []any{a.URLs.Member("alice"), a.URLs.Post(first)}}
	if code := modActor.send(t, a.URLs.SharedInbox(), flag); code != http.StatusAccepted {
		t.Fatalf("Flag: status %d, want 202", code)
	}
	// Mastodon names only the account when no post is picked.
	accountFlag := map[string]any{"id": remote.URL + "/flags/2", "type": "Flag", "content": "Their profile",
		"object": a.URLs.Member("bob")}
	if code := modActor.send(t, a.URLs.SharedInbox(), accountFlag); code != http.StatusAccepted {
		t.Fatalf("account Flag: status %d", code)
	}
	waitFor(t, "three reports", waitLong, func() bool { return len(a.reports(t)) == 3 })
	// The same Flag again, as a retrying server sends it.
	modActor.send(t, a.URLs.SharedInbox(), map[string]any{"id": remote.URL + "/flags/1", "type": "Flag",
		"content": "Spam, from our users", "object": []any{a.URLs.Member("alice"), a.URLs.Post(first)}})
	waitFor(t, "the inbox to settle", waitLong, a.inboxSettled)

	byReason := map[string]storage.Report{}
	for _, r := range a.reports(t) {
		byReason[r.Reason] = r
	}
	if len(byReason) != 3 {
		t.Fatalf("reports %v, want the member's, the Flag's and the account Flag's, once each", byReason)
	}
	if r := byReason["Bad advice"]; r.Reporter == nil || r.Reporter.Handle != "bob" || r.PostID == nil || *r.PostID != reply {
		t.Errorf("the member's report: %+v", r)
	}
	r := byReason["Spam, from our users"]
	if r.Reporter == nil || r.Reporter.APID == nil || *r.Reporter.APID != modActor.ID || r.PostID == nil || *r.PostID != first ||
		r.RemoteFlagAPID == nil || *r.RemoteFlagAPID != remote.URL+"/flags/1" {
		t.Errorf("the Flag's report: %+v", r)
	}
	if r := byReason["Their profile"]; r.PostID != nil || r.Account == nil || r.Account.Handle != "bob" {
		t.Errorf("the account Flag's report: %+v", r)
	}
	if page := admin.get("/admin/reports"); !strings.Contains(page, "Spam, from our users") || !strings.Contains(page, "Bad advice") {
		t.Error("the reports queue does not show both reports")
	}

	// A remote reply in alice's thread, reported by bob and forwarded.
	carol := a.knowRemote(carolActor)
	noteID := carolActor.ID + "/statuses/9"
	remotePost, err := a.Store.CreatePost(context.Background(), storage.NewPost{ThreadID: thread, AuthorID: carol.ID,
		HTML: "<p>Buy my starter!</p>", APID: &noteID, URL: noteID})
	if err != nil {
		t.Fatal(err)
	}
	bob.submit("/p/"+remotePost.ID.String()+"/report", url.Values{"reason": {"Advertising"}})
	var forwarded storage.ID
	for _, r := range a.reports(t) {
		if r.Reason == "Advertising" {
			forwarded = r.ID
		}
	}
	admin.post("/admin/reports/"+forwarded.String(), url.Values{"action": {"forward"}})
	waitFor(t, "the forwarded Flag", waitLong, func() bool { return len(remote.received("/inbox", "Flag")) == 1 })
	got := remote.received("/inbox", "Flag")[0]
	objects, ok := got["object"].([]any)
	if !ok || len(objects) != 2 || objects[0] != carolActor.ID || objects[1] != noteID {
		t.Errorf("Flag object = %v, want the array [%s %s]", got["object"], carolActor.ID, noteID)
	}
	if got["actor"] != a.URLs.InstanceActor() || got["content"] != "Advertising" {
		t.Errorf("Flag by %v saying %v, want the instance actor saying the reason", got["actor"], got["content"])
	}
}

// A suspends B's domain: B's content on A is purged, B's POSTs to A are
// refused with 403, and nothing of A's reaches B any more.
func TestDomainSuspendRefusesBothWays(t *testing.T) {
	p := newFederatedPair(t)
	a, b := p.a, p.b
	if err := a.Store.BlockDomain(context.Background(), storage.Operator, storage.DomainBlock{Host: b.URLs.Host(),
		Severity: storage.SeveritySuspend, PublicReason: "spam"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if post, err := a.Store.PostByAPID(ctx, b.URLs.Post(p.bobReply)); err != nil || !post.IsDeleted() {
		t.Errorf("bob's reply on A is not purged (err %v)", err)
	}
	if n := a.remoteFollowers(storage.FollowThread, p.thread); n != 0 {
		t.Errorf("A still has %d followers on B", n)
	}
	if code := p.signedPost(t, b, p.bob.account().ID, a.URLs.SharedInbox()); code != http.StatusForbidden {
		t.Errorf("B's POST to A: status %d, want 403", code)
	}

	// B's new reply is refused by A; A's new post does not reach B.
	late := p.bob.reply(p.mirror, "Still here?")
	p.alice.reply(p.thread, "Only for A's own members now.")
	waitFor(t, "both queues to drain", waitLong, func() bool { return a.drained() && b.drained() })
	if _, err := a.Store.PostByAPID(ctx, b.URLs.Post(late)); err == nil {
		t.Error("A took in a reply from the suspended domain")
	}
	if strings.Contains(p.bob.get("/t/"+p.mirror.String()), "Only for A's own members") {
		t.Error("A delivered to the suspended domain")
	}
	if page := p.bob.get("/about/blocks"); page == "" {
		t.Error("no public block list")
	}
}

// The reverse: B suspends A. A's posts in B's mirror go, A's POSTs to B
// are refused, and B delivers nothing to A.
func TestDomainSuspendByTheOtherSide(t *testing.T) {
	p := newFederatedPair(t)
	a, b := p.a, p.b
	if err := b.Store.BlockDomain(context.Background(), storage.Operator, storage.DomainBlock{Host: a.URLs.Host(),
		Severity: storage.SeveritySuspend}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if post, err := b.Store.PostByAPID(ctx, a.URLs.Post(p.aliceReply)); err != nil || !post.IsDeleted() {
		t.Errorf("alice's post on B is not purged (err %v)", err)
	}
	if code := p.signedPost(t, a, p.alice.account().ID, b.URLs.SharedInbox()); code != http.StatusForbidden {
		t.Errorf("A's POST to B: status %d, want 403", code)
	}
	if th, err := b.Store.ThreadByID(ctx, p.mirror); err != nil || th.DeletedAt == nil {
		t.Errorf("B's mirror of alice's thread is not purged (err %v)", err)
	}
	if fs, _ := b.Store.RemoteFollowing(ctx, p.bob.account().ID, 10); len(fs) != 0 {
		t.Errorf("bob still follows %d actors on A", len(fs))
	}
	newer := p.alice.reply(p.thread, "Anyone on B?")
	// bob leaves: B tells every server it knows, except the suspended one.
	p.bob.submit("/settings/delete", url.Values{"password": {testPassword}})
	waitFor(t, "both queues to drain", waitLong, func() bool { return a.drained() && b.drained() })
	if _, err := b.Store.PostByAPID(ctx, a.URLs.Post(newer)); err == nil {
		t.Error("B took in a post from the domain it suspended")
	}
	if n := a.count(t, `SELECT count(*) FROM inbox_bodies WHERE body LIKE '%"type":"Delete"%'`); n != 0 {
		t.Error("B delivered to the domain it suspended")
	}
}

// A silences B's domain: a follow from B waits for approval (no Accept
// until an admin approves it), and threads by B's actors stay out of A's
// forum lists.
func TestDomainSilenceHoldsFollowsAndHidesThreads(t *testing.T) {
	a, b := startNode(t), startNode(t)
	alice, admin, bob := a.register("alice"), a.register("ada"), b.register("bob")
	admin.promote(storage.RoleAdmin)
	thread := alice.newThread("Rye sours", "Do you feed rye?")
	ctx := context.Background()
	if err := a.Store.BlockDomain(ctx, storage.Operator, storage.DomainBlock{Host: b.URLs.Host(), Severity: storage.SeveritySilence}); err != nil {
		t.Fatal(err)
	}

	bob.post("/follow-remote", url.Values{"q": {a.URLs.Thread(thread)}})
	var held *storage.Follow
	waitFor(t, "A to record bob's follow", waitLong, func() bool {
		acc, err := a.Store.AccountByAPID(ctx, b.URLs.Member("bob"))
		if err != nil {
			return false
		}
		held, err = a.Store.FollowOf(ctx, acc.ID, storage.FollowThread, thread)
		return err == nil
	})
	waitFor(t, "A to settle", waitLong, func() bool { return a.inboxSettled() && a.drained() })
	if held.Accepted {
		t.Fatal("a silenced domain's follow was accepted at once")
	}
	if n := a.count(t, `SELECT count(*) FROM activities WHERE body LIKE '%"type":"Accept"%'`); n != 0 {
		t.Fatalf("A queued %d Accepts for a held follow", n)
	}
	if fs, _ := b.Store.RemoteFollowing(ctx, bob.account().ID, 10); len(fs) != 1 || fs[0].Accepted {
		t.Fatalf("bob's follow at B = %+v, want one, pending", fs)
	}
	if page := admin.get("/admin/members"); !strings.Contains(page, "Follow requests") || !strings.Contains(page, "Rye sours") {
		t.Error("the members page does not list the follow request")
	}
	admin.post("/admin/follow-requests/"+held.ID.String(), url.Values{"action": {"approve"}})
	waitFor(t, "B to see the follow accepted", waitLong, func() bool {
		fs, err := b.Store.RemoteFollowing(ctx, bob.account().ID, 10)
		return err == nil && len(fs) == 1 && fs[0].Accepted
	})

	// A thread by one of B's actors (as a Group server would start one
	// here) is readable, but out of the forum list.
	bobAtA, err := a.Store.AccountByAPID(ctx, b.URLs.Member("bob"))
	if err != nil {
		t.Fatal(err)
	}
	silenced, _, err := a.Store.CreateThread(ctx, storage.NewThread{ForumID: a.forumID(), AuthorID: bobAtA.ID,
		Title: "Buy rye from B", HTML: "<p>Cheap.</p>"})
	if err != nil {
		t.Fatal(err)
	}
	if list := alice.get("/f/general"); strings.Contains(list, "Buy rye from B") || !strings.Contains(list, "Rye sours") {
		t.Error("the forum list shows the silenced domain's thread (or hides the local one)")
	}
	if page := alice.get("/t/" + silenced.ID.String()); !strings.Contains(page, "Buy rye from B") {
		t.Error("the silenced thread is not readable at its address")
	}
}

// In allow-list mode a host off the list is refused with 403 and gets
// nothing; once allowed, it federates.
func TestAllowlistMode(t *testing.T) {
	a := startNodeWith(t, func(c *node.Config) { c.Federation = storage.FederationAllowlist })
	remote := newFakeRemote(t, false)
	fan := remote.actor("fan")
	alice := a.register("alice")
	follow := map[string]any{"id": fan.ID + "#follows/1", "type": "Follow", "object": a.URLs.Member("alice")}
	if code := fan.send(t, a.URLs.Member("alice")+"/inbox", follow); code != http.StatusForbidden {
		t.Fatalf("POST from a host off the allow list: status %d, want 403", code)
	}
	// Loopback: the fake's address without its port, since federation
	// checks a host with and without it.
	if err := a.Store.AllowDomain(context.Background(), storage.Operator, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if code := fan.send(t, a.URLs.Member("alice")+"/inbox", follow); code != http.StatusAccepted {
		t.Fatalf("POST from an allowed host: status %d, want 202", code)
	}
	waitFor(t, "the Accept", waitLong, func() bool { return len(fan.received("Accept")) == 1 })
	if err := a.Store.DisallowDomain(context.Background(), storage.Operator, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	alice.newThread("Closed circle", "Members only.")
	waitFor(t, "the queue to drain", waitLong, a.drained)
	if n := len(fan.received("Create")); n != 0 {
		t.Fatalf("a host taken off the allow list got %d Creates", n)
	}
}

// One suspended remote actor: its POSTs are refused with 403 while its
// neighbour's pass, nothing new is delivered to it, and a job queued for
// it before the suspension is dropped unsent.
func TestSuspendedActorRefusedAndNotDeliveredTo(t *testing.T) {
	a := startNode(t)
	remote := newFakeRemote(t, false)
	troll, fan := remote.actor("troll"), remote.actor("fan")
	alice := a.register("alice")
	trollAcc := a.remoteFollow(troll, storage.FollowAccount, alice.account().ID)
	a.remoteFollow(fan, storage.FollowAccount, alice.account().ID)
	ctx := context.Background()
	if err := a.Store.SuspendAccount(ctx, storage.Operator, trollAcc.ID, true); err != nil {
		t.Fatal(err)
	}
	like := func(who *fakeActor, n string) int {
		return who.send(t, a.URLs.SharedInbox(), map[string]any{"id": who.ID + "#likes/" + n, "type": "Like",
			"object": a.URLs.Member("alice")})
	}
	if code := like(troll, "1"); code != http.StatusForbidden {
		t.Errorf("the suspended actor's POST: status %d, want 403", code)
	}
	if code := like(fan, "1"); code != http.StatusAccepted {
		t.Errorf("its neighbour's POST: status %d, want 202", code)
	}

	// Queued before the suspension (as a fan-out built a moment earlier
	// would have): the delivery worker drops it.
	err := a.Store.EnqueueActivities(ctx, []storage.NewActivity{{APID: a.URLs.Member("alice") + "#early", ActorID: a.URLs.Member("alice"),
		KeyOwnerKind: storage.KeyOwnerMember, KeyOwnerID: alice.account().ID,
		Body:    []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"` + a.URLs.Member("alice") + `#early","type":"Update","actor":"` + a.URLs.Member("alice") + `","object":"` + a.URLs.Member("alice") + `"}`),
		Inboxes: []storage.Recipient{{Inbox: troll.Inbox(), FollowerID: trollAcc.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	a.Delivery.Notify()
	alice.newThread("Kind words only", "Please.")
	waitFor(t, "the fan to get the thread", waitLong, func() bool { return len(fan.received("Create")) == 1 })
	waitFor(t, "the queue to drain", waitLong, a.drained)
	if got := troll.received(""); len(got) != 0 {
		t.Fatalf("the suspended actor got %d activities: %v", len(got), got)
	}
}

// Moderators' actions federate: a moderator's deletion of a member's post
// sends its Delete, a move sends NodeBB's Move, a locked thread refuses a
// remote reply, and a member deleting their account sends Delete{Person}.
func TestModeratorActionsFederate(t *testing.T) {
	a := startNode(t)
	remote := newFakeRemote(t, false)
	fan, replier := remote.actor("fan"), remote.actor("replier")
	alice, mod := a.register("alice"), a.register("moira")
	mod.promote(storage.RoleModerator)
	ctx := context.Background()
	second, err := a.Store.CreateForum(ctx, storage.NewForum{Slug: "second", Title: "Second"})
	if err != nil {
		t.Fatal(err)
	}
	thread := alice.newThread("Oven spring", "Steam or no steam?")
	a.remoteFollow(fan, storage.FollowThread, thread)
	a.remoteFollow(fan, storage.FollowAccount, alice.account().ID)
	reply := alice.reply(thread, "Steam, with a tray of lava rocks.")
	waitFor(t, "the fan to get the reply", waitLong, func() bool { return len(fan.received("Create")) == 1 })

	mod.post("/p/"+reply.String()+"/delete", nil)
	waitFor(t, "the Delete", waitLong, func() bool { return len(fan.received("Delete")) == 1 })
	if del := fan.received("Delete")[0]; objectID(del) != a.URLs.Post(reply) || del["actor"] != a.URLs.Member("alice") {
		t.Errorf("Delete of %s by %v, want alice's reply by alice", objectID(del), del["actor"])
	}

	mod.post("/t/"+thread.String()+"/move", url.Values{"forum": {"second"}})
	waitFor(t, "the Move", waitLong, func() bool { return len(fan.received("Move")) == 1 })
	move := fan.received("Move")[0]
	if objectID(move) != a.URLs.ThreadPosts(thread) || move["origin"] != a.URLs.Forum("general") ||
		move["target"] != a.URLs.Forum(second.Slug) || move["actor"] != a.URLs.Forum(second.Slug) {
		t.Errorf("Move = %v", move)
	}

	mod.post("/t/"+thread.String()+"/lock", url.Values{"on": {"1"}})
	first := a.URLs.Post(mustThread(t, a, thread).firstPost())
	noteID := replier.ID + "/statuses/1"
	create := map[string]any{"id": noteID + "/activity", "type": "Create", "object": map[string]any{
		"id": noteID, "type": "Note", "attributedTo": replier.ID, "inReplyTo": first, "content": "<p>Too late?</p>",
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "published": "2026-01-01T00:00:00Z"}}
	if code := replier.send(t, a.URLs.Thread(thread)+"/inbox", create); code != http.StatusAccepted {
		t.Fatalf("reply POST: status %d", code)
	}
	waitFor(t, "the inbox to settle", waitLong, a.inboxSettled)
	if _, err := a.Store.PostByAPID(ctx, noteID); err == nil {
		t.Error("a locked thread took a remote reply")
	}

	alice.submit("/settings/delete", url.Values{"password": {testPassword}})
	waitFor(t, "Delete{Person}", waitLong, func() bool {
		for _, d := range fan.received("Delete") {
			if objectID(d) == a.URLs.Member("alice") && d["actor"] == a.URLs.Member("alice") {
				return true
			}
		}
		return false
	})
}

// A federated pair: bob on B follows alice's thread on A, alice's reply
// reached B's mirror, and bob's reply reached A.
type federatedPair struct {
	a, b                 *testNode
	alice, bob           *member
	thread, mirror       storage.ID
	aliceReply, bobReply storage.ID
}

func newFederatedPair(t *testing.T) *federatedPair {
	t.Helper()
	p := &federatedPair{a: startNode(t), b: startNode(t)}
	p.alice, p.bob = p.a.register("alice"), p.b.register("bob")
	p.thread = p.alice.newThread("Shaping", "Tension is everything.")
	ctx := context.Background()
	p.bob.post("/follow-remote", url.Values{"q": {p.a.URLs.Thread(p.thread)}})
	waitFor(t, "the follow to be accepted", waitLong, func() bool {
		fs, err := p.b.Store.RemoteFollowing(ctx, p.bob.account().ID, 10)
		return err == nil && len(fs) == 1 && fs[0].Accepted
	})
	p.aliceReply = p.alice.reply(p.thread, "Use a bench scraper.")
	waitFor(t, "alice's reply at B", waitLong, func() bool {
		post, err := p.b.Store.PostByAPID(ctx, p.a.URLs.Post(p.aliceReply))
		if err == nil {
			p.mirror = post.ThreadID
		}
		return err == nil
	})
	p.bobReply = p.bob.reply(p.mirror, "And wet hands.")
	waitFor(t, "bob's reply at A", waitLong, func() bool {
		_, err := p.a.Store.PostByAPID(ctx, p.b.URLs.Post(p.bobReply))
		return err == nil
	})
	waitFor(t, "both queues to drain", waitLong, func() bool { return p.a.drained() && p.b.drained() })
	return p
}

// signedPost POSTs a Like, signed by a member of from, to inbox, and
// returns the status.
func (p *federatedPair) signedPost(t *testing.T, from *testNode, memberID storage.ID, inbox string) int {
	t.Helper()
	keyID, key, err := from.Fed.SigningKey(context.Background(), storage.KeyOwnerMember, memberID)
	if err != nil {
		t.Fatal(err)
	}
	actor, _, _ := strings.Cut(keyID, "#")
	body, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": actor + "#like-test", "type": "Like", "actor": actor, "object": inbox})
	req, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/activity+json")
	if err := signature.SignRequest(req, body, keyID, key); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// promote gives the member a role, as `skein user role` would.
func (m *member) promote(role string) {
	m.t.Helper()
	if err := m.n.Store.ChangeRole(context.Background(), storage.Operator, m.account().ID, role); err != nil {
		m.t.Fatal(err)
	}
}

// submit sends a form and returns the status and body, whatever they are.
func (m *member) submit(path string, form url.Values) (int, string) {
	m.t.Helper()
	a := m.send(path, form)
	return a.status, a.body
}

// reports is every report on the node, oldest first.
func (n *testNode) reports(t testing.TB) []storage.Report {
	t.Helper()
	rs, err := n.Store.ListReports(context.Background(), "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// inboxSettled reports whether every received activity is processed.
func (n *testNode) inboxSettled() bool {
	return n.count(n.t, "SELECT count(*) FROM inbox_items WHERE done_at IS NULL") == 0
}

func (n *testNode) count(t testing.TB, query string) int {
	t.Helper()
	var c int
	if err := n.Store.ReadDB().NewRaw(query).Scan(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	return c
}
