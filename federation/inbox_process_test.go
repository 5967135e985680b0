package federation_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/storage"
)

// deliver posts act as a to the node's shared inbox, expects 202 and
// waits until the worker applied it.
func (n *inboxNode) deliver(t *testing.T, a *remoteActor, act map[string]any) {
	t.Helper()
	if code, reason := a.post(t, n.urls.SharedInbox(), act, sendOpts{}); code != http.StatusAccepted {
		t.Fatalf("%s: status %d (%s)", act["type"], code, reason)
	}
	n.settle(t)
}

func (n *inboxNode) post(t *testing.T, apID string) *storage.Post {
	t.Helper()
	p, err := n.store.PostByAPID(context.Background(), apID)
	if err != nil {
		t.Fatalf("post %s: %v", apID, err)
	}
	return p
}

// A remote Follow of a thread is stored and answered with an Accept that
// the delivery worker signs and the follower's server verifies; Undo
// takes the follow back.
func TestInboxFollowThread(t *testing.T) {
	n := newInboxNode(t, nil)
	startDelivery(t, n.testNode)
	rs := newRemoteServer(t, "mastodon")
	rs.verifyKey = nodeKeyLookup
	zed := rs.actor("zed", "Person", 0)
	thread := n.urls.Thread(n.fx.Thread.ID)
	follow := zed.activity("Follow", thread)
	n.deliver(t, zed, follow)

	ctx := context.Background()
	if got, _ := n.store.CountFollowers(ctx, storage.FollowThread, n.fx.Thread.ID); got != 1 {
		t.Fatalf("%d followers of the thread, want 1", got)
	}
	waitFor(t, "the Accept", func() bool { return len(rs.posts()) > 0 })
	got := rs.posts()[0]
	if got.path != "/users/zed/inbox" || got.verified != nil {
		t.Fatalf("Accept to %s, signature: %v", got.path, got.verified)
	}
	obj, _ := got.body["object"].(map[string]any)
	if got.body["type"] != "Accept" || got.body["actor"] != thread || obj["id"] != follow["id"] || obj["actor"] != zed.id() {
		t.Fatalf("Accept = %v", got.body)
	}

	n.deliver(t, zed, zed.activity("Undo", follow))
	if got, _ := n.store.CountFollowers(ctx, storage.FollowThread, n.fx.Thread.ID); got != 0 {
		t.Fatalf("%d followers after Undo, want 0", got)
	}
}

// A Follow from a server blocked after the POST was queued makes no
// follow and is not answered: nothing goes to a suspended server.
func TestInboxFollowDroppedWhenBlocked(t *testing.T) {
	var blockedHost atomic.Pointer[string]
	n := newNode(t, func(c *federation.Config) {
		c.BlockedDomain = func(h string) bool { b := blockedHost.Load(); return b != nil && *b == h }
	})
	rs := newRemoteServer(t, "gotosocial")
	zed := rs.actor("zed", "Person", 0)
	follow := zed.activity("Follow", n.urls.Member("alice"))
	if code, _ := zed.post(t, n.urls.SharedInbox(), follow, sendOpts{}); code != http.StatusAccepted {
		t.Fatal(code)
	}
	host := rs.host()
	blockedHost.Store(&host)
	startInboxWorker(t, n).settle(t)
	if got, _ := n.store.CountFollowers(context.Background(), storage.FollowAccount, n.fx.Alice.ID); got != 0 {
		t.Fatalf("%d followers, want 0", got)
	}
	if got := count(t, n.store, "SELECT count(*) FROM activities WHERE body LIKE ?", `%"type":"Reject"%`); got != 0 {
		t.Fatalf("%d Rejects queued, want none", got)
	}
}

