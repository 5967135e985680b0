package inbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/storage"
)

// A remote Follow of a thread is stored and answered with an Accept that
// the delivery worker signs and the follower's server verifies; Undo
// takes the follow back.
func TestInboxFollowThread(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	testnode.StartDelivery(t, n.Node)
	rs := testnode.NewRemoteServer(t, "mastodon")
	zed := rs.Actor("zed", "Person", 0)
	thread := n.URLs.Thread(n.Fx.Thread.ID)
	follow := zed.Activity("Follow", thread)
	n.Deliver(t, zed, follow)

	ctx := context.Background()
	if got, _ := n.Store.CountFollowers(ctx, storage.FollowThread, n.Fx.Thread.ID); got != 1 {
		t.Fatalf("%d followers of the thread, want 1", got)
	}
	testnode.WaitFor(t, "the Accept", func() bool { return len(rs.Posts()) > 0 })
	got := rs.Posts()[0]
	if got.Path != "/users/zed/inbox" || got.Verified != nil {
		t.Fatalf("Accept to %s, signature: %v", got.Path, got.Verified)
	}
	obj, _ := got.Body["object"].(map[string]any)
	if got.Body["type"] != "Accept" || got.Body["actor"] != thread || obj["id"] != follow["id"] || obj["actor"] != zed.ID() {
		t.Fatalf("Accept = %v", got.Body)
	}

	n.Deliver(t, zed, zed.Activity("Undo", follow))
	if got, _ := n.Store.CountFollowers(ctx, storage.FollowThread, n.Fx.Thread.ID); got != 0 {
		t.Fatalf("%d followers after Undo, want 0", got)
	}
}

// A Follow from a server blocked after the POST was queued makes no
// follow and is not answered: nothing goes to a suspended server.
func TestInboxFollowDroppedWhenBlocked(t *testing.T) {
	var blockedHost atomic.Pointer[string]
	n := testnode.New(t, func(c *federation.Config) {
		c.BlockedDomain = func(h string) bool { b := blockedHost.Load(); return b != nil && *b == h }
	})
	rs := testnode.NewRemoteServer(t, "gotosocial")
	zed := rs.Actor("zed", "Person", 0)
	follow := zed.Activity("Follow", n.URLs.Member("alice"))
	if code, _ := zed.Post(t, n.URLs.SharedInbox(), follow, testnode.SendOpts{}); code != http.StatusAccepted {
		t.Fatal(code)
	}
	host := rs.Host()
	blockedHost.Store(&host)
	testnode.StartInboxWorker(t, n).Settle(t)
	if got, _ := n.Store.CountFollowers(context.Background(), storage.FollowAccount, n.Fx.Alice.ID); got != 0 {
		t.Fatalf("%d followers, want 0", got)
	}
	if got := testnode.Count(t, n.Store, "SELECT count(*) FROM activities WHERE body LIKE ?", `%"type":"Reject"%`); got != 0 {
		t.Fatalf("%d Rejects queued, want none", got)
	}
}

