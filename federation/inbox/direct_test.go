package inbox_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/inbox"
	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/internal/poll"
	"github.com/skein-forum/skein/storage"
)

// A Create of a known author's reply is stored by the POST itself: with
// no worker running, the post is there when the 202 comes, with no inbox
// item of its activity; a retry stores nothing twice, whether by its POST
// or, behind the actor's queued activities, by the worker. What the
// actor sends after an activity still queued waits behind it.
func TestInboxStoresAKnownAuthorsReplyBeforeAnswering(t *testing.T) {
	n := testnode.New(t, nil) // no worker: only the POST can store anything
	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	signer, err := n.Fed.ResolveActor(t.Context(), zed.ID())
	if err != nil {
		t.Fatal(err)
	}
	inbox.ApplyDirectlyNow(n.Inbox, signer)
	// Someone remote follows the thread, so a reply in it is announced:
	// it writes an outbox event (storage writes none where nobody remote
	// would hear of it).
	watcher := n.AddRemoteAccount("watcher", "watch.example")
	if _, err := n.Store.AddFollow(t.Context(), watcher.ID, storage.FollowThread, n.Fx.Thread.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	var wakes atomic.Int32
	inbox.OnDirectStore(n.Inbox, func() { wakes.Add(1) })
	local := n.URLs.Post(n.Fx.Posts[0].ID)
	post := func(act map[string]any) {
		t.Helper()
		if code, reason := zed.Post(t, n.URLs.SharedInbox(), act, testnode.SendOpts{}); code != http.StatusAccepted {
			t.Fatalf("%s: status %d (%s)", act["type"], code, reason)
		}
	}
	stored := func(note map[string]any) bool {
		_, err := n.Store.PostByAPID(t.Context(), note["id"].(string))
		return err == nil
	}
	count := func(query string, args ...any) int { return testnode.Count(t, n.Store, query, args...) }
	note := func(text string) map[string]any {
		m := zed.Note(local, "<p>"+text+"</p>")
		delete(m, "replies") // no backfill jobs in between
		return m
	}

	first := note("Stored before the 202.")
	create := zed.Create(first)
	post(create)
	if !stored(first) {
		t.Fatal("the reply was not stored when the 202 came")
	}
	// The wake comes after the commit that answered the POST.
	poll.Until(t, "a wake after the direct store (outbox, mail)", 5*time.Second, func() bool { return wakes.Load() > 0 })
	if got := count("SELECT count(*) FROM inbox_items") + count("SELECT count(*) FROM inbox_bodies"); got != 0 {
		t.Fatalf("%d inbox rows written for a reply stored by its POST, want none", got)
	}
	// What the reply caused, once: the notice to the post's author and
	// the event that federates it.
	caused := func() (notices, events int) {
		p, err := n.Store.PostByAPID(t.Context(), first["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return count("SELECT count(*) FROM notifications WHERE post_id = ?", p.ID),
			count("SELECT count(*) FROM outbox_events WHERE post_id = ? AND kind = 'post.create'", p.ID)
	}
	if notices, events := caused(); notices != 1 || events != 1 {
		t.Fatalf("the reply wrote %d notifications and %d create events, want 1 and 1", notices, events)
	}
	replayed := func(how string) {
		t.Helper()
		if got := count("SELECT count(*) FROM posts WHERE ap_id = ?", first["id"]); got != 1 {
			t.Fatalf("%d posts after a retry %s, want 1", got, how)
		}
		if notices, events := caused(); notices != 1 || events != 1 {
			t.Fatalf("after a retry %s: %d notifications and %d create events, want 1 and 1", how, notices, events)
		}
	}
	post(create) // the sender retries: it never saw the 202
	replayed("by its POST")
	if got := count("SELECT count(*) FROM inbox_items"); got != 0 {
		t.Fatalf("%d inbox items after a retry, want none", got)
	}

	// Deleted after it was stored directly: the Delete takes the queue.
	gone := note("Deleted at once.")
	post(zed.Create(gone))
	post(zed.Activity("Delete", map[string]any{"id": gone["id"], "type": "Tombstone"}))
	// Queued behind the Delete: not stored ahead of it.
	edited := copyMap(first)
	edited["content"] = "<p>Stored before the 202, then edited.</p>"
	post(zed.Activity("Update", edited))
	after := note("Sent after the edit.")
	post(zed.Create(after))
	if stored(after) {
		t.Fatal("a Create was stored ahead of the actor's activities queued before it")
	}
	post(create) // retried again, behind the actor's queued activities: the worker's
	if got := count("SELECT count(*) FROM inbox_items WHERE activity_id = ? AND done_at IS NULL", create["id"]); got != 1 {
		t.Fatalf("%d queued items of the retry, want 1", got)
	}

	w := testnode.StartInboxWorker(t, n)
	w.Settle(t)
	replayed("by the worker")
	if got := count("SELECT count(*) FROM inbox_items WHERE activity_id = ? AND done_at IS NOT NULL AND last_error = ''", create["id"]); got != 1 {
		t.Fatalf("%d retries done without an error, want 1", got)
	}
	if p := w.StoredPost(t, gone["id"].(string)); !p.IsDeleted() {
		t.Fatal("the Delete of a post stored directly was not applied")
	}
	pf, pa := w.StoredPost(t, first["id"].(string)), w.StoredPost(t, after["id"].(string))
	if !strings.Contains(pf.HTML, "edited") {
		t.Fatalf("the edit was not applied: %s", pf.HTML)
	}
	if pa.Position < pf.Position {
		t.Fatalf("the Create after the edit is at %d, before the first at %d", pa.Position, pf.Position)
	}
	// In a locked thread the post is refused: the Create is queued, and
	// the worker records why.
	if err := n.Store.SetThreadLocked(t.Context(), n.Fx.Thread.ID, true); err != nil {
		t.Fatal(err)
	}
	other := testnode.NewRemoteServer(t, "mastodon").Actor("amy", "Person", 1)
	amy, err := n.Fed.ResolveActor(t.Context(), other.ID())
	if err != nil {
		t.Fatal(err)
	}
	inbox.ApplyDirectlyNow(n.Inbox, amy)
	locked := other.Note(local, "<p>Too late.</p>")
	if code, reason := other.Post(t, n.URLs.SharedInbox(), other.Create(locked), testnode.SendOpts{}); code != http.StatusAccepted {
		t.Fatalf("status %d (%s)", code, reason)
	}
	w.Settle(t)

	if stored(locked) {
		t.Fatal("a reply was stored in a locked thread")
	}
	if got := count("SELECT count(*) FROM inbox_items WHERE actor_id = ? AND done_at IS NOT NULL AND last_error <> ''", other.ID()); got != 1 {
		t.Fatalf("%d refused Creates recorded with a reason, want 1", got)
	}
}

// directRig is a node with no worker running and a remote author whose
// account the inbox remembers, replying to the fixture's thread.
type directRig struct {
	n     *testnode.Node
	zed   *testnode.RemoteActor
	local string
}

func newDirectRig(t *testing.T) *directRig {
	n := testnode.New(t, nil)
	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	signer, err := n.Fed.ResolveActor(t.Context(), zed.ID())
	if err != nil {
		t.Fatal(err)
	}
	inbox.ApplyDirectlyNow(n.Inbox, signer)
	return &directRig{n: n, zed: zed, local: n.URLs.Post(n.Fx.Posts[0].ID)}
}

func (r *directRig) post(t *testing.T, act map[string]any) {
	t.Helper()
	if code, reason := r.zed.Post(t, r.n.URLs.SharedInbox(), act, testnode.SendOpts{}); code != http.StatusAccepted {
		t.Fatalf("%s: status %d (%s)", act["type"], code, reason)
	}
}

func (r *directRig) note(text string) map[string]any {
	m := r.zed.Note(r.local, "<p>"+text+"</p>")
	delete(m, "replies") // no backfill jobs in between
	return m
}

func (r *directRig) lock(t *testing.T, locked bool) {
	t.Helper()
	if err := r.n.Store.SetThreadLocked(t.Context(), r.n.Fx.Thread.ID, locked); err != nil {
		t.Fatal(err)
	}
}

// awaitAccepted fails t unless a POST answers 202 on codes in time.
func awaitAccepted(t *testing.T, codes <-chan int, what string) {
	t.Helper()
	select {
	case code := <-codes:
		if code != http.StatusAccepted {
			t.Fatalf("%s: status %d", what, code)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s got no answer", what)
	}
}

// A Create that falls back to the queue keeps its actor's turn until it
// is queued: an Update of its Note sent meanwhile is queued after it,
// not applied first to a post that is not there yet (and lost).
func TestInboxQueuesAnUpdateAfterTheCreateThatFellBack(t *testing.T) {
	r := newDirectRig(t)
	r.lock(t, true) // the Create is not stored directly: it takes the queue
	note := r.note("Before the edit.")
	create := r.zed.Create(note)
	edited := copyMap(note)
	edited["content"] = "<p>After the edit.</p>"
	update := r.zed.Activity("Update", edited)
	count := func(query string, args ...any) int { return testnode.Count(t, r.n.Store, query, args...) }

	updated := make(chan int, 1)
	inbox.OnQueueing(t, func(id string) {
		if id != create["id"] {
			return
		}
		// The worker may store the reply once the Create is queued.
		r.lock(t, false)
		go func() {
			code, _ := r.zed.Post(t, r.n.URLs.SharedInbox(), update, testnode.SendOpts{})
			updated <- code
		}()
		// Until the Update waits for the Create's turn (the Create and
		// the Update on their way to the queue), or it is queued ahead.
		for inbox.Accepting(r.n.Inbox, r.zed.ID()) < 2 &&
			count("SELECT count(*) FROM inbox_items WHERE activity_id = ?", update["id"]) == 0 {
			time.Sleep(time.Millisecond)
		}
	})
	r.post(t, create)
	awaitAccepted(t, updated, "the Create was not queued, or the Update")
	var order []string
	if err := r.n.Store.DB().NewRaw("SELECT activity_id FROM inbox_items WHERE activity_id IN (?, ?) ORDER BY id",
		create["id"], update["id"]).Scan(t.Context(), &order); err != nil {
		t.Fatal(err)
	}
	if len(order) != 2 || order[0] != create["id"] {
		t.Fatalf("queued in the order %v, want the Create first", order)
	}
	w := testnode.StartInboxWorker(t, r.n)
	w.Settle(t)
	if p := w.StoredPost(t, note["id"].(string)); !strings.Contains(p.HTML, "After the edit") {
		t.Fatalf("the edit was lost: %s", p.HTML)
	}
}

// A Create the queue refused (a locked thread) is not stored by a replay
// of it once the thread is unlocked, though the replay could be stored
// directly: its activity id is a repeat, as the queue would have found.
func TestInboxDropsAReplayOfARefusedCreate(t *testing.T) {
	r := newDirectRig(t)
	r.lock(t, true)
	note := r.note("Too late.")
	create := r.zed.Create(note)
	r.post(t, create)
	w := testnode.StartInboxWorker(t, r.n)
	w.Settle(t)
	if got := testnode.Count(t, r.n.Store, "SELECT count(*) FROM inbox_items WHERE activity_id = ? AND done_at IS NOT NULL", create["id"]); got != 1 {
		t.Fatalf("%d refused Creates recorded done, want 1", got)
	}
	r.lock(t, false)
	r.post(t, create) // replayed within the Date window
	w.Settle(t)
	if _, err := r.n.Store.PostByAPID(t.Context(), note["id"].(string)); err == nil {
		t.Fatal("a replay of a refused Create stored its post")
	}
	if got := testnode.Count(t, r.n.Store, "SELECT count(*) FROM inbox_items WHERE activity_id = ?", create["id"]); got != 1 {
		t.Fatalf("%d inbox items for the activity, want 1", got)
	}
}

// With QueueEveryActivity (skein serve --inbox-queue-all) a known
// author's reply is not stored by its POST: it waits in the queue until
// the worker applies it.
func TestInboxQueueEveryActivityQueuesAKnownAuthorsReply(t *testing.T) {
	n := testnode.New(t, nil) // no worker: only the POST could store it
	n.InboxCfg = inbox.Config{QueueEveryActivity: true}
	n.Restart()
	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	signer, err := n.Fed.ResolveActor(t.Context(), zed.ID())
	if err != nil {
		t.Fatal(err)
	}
	inbox.ApplyDirectlyNow(n.Inbox, signer)
	note := zed.Note(n.URLs.Post(n.Fx.Posts[0].ID), "<p>Queued, not stored by the POST.</p>")
	delete(note, "replies")
	create := zed.Create(note)
	if code, reason := zed.Post(t, n.URLs.SharedInbox(), create, testnode.SendOpts{}); code != http.StatusAccepted {
		t.Fatalf("status %d (%s)", code, reason)
	}
	if _, err := n.Store.PostByAPID(t.Context(), note["id"].(string)); err == nil {
		t.Fatal("the reply was stored by its POST although every activity should be queued")
	}
	if got := testnode.Count(t, n.Store, "SELECT count(*) FROM inbox_items WHERE activity_id = ? AND done_at IS NULL", create["id"]); got != 1 {
		t.Fatalf("%d pending inbox items for the Create, want 1", got)
	}
	w := testnode.StartInboxWorker(t, n)
	w.Settle(t)
	w.StoredPost(t, note["id"].(string))
}

// A reply to a Note whose Create is being stored by its POST this moment
// waits for that commit, by the worker as by another POST, and answers
// that Note rather than its thread (or nothing). The second reply's
// author is not yet remembered, so it takes the queue.
func TestInboxReplyWaitsForAParentBeingStored(t *testing.T) {
	r := newDirectRig(t)
	n := r.n
	amy := testnode.NewRemoteServer(t, "mastodon").Actor("amy", "Person", 1)
	bea := testnode.NewRemoteServer(t, "mastodon").Actor("bea", "Person", 2)
	known, err := n.Fed.ResolveActor(t.Context(), bea.ID())
	if err != nil {
		t.Fatal(err)
	}
	inbox.ApplyDirectlyNow(n.Inbox, known)
	w := testnode.StartInboxWorker(t, n)

	parent := r.note("The parent, held in its commit.")
	held, release := make(chan struct{}), make(chan struct{})
	// A failure below must not leave the commit held, or the node's
	// shutdown would wait for it.
	var released atomic.Bool
	letGo := func() {
		if released.CompareAndSwap(false, true) {
			close(release)
		}
	}
	t.Cleanup(letGo)
	var once atomic.Bool
	inbox.BeforePostCommit(t, func() {
		if once.CompareAndSwap(false, true) {
			close(held)
			<-release
		}
	})
	answered := make(chan int, 3)
	go func() {
		code, _ := r.zed.Post(t, n.URLs.SharedInbox(), r.zed.Create(parent), testnode.SendOpts{})
		answered <- code
	}()
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the parent's POST never reached its commit")
	}
	// One reply by the queue (amy is not remembered: the worker
	// resolves her), one stored by its POST (bea is).
	queued := amy.Note(parent["id"].(string), "<p>Queued, answering the parent.</p>")
	direct := bea.Note(parent["id"].(string), "<p>Direct, answering the parent.</p>")
	for _, s := range []struct {
		a    *testnode.RemoteActor
		note map[string]any
	}{{amy, queued}, {bea, direct}} {
		go func() {
			code, _ := s.a.Post(t, n.URLs.SharedInbox(), s.a.Create(s.note), testnode.SendOpts{})
			answered <- code
		}()
	}
	// Until both wait for the parent, or one was applied without it.
	poll.Until(t, "both replies to wait for the parent held in its commit (or one to be stored without it)", 30*time.Second, func() bool {
		return inbox.WaitingForStoring(n.Inbox) >= 2 ||
			testnode.Count(t, n.Store, "SELECT count(*) FROM posts WHERE ap_id IN (?, ?)", queued["id"], direct["id"]) > 0
	})
	letGo()
	for range 3 {
		awaitAccepted(t, answered, "a POST")
	}
	w.Settle(t)
	p := w.StoredPost(t, parent["id"].(string))
	for _, reply := range []map[string]any{queued, direct} {
		got, err := n.Store.PostByAPID(t.Context(), reply["id"].(string))
		if err != nil {
			t.Fatalf("reply %s not stored: %v", reply["id"], err)
		}
		if got.ReplyToID == nil || *got.ReplyToID != p.ID {
			t.Fatalf("reply %s answers %v, want the parent %s", reply["id"], got.ReplyToID, p.ID)
		}
	}
}

// The worker's counters include the activities stored by their POSTs,
// once each: a retry of one is not counted again.
func TestInboxCountsDirectStoresAsDone(t *testing.T) {
	r := newDirectRig(t)
	w := testnode.StartInboxWorker(t, r.n)
	create := r.zed.Create(r.note("Counted as done."))
	r.post(t, create)
	if c := w.Worker.Counters(); c.Done != 1 {
		t.Fatalf("done %d after a reply stored by its POST, want 1", c.Done)
	}
	r.post(t, create) // a retry: nothing applied
	r.lock(t, true)
	r.post(t, r.zed.Create(r.note("Refused by the worker."))) // queued, refused: done with a reason
	w.Settle(t)
	if c := w.Worker.Counters(); c.Done != 2 || c.Failed != 0 {
		t.Fatalf("counters %+v, want 2 done", c)
	}
}

// A Mastodon reply stored by the POST (the post prepared on the POST's
// goroutine, the writer deciding) shows without the mentions it opens
// with, of the member it answers and of the thread, and notifies her.
func TestInboxDirectReplyLeavesOutItsLeadingMentions(t *testing.T) {
	r := newDirectRig(t)
	first := r.n.Fx.Posts[0] // Alice's, opening the thread
	mention := func(href, name string) string {
		return `<span class="h-card" translate="no"><a href="` + href + `" class="u-url mention">@<span>` + name + `</span></a></span> `
	}
	note := r.note(mention(r.n.URLs.Member("alice"), "alice") +
		mention(r.n.URLs.Thread(first.ThreadID), storage.ThreadHandle(first.ThreadID)) + "Rye, yes.")
	r.post(t, r.zed.Create(note))
	p, err := r.n.Store.PostByAPID(t.Context(), note["id"].(string))
	if err != nil {
		t.Fatalf("the reply was not stored when the 202 came: %v", err)
	}
	if !strings.Contains(p.HTML, "@<span>alice</span>") || p.ViewHTML() != "<p>Rye, yes.</p>" {
		t.Fatalf("stored %q, shown %q", p.HTML, p.ViewHTML())
	}
	if got := testnode.Count(t, r.n.Store, "SELECT count(*) FROM notifications WHERE post_id = ? AND recipient_id = ? AND kind = ?",
		p.ID, r.n.Fx.Alice.ID, storage.NotifyReply); got != 1 {
		t.Fatalf("%d reply notifications of Alice, want 1", got)
	}
}
