package inbox_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/storage"
)

// notificationsOf lists a member's notifications by remote accounts as
// "kind by handle", newest first.
func notificationsOf(t *testing.T, n *testnode.InboxNode, member storage.ID) []string {
	t.Helper()
	ns, err := n.Store.Notifications(context.Background(), member, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range ns {
		if x.Actor.IsLocal() {
			continue
		}
		out = append(out, x.Kind+" by "+x.Actor.Handle)
	}
	return out
}

// A person a member follows: their public and unlisted posts each open a
// thread here that they own (a member's answer there mentions them);
// their followers-only posts and their replies to strangers' posts are
// not stored. Nobody else's stray posts are.
func TestInboxFollowedPersonPosts(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	ctx := context.Background()
	rs := testnode.NewRemoteServer(t, "gotosocial")
	ana, stranger := rs.Actor("ana", "Person", 0), rs.Actor("stranger", "Person", 1)
	acc, err := n.Fed.ResolveActor(ctx, ana.ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store.AddFollow(ctx, n.Fx.Alice.ID, storage.FollowAccount, acc.ID, nil, true); err != nil {
		t.Fatal(err)
	}

	public := ana.Note("", "<p>Fresh loaves at the market today.</p>")
	n.Deliver(t, ana, ana.Create(public))
	p := n.StoredPost(t, public["id"].(string))
	th, err := n.Store.ThreadByID(ctx, p.ThreadID)
	if err != nil {
		t.Fatal(err)
	}
	if !th.IsMirror() || th.RemoteActorID == nil || *th.RemoteActorID != acc.ID || th.FirstPostID == nil || *th.FirstPostID != p.ID {
		t.Fatalf("thread %+v: not a mirror owned by ana opening with her post", th)
	}
	if !strings.Contains(th.Title, "Fresh loaves") {
		t.Errorf("title = %q", th.Title)
	}

	unlisted := ana.Note("", "<p>Unlisted crumbs.</p>")
	unlisted["to"], unlisted["cc"] = []any{ana.ID() + "/followers"}, []any{as.Public}
	n.Deliver(t, ana, ana.Create(unlisted))
	n.StoredPost(t, unlisted["id"].(string))

	private := ana.Note("", "<p>Followers only.</p>")
	private["to"], private["cc"] = []any{ana.ID() + "/followers"}, []any{}
	aside := ana.Note("https://elsewhere.example/notes/1", "<p>Answering someone else.</p>")
	stray := stranger.Note("", "<p>Nobody follows me here.</p>")
	n.Deliver(t, ana, ana.Create(private))
	n.Deliver(t, ana, ana.Create(aside))
	n.Deliver(t, stranger, stranger.Create(stray))
	for _, note := range []map[string]any{private, aside, stray} {
		if _, err := n.Store.PostByAPID(ctx, note["id"].(string)); err == nil {
			t.Errorf("%s was stored", note["content"])
		}
	}

	// A member's answer mentions and addresses ana.
	reply, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: th.ID, AuthorID: n.Fx.Bob.ID, Source: "Which market?",
		HTML: "<p>Which market?</p>"})
	if err != nil {
		t.Fatal(err)
	}
	m := n.Doc(n.URLs.Post(reply.ID), 200)
	if m["inReplyTo"] != public["id"] || !strings.Contains(str(m, "tag"), ana.ID()) || !strings.Contains(str(m, "cc"), ana.ID()) {
		t.Errorf("answer to ana: inReplyTo %v, tag %v, cc %v", m["inReplyTo"], m["tag"], m["cc"])
	}
	if _, ok := m["audience"]; ok {
		t.Errorf("a person's thread has audience %v", m["audience"])
	}
}

// str renders any JSON value for a substring check.
func str(m map[string]any, key string) string {
	b, _ := json.Marshal(m[key])
	return string(b)
}

// A mention of a member outside any thread starts a thread of its own
// and notifies the member; from a silenced server it notifies nobody.
func TestInboxMentionNotifiesMember(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	ctx := context.Background()
	rs := testnode.NewRemoteServer(t, "mastodon")
	zed := rs.Actor("zed", "Person", 0)
	note := zed.Note("", `<p><span class="h-card"><a href="`+n.URLs.Member("alice")+`" class="u-url mention">@alice</a></span> are rolls done?</p>`)
	note["tag"] = []any{map[string]any{"type": "Mention", "href": n.URLs.Member("alice"), "name": "@alice@" + n.URLs.Host()}}
	n.Deliver(t, zed, zed.Create(note))
	p := n.StoredPost(t, note["id"].(string))
	if got := notificationsOf(t, n, n.Fx.Alice.ID); len(got) != 1 || got[0] != "mention by zed" {
		t.Fatalf("alice's notifications = %v", got)
	}
	if ns, _ := n.Store.Notifications(ctx, n.Fx.Alice.ID, 0, 1); len(ns) != 1 || ns[0].PostID != p.ID {
		t.Errorf("the notification links post %s, want %s", ns[0].PostID, p.ID)
	}

	// The same from a silenced server: stored, nobody notified.
	if err := n.Store.BlockDomain(ctx, n.Fx.Mod.ID, storage.DomainBlock{Host: rs.Host(), Severity: storage.SeveritySilence}); err != nil {
		t.Fatal(err)
	}
	again := zed.Note("", note["content"].(string))
	again["tag"] = note["tag"]
	n.Deliver(t, zed, zed.Create(again))
	if got := notificationsOf(t, n, n.Fx.Alice.ID); len(got) != 1 {
		t.Fatalf("alice's notifications after a silenced mention = %v", got)
	}
}