// A Mastodon reply to a local post becomes a post of the thread, with the
// remote author and a link to the original; edits and deletes by its
// author apply, by anyone else they do not; a Note tied to nothing here
// is ignored.
func TestInboxReplyLifecycle(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	rs := testnode.NewRemoteServer(t, "mastodon")
	zed, mallory := rs.Actor("zed", "Person", 0), rs.Actor("mallory", "Person", 1)
	replyTo := n.Fx.Posts[1]
	note := zed.Note(n.URLs.Post(replyTo.ID), `<p>Rye: it <em>works</em>. <a href="https://example.com/rye">source</a></p>`)
	n.Deliver(t, zed, zed.Create(note))

	p := n.StoredPost(t, note["id"].(string))
	if p.ThreadID != n.Fx.Thread.ID || p.ReplyToID == nil || *p.ReplyToID != replyTo.ID {
		t.Fatalf("post in thread %s replying to %v", p.ThreadID, p.ReplyToID)
	}
	if p.Author.Handle != "zed" || p.Author.Domain != rs.Host() || p.Author.DisplayName != zed.Title || p.URL != note["url"] {
		t.Fatalf("author %s@%s %q, url %s", p.Author.Handle, p.Author.Domain, p.Author.DisplayName, p.URL)
	}
	if !strings.Contains(p.HTML, "<em>works</em>") || !strings.Contains(p.HTML, `href="https://example.com/rye"`) {
		t.Fatalf("html = %s", p.HTML)
	}

	stray := zed.Note("https://elsewhere.example/notes/1", "<p>Not about bread.</p>")
	n.Deliver(t, zed, zed.Create(stray))
	if _, err := n.Store.PostByAPID(context.Background(), stray["id"].(string)); err == nil {
		t.Fatal("a note tied to nothing here was stored")
	}

	forged := copyMap(note)
	forged["content"] = "<p>Mallory was here.</p>"
	n.Deliver(t, mallory, mallory.Activity("Update", forged))
	if p := n.StoredPost(t, note["id"].(string)); strings.Contains(p.HTML, "Mallory") || p.EditedAt != nil {
		t.Fatalf("update by another actor applied: %s", p.HTML)
	}

	edited := copyMap(note)
	edited["content"] = "<p>Rye works; spelt too.</p>"
	n.Deliver(t, zed, zed.Activity("Update", edited))
	if p := n.StoredPost(t, note["id"].(string)); !strings.Contains(p.HTML, "spelt too") || p.EditedAt == nil {
		t.Fatalf("update by the author not applied: %s", p.HTML)
	}

	n.Deliver(t, mallory, mallory.Activity("Delete", map[string]any{"id": note["id"], "type": "Tombstone"}))
	if p := n.StoredPost(t, note["id"].(string)); p.IsDeleted() {
		t.Fatal("delete by another actor applied")
	}
	n.Deliver(t, zed, zed.Activity("Delete", map[string]any{"id": note["id"], "type": "Tombstone"}))
	if p := n.StoredPost(t, note["id"].(string)); !p.IsDeleted() {
		t.Fatal("delete by the author not applied")
	}

	// A remote actor cannot touch a member's post.
	local := n.URLs.Post(replyTo.ID)
	n.Deliver(t, zed, zed.Activity("Delete", local))
	n.Deliver(t, zed, zed.Activity("Update", map[string]any{"id": local, "type": "Note", "attributedTo": zed.ID(), "content": "<p>x</p>"}))
	if p, _ := n.Store.PostByID(context.Background(), replyTo.ID); p.IsDeleted() || p.HTML != replyTo.HTML {
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
	n := testnode.NewInboxNode(t, nil)
	zed := testnode.NewRemoteServer(t, "gotosocial").Actor("zed", "Person", 0)
	note := zed.Note(n.URLs.Thread(n.Fx.Thread.ID), `<p onclick="x()">Hydration <script>alert(1)</script>`+
		`<img src=x onerror="alert(2)"><a href="javascript:alert(3)">link</a>`+
		`<iframe src="https://evil.example"></iframe><style>body{display:none}</style>at 75%.</p>`)
	n.Deliver(t, zed, zed.Create(note))
	p := n.StoredPost(t, note["id"].(string))
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
	n := testnode.NewInboxNode(t, nil)
	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	var ids []string
	for _, text := range []string{"<p>One.</p>", "<p>Two.</p>"} {
		note := zed.Note(n.URLs.Post(n.Fx.Posts[0].ID), text)
		n.Deliver(t, zed, zed.Create(note))
		ids = append(ids, note["id"].(string))
	}
	n.Deliver(t, zed, zed.Activity("Delete", zed.ID()))
	for _, id := range ids {
		if p := n.StoredPost(t, id); !p.IsDeleted() {
			t.Fatalf("post %s survives its author's deletion", id)
		}
	}
}

// Likes of a member's post count toward the post and its author's
// reputation, and Undo takes them back; a like of nothing is ignored.
func TestInboxLikes(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	ctx := context.Background()
	post := n.Fx.Posts[0]
	like := zed.Activity("Like", n.URLs.Post(post.ID))
	n.Deliver(t, zed, like)
	alice, _ := n.Store.AccountByID(ctx, n.Fx.Alice.ID)
	p, _ := n.Store.PostByID(ctx, post.ID)
	if alice.Reputation != n.Fx.Alice.Reputation+1 || p.LikeCount != 1 {
		t.Fatalf("after Like: reputation %d, likes %d", alice.Reputation, p.LikeCount)
	}
	n.Deliver(t, zed, zed.Activity("Undo", like))
	alice, _ = n.Store.AccountByID(ctx, n.Fx.Alice.ID)
	p, _ = n.Store.PostByID(ctx, post.ID)
	if alice.Reputation != n.Fx.Alice.Reputation || p.LikeCount != 0 {
		t.Fatalf("after Undo: reputation %d, likes %d", alice.Reputation, p.LikeCount)
	}
	n.Deliver(t, zed, zed.Activity("Like", n.URLs.Abs("/p/zzzzzz")))
	if e := n.LastError(t); !strings.Contains(e, "not found") {
		t.Fatalf("like of a missing post: last error %q", e)
	}
}

// A Create whose Note is on another host than the signer is not taken as
// carried: it is fetched from its own server, and ignored when that
// server does not serve it.
func TestInboxCreateFromAnotherHost(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	liar := testnode.NewRemoteServer(t, "mastodon").Actor("liar", "Person", 0)
	origin := testnode.NewRemoteServer(t, "mastodon")
	amy := origin.Actor("amy", "Person", 1)
	replyTo := n.URLs.Post(n.Fx.Posts[0].ID)

	// Attributed to amy on another host, carried by liar with false text.
	real := amy.Note(replyTo, "<p>What amy really wrote.</p>")
	origin.Serve(real)
	fake := copyMap(real)
	fake["content"] = "<p>Words put in amy's mouth.</p>"
	carried := liar.Create(fake)
	carried["id"] = liar.ID() + "#creates/1"
	n.Deliver(t, liar, carried)
	p := n.StoredPost(t, real["id"].(string))
	if !strings.Contains(p.HTML, "really wrote") || p.Author.Handle != "amy" {
		t.Fatalf("stored %q by %s", p.HTML, p.Author.Handle)
	}

	// An id on liar's host but attributed to amy: liar's host does not
	// serve it, so nothing is stored.
	posing := liar.Note(replyTo, "<p>Signed amy.</p>")
	posing["attributedTo"] = amy.ID()
	n.Deliver(t, liar, liar.Create(posing))
	if _, err := n.Store.PostByAPID(context.Background(), posing["id"].(string)); err == nil {
		t.Fatal("a note attributed to another host's actor was stored as carried")
	}
}

// Accept and Reject of follows members sent to remote actors.
func TestInboxAnswersToOurFollows(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	rs := testnode.NewRemoteServer(t, "mastodon")
	zed, yan := rs.Actor("zed", "Person", 0), rs.Actor("yan", "Person", 1)
	ctx := context.Background()
	follows := map[*testnode.RemoteActor]string{}
	for _, a := range []*testnode.RemoteActor{zed, yan} {
		acc, err := n.Fed.ResolveActor(ctx, a.ID())
		if err != nil {
			t.Fatal(err)
		}
		id := n.URLs.Member("alice") + "#follows/" + a.Name
		if _, err := n.Store.AddFollow(ctx, n.Fx.Alice.ID, storage.FollowAccount, acc.ID, &id, false); err != nil {
			t.Fatal(err)
		}
		follows[a] = id
	}
	// zed accepts naming the Follow by id; yan rejects embedding it.
	n.Deliver(t, zed, zed.Activity("Accept", follows[zed]))
	n.Deliver(t, yan, yan.Activity("Reject", map[string]any{"id": follows[yan], "type": "Follow",
		"actor": n.URLs.Member("alice"), "object": yan.ID()}))
	// yan cannot accept the follow of zed.
	n.Deliver(t, yan, yan.Activity("Accept", follows[zed]))

	zedAcc, _ := n.Store.AccountByAPID(ctx, zed.ID())
	yanAcc, _ := n.Store.AccountByAPID(ctx, yan.ID())
	if f, err := n.Store.FollowOf(ctx, n.Fx.Alice.ID, storage.FollowAccount, zedAcc.ID); err != nil || !f.Accepted {
		t.Fatalf("follow of zed: %+v, %v", f, err)
	}
	if _, err := n.Store.FollowOf(ctx, n.Fx.Alice.ID, storage.FollowAccount, yanAcc.ID); err == nil {
		t.Fatal("rejected follow still there")
	}
}

// FEP-1b12: a remote Group a member follows announces its threads' Notes;
// the first one starts a mirror in the hidden forum, the next joins it,
// and the mirror is not served as ours.
func TestInboxAnnounceFromFollowedGroup(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	rs := testnode.NewRemoteServer(t, "mastodon")
	group := rs.Actor("bakers", "Group", 0)
	amy := rs.Actor("amy", "Person", 1)
	ctx := context.Background()
	n.Follow(t, n.Fx.Bob, group)
	thread := rs.Srv.URL + "/c/42"
	first := amy.Note("", "<p>Show us your loaves.</p>")
	first["context"], first["name"], first["audience"] = thread, "Loaf pictures", group.ID()
	origin := func(note map[string]any) string { return strings.TrimPrefix(note["id"].(string), rs.Srv.URL) }
	rs.Put(origin(first), first)
	n.Deliver(t, group, group.Activity("Announce", first["id"]))

	mirror, err := n.Store.ThreadByAPID(ctx, thread)
	if err != nil {
		t.Fatalf("no mirror: %v", err)
	}
	if mirror.Title != "Loaf pictures" || n.StoredPost(t, first["id"].(string)).ThreadID != mirror.ID {
		t.Fatalf("mirror %q", mirror.Title)
	}
	second := amy.Note(first["id"].(string), "<p>Mine rose well.</p>")
	second["context"] = thread
	rs.Put(origin(second), second)
	// Lemmy-style: the Group announces the whole Create.
	n.Deliver(t, group, group.Activity("Announce", amy.Create(second)))
	if p := n.StoredPost(t, second["id"].(string)); p.ThreadID != mirror.ID {
		t.Fatal("second note is not in the mirror")
	}
	if resp := n.Get(n.URLs.Thread(mirror.ID), testnode.APAccept); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("mirror served as an actor: %d", resp.StatusCode)
	}

	// A Group nobody follows gets nothing mirrored.
	stranger := rs.Actor("strangers", "Group", 2)
	lone := amy.Note("", "<p>Unrelated.</p>")
	rs.Put(origin(lone), lone)
	n.Deliver(t, stranger, stranger.Activity("Announce", lone["id"]))
	if _, err := n.Store.PostByAPID(ctx, lone["id"].(string)); err == nil {
		t.Fatal("note announced by an unfollowed group was stored")
	}
}