// A Mastodon reply to a local post becomes a post of the thread, with the
// remote author and a link to the original; edits and deletes by its
// author apply, by anyone else they do not; a Note tied to nothing here
// is ignored.
func TestInboxReplyLifecycle(t *testing.T) {
	n := newInboxNode(t, nil)
	rs := newRemoteServer(t, "mastodon")
	zed, mallory := rs.actor("zed", "Person", 0), rs.actor("mallory", "Person", 1)
	replyTo := n.fx.Posts[1]
	note := zed.note(n.urls.Post(replyTo.ID), `<p>Rye: it <em>works</em>. <a href="https://example.com/rye">source</a></p>`)
	n.deliver(t, zed, zed.create(note))

	p := n.post(t, note["id"].(string))
	if p.ThreadID != n.fx.Thread.ID || p.ReplyToID == nil || *p.ReplyToID != replyTo.ID {
		t.Fatalf("post in thread %s replying to %v", p.ThreadID, p.ReplyToID)
	}
	if p.Author.Handle != "zed" || p.Author.Domain != rs.host() || p.Author.DisplayName != zed.title || p.URL != note["url"] {
		t.Fatalf("author %s@%s %q, url %s", p.Author.Handle, p.Author.Domain, p.Author.DisplayName, p.URL)
	}
	if !strings.Contains(p.HTML, "<em>works</em>") || !strings.Contains(p.HTML, `href="https://example.com/rye"`) {
		t.Fatalf("html = %s", p.HTML)
	}

	stray := zed.note("https://elsewhere.example/notes/1", "<p>Not about bread.</p>")
	n.deliver(t, zed, zed.create(stray))
	if _, err := n.store.PostByAPID(context.Background(), stray["id"].(string)); err == nil {
		t.Fatal("a note tied to nothing here was stored")
	}

	forged := copyMap(note)
	forged["content"] = "<p>Mallory was here.</p>"
	n.deliver(t, mallory, mallory.activity("Update", forged))
	if p := n.post(t, note["id"].(string)); strings.Contains(p.HTML, "Mallory") || p.EditedAt != nil {
		t.Fatalf("update by another actor applied: %s", p.HTML)
	}

	edited := copyMap(note)
	edited["content"] = "<p>Rye works; spelt too.</p>"
	n.deliver(t, zed, zed.activity("Update", edited))
	if p := n.post(t, note["id"].(string)); !strings.Contains(p.HTML, "spelt too") || p.EditedAt == nil {
		t.Fatalf("update by the author not applied: %s", p.HTML)
	}

	n.deliver(t, mallory, mallory.activity("Delete", map[string]any{"id": note["id"], "type": "Tombstone"}))
	if p := n.post(t, note["id"].(string)); p.IsDeleted() {
		t.Fatal("delete by another actor applied")
	}
	n.deliver(t, zed, zed.activity("Delete", map[string]any{"id": note["id"], "type": "Tombstone"}))
	if p := n.post(t, note["id"].(string)); !p.IsDeleted() {
		t.Fatal("delete by the author not applied")
	}

	// A remote actor cannot touch a member's post.
	local := n.urls.Post(replyTo.ID)
	n.deliver(t, zed, zed.activity("Delete", local))
	n.deliver(t, zed, zed.activity("Update", map[string]any{"id": local, "type": "Note", "attributedTo": zed.id(), "content": "<p>x</p>"}))
	if p, _ := n.store.PostByID(context.Background(), replyTo.ID); p.IsDeleted() || p.HTML != replyTo.HTML {
		t.Fatalf("member's post changed: %+v", p)
	}
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Remote HTML is stored through the same sanitizer as local posts.
func TestInboxSanitizesContent(t *testing.T) {
	n := newInboxNode(t, nil)
	zed := newRemoteServer(t, "gotosocial").actor("zed", "Person", 0)
	note := zed.note(n.urls.Thread(n.fx.Thread.ID), `<p onclick="x()">Hydration <script>alert(1)</script>`+
		`<img src=x onerror="alert(2)"><a href="javascript:alert(3)">link</a>`+
		`<iframe src="https://evil.example"></iframe><style>body{display:none}</style>at 75%.</p>`)
	n.deliver(t, zed, zed.create(note))
	p := n.post(t, note["id"].(string))
	for _, bad := range []string{"<script", "alert", "onerror", "onclick", "javascript:", "<iframe", "<style", "display:none"} {
		if strings.Contains(strings.ToLower(p.HTML), bad) {
			t.Errorf("stored HTML keeps %q: %s", bad, p.HTML)
		}
	}
	if !strings.Contains(p.HTML, "Hydration") || !strings.Contains(p.HTML, "at 75%.") {
		t.Errorf("text lost: %s", p.HTML)
	}
}

// Delete{Person} by the actor itself removes every post it wrote.
func TestInboxDeleteActor(t *testing.T) {
	n := newInboxNode(t, nil)
	zed := newRemoteServer(t, "mastodon").actor("zed", "Person", 0)
	var ids []string
	for _, text := range []string{"<p>One.</p>", "<p>Two.</p>"} {
		note := zed.note(n.urls.Post(n.fx.Posts[0].ID), text)
		n.deliver(t, zed, zed.create(note))
		ids = append(ids, note["id"].(string))
	}
	n.deliver(t, zed, zed.activity("Delete", zed.id()))
	for _, id := range ids {
		if p := n.post(t, id); !p.IsDeleted() {
			t.Fatalf("post %s survives its author's deletion", id)
		}
	}
}

// Likes of a member's post count toward the post and its author's
// reputation, and Undo takes them back; a like of nothing is ignored.
func TestInboxLikes(t *testing.T) {
	n := newInboxNode(t, nil)
	zed := newRemoteServer(t, "mastodon").actor("zed", "Person", 0)
	ctx := context.Background()
	post := n.fx.Posts[0]
	like := zed.activity("Like", n.urls.Post(post.ID))
	n.deliver(t, zed, like)
	alice, _ := n.store.AccountByID(ctx, n.fx.Alice.ID)
	p, _ := n.store.PostByID(ctx, post.ID)
	if alice.Reputation != n.fx.Alice.Reputation+1 || p.LikeCount != 1 {
		t.Fatalf("after Like: reputation %d, likes %d", alice.Reputation, p.LikeCount)
	}
	n.deliver(t, zed, zed.activity("Undo", like))
	alice, _ = n.store.AccountByID(ctx, n.fx.Alice.ID)
	p, _ = n.store.PostByID(ctx, post.ID)
	if alice.Reputation != n.fx.Alice.Reputation || p.LikeCount != 0 {
		t.Fatalf("after Undo: reputation %d, likes %d", alice.Reputation, p.LikeCount)
	}
	n.deliver(t, zed, zed.activity("Like", n.urls.Abs("/p/zzzzzz")))
	if e := n.lastError(t); !strings.Contains(e, "not found") {
		t.Fatalf("like of a missing post: last error %q", e)
	}
}

// A Create whose Note is on another host than the signer is not taken as
// carried: it is fetched from its own server, and ignored when that
// server does not serve it.
func TestInboxCreateFromAnotherHost(t *testing.T) {
	n := newInboxNode(t, nil)
	liar := newRemoteServer(t, "mastodon").actor("liar", "Person", 0)
	origin := newRemoteServer(t, "mastodon")
	amy := origin.actor("amy", "Person", 1)
	replyTo := n.urls.Post(n.fx.Posts[0].ID)

	// Attributed to amy on another host, carried by liar with false text.
	real := amy.note(replyTo, "<p>What amy really wrote.</p>")
	origin.put(strings.TrimPrefix(real["id"].(string), origin.srv.URL), real)
	fake := copyMap(real)
	fake["content"] = "<p>Words put in amy's mouth.</p>"
	carried := liar.create(fake)
	carried["id"] = liar.id() + "#creates/1"
	n.deliver(t, liar, carried)
	p := n.post(t, real["id"].(string))
	if !strings.Contains(p.HTML, "really wrote") || p.Author.Handle != "amy" {
		t.Fatalf("stored %q by %s", p.HTML, p.Author.Handle)
	}

	// An id on liar's host but attributed to amy: liar's host does not
	// serve it, so nothing is stored.
	posing := liar.note(replyTo, "<p>Signed amy.</p>")
	posing["attributedTo"] = amy.id()
	n.deliver(t, liar, liar.create(posing))
	if _, err := n.store.PostByAPID(context.Background(), posing["id"].(string)); err == nil {
		t.Fatal("a note attributed to another host's actor was stored as carried")
	}
}

// Accept and Reject of follows members sent to remote actors.
func TestInboxAnswersToOurFollows(t *testing.T) {
	n := newInboxNode(t, nil)
	rs := newRemoteServer(t, "mastodon")
	zed, yan := rs.actor("zed", "Person", 0), rs.actor("yan", "Person", 1)
	ctx := context.Background()
	follows := map[*remoteActor]string{}
	for _, a := range []*remoteActor{zed, yan} {
		acc, err := n.fed.ResolveActor(ctx, a.id())
		if err != nil {
			t.Fatal(err)
		}
		id := n.urls.Member("alice") + "#follows/" + a.name
		if _, err := n.store.AddFollow(ctx, n.fx.Alice.ID, storage.FollowAccount, acc.ID, &id, false); err != nil {
			t.Fatal(err)
		}
		follows[a] = id
	}
	// zed accepts naming the Follow by id; yan rejects embedding it.
	n.deliver(t, zed, zed.activity("Accept", follows[zed]))
	n.deliver(t, yan, yan.activity("Reject", map[string]any{"id": follows[yan], "type": "Follow",
		"actor": n.urls.Member("alice"), "object": yan.id()}))
	// yan cannot accept the follow of zed.
	n.deliver(t, yan, yan.activity("Accept", follows[zed]))

	zedAcc, _ := n.store.AccountByAPID(ctx, zed.id())
	yanAcc, _ := n.store.AccountByAPID(ctx, yan.id())
	if f, err := n.store.FollowOf(ctx, n.fx.Alice.ID, storage.FollowAccount, zedAcc.ID); err != nil || !f.Accepted {
		t.Fatalf("follow of zed: %+v, %v", f, err)
	}
	if _, err := n.store.FollowOf(ctx, n.fx.Alice.ID, storage.FollowAccount, yanAcc.ID); err == nil {
		t.Fatal("rejected follow still there")
	}
}

// FEP-1b12: a remote Group a member follows announces its threads' Notes;
// the first one starts a mirror in the hidden forum, the next joins it,
// and the mirror is not served as ours.
func TestInboxAnnounceFromFollowedGroup(t *testing.T) {
	n := newInboxNode(t, nil)
	rs := newRemoteServer(t, "mastodon")
	group := rs.actor("bakers", "Group", 0)
	amy := rs.actor("amy", "Person", 1)
	ctx := context.Background()
	acc, err := n.fed.ResolveActor(ctx, group.id())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.store.AddFollow(ctx, n.fx.Bob.ID, storage.FollowAccount, acc.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	thread := rs.srv.URL + "/c/42"
	first := amy.note("", "<p>Show us your loaves.</p>")
	first["context"], first["name"], first["audience"] = thread, "Loaf pictures", group.id()
	origin := func(note map[string]any) string { return strings.TrimPrefix(note["id"].(string), rs.srv.URL) }
	rs.put(origin(first), first)
	n.deliver(t, group, group.activity("Announce", first["id"]))

	mirror, err := n.store.ThreadByAPID(ctx, thread)
	if err != nil {
		t.Fatalf("no mirror: %v", err)
	}
	if mirror.Title != "Loaf pictures" || n.post(t, first["id"].(string)).ThreadID != mirror.ID {
		t.Fatalf("mirror %q", mirror.Title)
	}
	second := amy.note(first["id"].(string), "<p>Mine rose well.</p>")
	second["context"] = thread
	rs.put(origin(second), second)
	// Lemmy-style: the Group announces the whole Create.
	n.deliver(t, group, group.activity("Announce", amy.create(second)))
	if p := n.post(t, second["id"].(string)); p.ThreadID != mirror.ID {
		t.Fatal("second note is not in the mirror")
	}
	if resp := n.get(n.urls.Thread(mirror.ID), apAccept); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("mirror served as an actor: %d", resp.StatusCode)
	}

	// A Group nobody follows gets nothing mirrored.
	stranger := rs.actor("strangers", "Group", 2)
	lone := amy.note("", "<p>Unrelated.</p>")
	rs.put(origin(lone), lone)
	n.deliver(t, stranger, stranger.activity("Announce", lone["id"]))
	if _, err := n.store.PostByAPID(ctx, lone["id"].(string)); err == nil {
		t.Fatal("note announced by an unfollowed group was stored")
	}
}

// FEP-f228 style backfill: a reply's replies collection is fetched and
// the replies from a third server land in the thread too.
func TestInboxBackfillsReplies(t *testing.T) {
	n := newInboxNode(t, nil)
	rs := newRemoteServer(t, "mastodon")
	zed := rs.actor("zed", "Person", 0)
	third := newRemoteServer(t, "gotosocial")
	yan := third.actor("yan", "Person", 1)

	note := zed.note(n.urls.Post(n.fx.Posts[0].ID), "<p>Try a warmer spot.</p>")
	answer := yan.note(note["id"].(string), "<p>The oven with the light on works.</p>")
	third.put(strings.TrimPrefix(answer["id"].(string), third.srv.URL), answer)
	replies := note["replies"].(map[string]any)
	rs.put(strings.TrimPrefix(replies["id"].(string), rs.srv.URL), map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": replies["id"], "type": "Collection",
		"first": map[string]any{"type": "CollectionPage", "partOf": replies["id"], "items": []any{answer["id"]}},
	})
	n.deliver(t, zed, zed.create(note))
	n.settle(t) // the backfill job queued by the Create
	p := n.post(t, answer["id"].(string))
	if p.ThreadID != n.fx.Thread.ID || p.Author.Handle != "yan" {
		t.Fatalf("backfilled reply in thread %s by %s", p.ThreadID, p.Author.Handle)
	}
}