// A reply to a member's post, a quote of it, a like and a boost of it
// from elsewhere, and a new follower, each notify the member.
func TestInboxInteractionsNotifyMember(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	rs := testnode.NewRemoteServer(t, "mastodon")
	zed := rs.Actor("zed", "Person", 0)
	mine := n.Fx.Posts[1] // bob's
	url := n.URLs.Post(mine.ID)

	n.Deliver(t, zed, zed.Create(zed.Note(url, "<p>Agreed.</p>")))
	quote := zed.Note("", "<p>Look at this one.</p>")
	quote["quote"] = url
	n.Deliver(t, zed, zed.Create(quote))
	if p := n.StoredPost(t, quote["id"].(string)); p.ThreadID != mine.ThreadID || p.QuoteID == nil || *p.QuoteID != mine.ID {
		t.Errorf("the quote is in thread %s quoting %v", p.ThreadID, p.QuoteID)
	}
	n.Deliver(t, zed, zed.Activity("Like", url))
	n.Deliver(t, zed, zed.Activity("Announce", url))
	n.Deliver(t, zed, zed.Activity("Follow", n.URLs.Member("bob")))
	got := strings.Join(notificationsOf(t, n, n.Fx.Bob.ID), ", ")
	for _, want := range []string{"reply by zed", "quote by zed", "like by zed", "announce by zed", "follow by zed"} {
		if !strings.Contains(got, want) {
			t.Errorf("bob's notifications %q lack %q", got, want)
		}
	}
}

// Content warnings: a Note's summary is its warning, stored apart from
// the text; an Article's summary is an excerpt, shown above the text
// unless the text starts with it, never as a warning.
func TestInboxSummaries(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	rs := testnode.NewRemoteServer(t, "mastodon")
	zed := rs.Actor("zed", "Person", 0)
	url := n.URLs.Post(n.Fx.Posts[1].ID)

	cw := zed.Note(url, "<p>The twist is the baker did it.</p>")
	cw["summary"], cw["sensitive"] = "Spoilers", true
	n.Deliver(t, zed, zed.Create(cw))
	p := n.StoredPost(t, cw["id"].(string))
	if p.Summary != "Spoilers" || !p.Sensitive || strings.Contains(p.HTML, "Spoilers") {
		t.Errorf("warned note: summary %q sensitive %v html %s", p.Summary, p.Sensitive, p.HTML)
	}
	// Sensitive without a summary hides the media only: the text shows.
	media := zed.Note(url, "<p>Look at the crumb.</p>")
	media["sensitive"] = true
	n.Deliver(t, zed, zed.Create(media))
	if p := n.StoredPost(t, media["id"].(string)); p.Summary != "" || p.Sensitive {
		t.Errorf("sensitive note without a summary: summary %q sensitive %v", p.Summary, p.Sensitive)
	}

	repeat := zed.Note(url, "<p>Hydration matters more than flour. Here is why.</p>")
	repeat["type"], repeat["summary"] = "Article", "<p>Hydration matters more than flour.</p>"
	other := zed.Note(url, "<p>Long text.</p>")
	other["type"], other["summary"] = "Article", "<p>A <b>short</b> take &amp; <script>x</script>more</p>"
	n.Deliver(t, zed, zed.Create(repeat))
	n.Deliver(t, zed, zed.Create(other))
	if p := n.StoredPost(t, repeat["id"].(string)); p.Summary != "" || p.Sensitive || strings.Count(p.HTML, "Hydration") != 1 {
		t.Errorf("article repeating its excerpt: summary %q html %s", p.Summary, p.HTML)
	}
	if p := n.StoredPost(t, other["id"].(string)); p.Summary != "" || !strings.HasPrefix(p.HTML, "<p>A short take &amp; more</p>") || strings.Contains(p.HTML, "script") {
		t.Errorf("article with an excerpt: summary %q html %s", p.Summary, p.HTML)
	}
}

// A peer that answers an Announce with Reject (NodeBB, for a topic it has
// already) stops its delivery there; the same activity still goes to
// other servers.
func TestInboxRejectOfAnnounceStopsDelivery(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	ctx := context.Background()
	rs := testnode.NewRemoteServer(t, "mastodon")
	forum := rs.Actor("forum", "Group", 0)
	announceID := n.URLs.Forum("kitchen") + "#announce-1"
	err := n.Store.EnqueueActivities(ctx, []storage.NewActivity{{APID: announceID, ActorID: n.URLs.Forum("kitchen"),
		KeyOwnerKind: storage.KeyOwnerForum, KeyOwnerID: n.Fx.Forum.ID, Body: []byte(`{}`),
		Inboxes: []storage.Recipient{{Inbox: forum.Inbox()}, {Inbox: "https://other.example/inbox"}}}})
	if err != nil {
		t.Fatal(err)
	}
	act, err := n.Store.ActivityByAPID(ctx, announceID)
	if err != nil {
		t.Fatal(err)
	}
	n.Deliver(t, forum, forum.Activity("Reject", announceID))
	jobs, err := n.Store.PendingDeliveries(ctx, act.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].Inbox != "https://other.example/inbox" {
		t.Fatalf("jobs left after the Reject: %+v", jobs)
	}
}