// repliesRig is a reply by zed (a Mastodon user) to the thread's first
// post whose replies collection lists answer, by yan on a GoToSocial
// server; edit changes the reply before its collection is served.
func repliesRig(t *testing.T, edit func(note map[string]any)) (n *testnode.InboxNode, zed *testnode.RemoteActor, note, answer map[string]any) {
	n = testnode.NewInboxNode(t, nil)
	rs := testnode.NewRemoteServer(t, "mastodon")
	zed = rs.Actor("zed", "Person", 0)
	third := testnode.NewRemoteServer(t, "gotosocial")
	yan := third.Actor("yan", "Person", 1)
	note = zed.Note(n.URLs.Post(n.Fx.Posts[0].ID), "<p>Try a warmer spot.</p>")
	edit(note)
	answer = yan.Note(note["id"].(string), "<p>The oven with the light on works.</p>")
	third.Serve(answer)
	replies := note["replies"].(map[string]any)
	rs.Serve(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": replies["id"], "type": "Collection",
		"first": map[string]any{"type": "CollectionPage", "partOf": replies["id"], "items": []any{answer["id"]}},
	})
	return n, zed, note, answer
}

// FEP-f228 style backfill: a reply's replies collection is fetched and
// the replies from a third server land in the thread too.
func TestInboxBackfillsReplies(t *testing.T) {
	n, zed, note, answer := repliesRig(t, func(map[string]any) {})
	n.Deliver(t, zed, zed.Create(note))
	n.Settle(t) // the backfill job queued by the Create
	p := n.StoredPost(t, answer["id"].(string))
	if p.ThreadID != n.Fx.Thread.ID || p.Author.Handle != "yan" {
		t.Fatalf("backfilled reply in thread %s by %s", p.ThreadID, p.Author.Handle)
	}
}

