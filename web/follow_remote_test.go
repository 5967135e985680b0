package web_test

import (
	"context"
	"testing"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/web"
)

// /follow-remote lists, under a followed person, the threads their posts
// opened here, newest first, linking each.
func TestFollowRemoteListsPersonPosts(t *testing.T) {
	ts := newSiteWith(t, func(c *web.Config) {
		c.FollowRemote = func(context.Context, *storage.Account, string) (*storage.Account, error) { return nil, nil }
	})
	ctx := context.Background()
	apID := "https://social.example/users/ana"
	ana, err := ts.Store.UpsertRemoteAccount(ctx, &storage.Account{Handle: "ana", Domain: "social.example", APID: &apID,
		ActorType: "Person", Inbox: apID + "/inbox"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Store.AddFollow(ctx, ts.FX.Alice.ID, storage.FollowAccount, ana.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	var threads []*storage.Thread
	for _, text := range []string{"Rye is up", "Spelt next week"} {
		note := apID + "/statuses/" + text[:3]
		th, err := ts.Store.MirrorThread(ctx, storage.NewMirror{APID: note, RemoteActorID: &ana.ID, Title: text,
			First: storage.NewPost{AuthorID: ana.ID, HTML: "<p>" + text + "</p>", APID: &note, URL: note}})
		if err != nil {
			t.Fatal(err)
		}
		threads = append(threads, th)
	}
	b := ts.browser()
	b.signIn("alice")
	b.get("/follow-remote").wantStatus(t, 200).wantContains(t, "@ana@social.example",
		`<a href="`+site.ThreadPath(threads[1].ID)+`">Spelt next week</a>`,
		`<a href="`+site.ThreadPath(threads[0].ID)+`">Rye is up</a>`)
}