// A reply delivered moments after it was written is stored without a
// fetch of its replies collection (it has none yet; see freshNote), while
// an older one is backfilled (TestInboxBackfillsReplies).
func TestInboxFreshNoteIsNotBackfilled(t *testing.T) {
	n, zed, note, answer := repliesRig(t, func(note map[string]any) {
		note["published"] = time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	})
	n.Deliver(t, zed, zed.Create(note))
	n.Settle(t)
	n.StoredPost(t, note["id"].(string))
	if p, err := n.Store.PostByAPID(t.Context(), answer["id"].(string)); err == nil {
		t.Fatalf("the replies of a fresh note were fetched: %s stored", p.ID)
	}
}

// FEP-f228 / FEP-7888: the first announce of a followed group's thread
// starts a mirror, and the thread's context fills it in, in the context's
// order. A Note embedded in the context is believed only from the
// context's own host; one claiming another server is fetched from there.
func TestInboxWalksMirrorContext(t *testing.T) {
	n, rs, group, amy := groupNode(t)
	third := testnode.NewRemoteServer(t, "gotosocial")
	yan := third.Actor("yan", "Person", 2)
	ctx := context.Background()
	thread := rs.Srv.URL + "/c/42"
	first := inThread(amy.Note("", "<p>Show us your loaves.</p>"), thread)
	first["name"] = "Loaf pictures"
	second := inThread(amy.Note(first["id"].(string), "<p>Mine rose well.</p>"), thread)
	rs.Serve(second)
	answer := yan.Note(first["id"].(string), "<p>Genuine words of yan.</p>")
	delete(answer, "replies")
	third.Serve(answer)
	forged := copyMap(answer)
	forged["content"] = "<p>Words put in yan's mouth.</p>"
	latest := inThread(amy.Note(second["id"].(string), "<p>Latest.</p>"), thread)
	rs.Serve(latest)
	rs.Put("/c/42", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": thread, "type": "OrderedCollection",
		"first": map[string]any{"type": "OrderedCollectionPage", "partOf": thread, "orderedItems": []any{
			first,
			map[string]any{"id": rs.Srv.URL + "/statuses/gone", "type": "Tombstone"},
			second["id"],
			forged,
			latest["id"],
		}},
	})

	n.Deliver(t, group, group.Activity("Announce", latest["id"]))
	n.Settle(t) // the walk
	mirror, err := n.Store.ThreadByAPID(ctx, thread)
	if err != nil {
		t.Fatalf("no mirror: %v", err)
	}
	posts, err := n.Store.PostsInRange(ctx, mirror.ID, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{first["id"].(string), second["id"].(string), answer["id"].(string), latest["id"].(string)}
	if len(posts) != len(want) {
		t.Fatalf("mirror has %d posts, want %d", len(posts), len(want))
	}
	for i, p := range posts {
		if p.APID == nil || *p.APID != want[i] {
			t.Errorf("position %d: %v, want %s", i+1, p.APID, want[i])
		}
	}
	if !strings.Contains(posts[2].HTML, "Genuine") {
		t.Errorf("yan's reply reads %q, want what yan's server serves", posts[2].HTML)
	}
	if again, _ := n.Store.ThreadByID(ctx, mirror.ID); again == nil || *again.FirstPostID != posts[0].ID {
		t.Error("the mirror's first post is not the thread's first")
	}
}

// A Note may name any URL as its context: only a context on the host of
// the group that announced it is walked.
func TestInboxMirrorContextOnAnotherHostNotWalked(t *testing.T) {
	n, rs, group, amy := groupNode(t)
	victim := testnode.NewRemoteServer(t, "mastodon")
	ctx := context.Background()
	elsewhere := victim.Srv.URL + "/c/1"
	victim.Put("/c/1", map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": elsewhere,
		"type": "OrderedCollection", "orderedItems": []any{}})
	note := inThread(amy.Note("", "<p>Hello.</p>"), elsewhere)
	rs.Serve(note)
	n.Deliver(t, group, group.Activity("Announce", note["id"]))
	n.Settle(t)
	if _, err := n.Store.ThreadByAPID(ctx, elsewhere); err != nil {
		t.Fatalf("no mirror: %v", err)
	}
	if got := n.LastError(t); !strings.Contains(got, "not on the host of its group") {
		t.Errorf("the walk ended with %q", got)
	}
}

// Flags in the shapes other servers send: Lemmy reports one post to the
// community with an HTML-free reason and a target; a report about a
// remote reply in a thread here is filed too; a Flag naming nothing here
// files nothing.
func TestInboxFlagShapes(t *testing.T) {
	ctx := context.Background()
	n := testnode.NewInboxNode(t, nil)
	rs := testnode.NewRemoteServer(t, "gotosocial")
	reporter := rs.Actor("reporter", "Person", 0)

	lemmyFlag := reporter.Activity("Flag", n.URLs.Post(n.Fx.Posts[1].ID))
	lemmyFlag["content"] = "<p>Off <b>topic</b></p>"
	lemmyFlag["target"] = n.URLs.Forum(n.Fx.Forum.Slug)
	n.Deliver(t, reporter, lemmyFlag)

	other := n.AddRemoteAccount("replier", "elsewhere.example")
	noteID := "https://elsewhere.example/users/replier/statuses/1"
	remote, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: n.Fx.Thread.ID, AuthorID: other.ID,
		HTML: "<p>Hello</p>", APID: &noteID, URL: noteID})
	if err != nil {
		t.Fatal(err)
	}
	n.Deliver(t, reporter, reporter.Activity("Flag", []any{*other.APID, noteID}))

	n.Deliver(t, reporter, reporter.Activity("Flag", []any{"https://nowhere.example/users/x"}))
	if !strings.Contains(n.LastError(t), "names nothing") {
		t.Errorf("a Flag of nothing here: %q", n.LastError(t))
	}

	reports, err := n.Store.ListReports(ctx, "", 0, 10)
	if err != nil || len(reports) != 2 {
		t.Fatalf("reports = %+v, %v", reports, err)
	}
	if r := reports[0]; r.PostID == nil || *r.PostID != n.Fx.Posts[1].ID || r.Reason != "Off topic" || r.Reporter.Handle != "reporter" {
		t.Errorf("Lemmy's report: post %v, reason %q", r.PostID, r.Reason)
	}
	if r := reports[1]; r.PostID == nil || *r.PostID != remote.ID || r.AccountID != other.ID {
		t.Errorf("report of a remote reply: post %v, account %v", r.PostID, r.AccountID)
	}
}

// One actor's activities, queued together and claimed in one batch, are
// applied as if one after the other although its Creates share commits:
// a reply to a Note the batch is still storing answers it, an edit and
// a delete find the post they are about, and posts take their places in
// the order they came.
func TestInboxPipelinedActorKeepsOrder(t *testing.T) {
	n := testnode.New(t, nil)
	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	local := n.URLs.Post(n.Fx.Posts[0].ID)
	note := func(inReplyTo, text string) map[string]any {
		m := zed.Note(inReplyTo, "<p>"+text+"</p>")
		delete(m, "replies") // no backfill jobs in between
		return m
	}
	a := note(local, "first")
	b := note(a["id"].(string), "answering the first while it is being stored")
	c := note(local, "third")
	d := note(local, "fourth, deleted at once")
	edited := copyMap(a)
	edited["content"] = "<p>first, edited</p>"
	acts := []map[string]any{
		zed.Create(a), zed.Create(b), zed.Create(c),
		zed.Activity("Update", edited),
		zed.Create(d),
		zed.Activity("Delete", map[string]any{"id": d["id"], "type": "Tombstone"}),
		zed.Create(note(local, "fifth")), zed.Create(note(local, "sixth")),
	}
	for _, act := range acts {
		body, _ := json.Marshal(act)
		if _, err := n.Store.AcceptInbox(t.Context(), zed.ID(), zed.KeyID(), act["id"].(string), body); err != nil {
			t.Fatal(err)
		}
	}
	in := testnode.StartInboxWorker(t, n)
	in.Settle(t)
	if failed := testnode.Count(t, n.Store, "SELECT count(*) FROM inbox_items WHERE last_error <> ''"); failed > 0 {
		t.Fatalf("%d activities failed; last: %s", failed, in.LastError(t))
	}

	pa, pb, pc, pd := in.StoredPost(t, a["id"].(string)), in.StoredPost(t, b["id"].(string)),
		in.StoredPost(t, c["id"].(string)), in.StoredPost(t, d["id"].(string))
	if pb.ReplyToID == nil || *pb.ReplyToID != pa.ID {
		t.Fatalf("the answer replies to %v, not to the first post %s", pb.ReplyToID, pa.ID)
	}
	if !strings.Contains(pa.HTML, "edited") || pa.EditedAt == nil {
		t.Fatalf("the edit was not applied: %s", pa.HTML)
	}
	if !pd.IsDeleted() {
		t.Fatal("the fourth post was stored after its Delete, not deleted by it")
	}
	if !(pa.Position < pb.Position && pb.Position < pc.Position && pc.Position < pd.Position) {
		t.Fatalf("positions %d, %d, %d, %d: not in the order the Creates came", pa.Position, pb.Position, pc.Position, pd.Position)
	}
}
