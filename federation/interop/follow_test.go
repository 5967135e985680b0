package interop

import (
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
)

// A GoToSocial user finds the node's thread, forum and member by the
// address on the page and by handle.
func TestLookupByURLAndHandle(t *testing.T) {
	j := begin(t, env.plain, "reader")
	n := j.node
	threadID, firstPost := j.thread("Lookup "+word("t"), "Can you find me? "+word("body"))

	for _, c := range []struct{ name, q, wantURL string }{
		{"thread by URL", n.threadURL(threadID), n.threadURL(threadID)},
		{"thread by handle", n.handleOf("t." + threadID), n.threadURL(threadID)},
		{"forum by URL", n.forumURL("general"), n.forumURL("general")},
		{"forum by handle", n.handleOf("general"), n.forumURL("general")},
		{"member by URL", n.memberURL(j.handle), n.memberURL(j.handle)},
		{"member by handle", n.handleOf(j.handle), n.memberURL(j.handle)},
	} {
		a, err := j.fedi.ResolveAccount(j.ctx, c.q)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if a.URL != c.wantURL {
			t.Errorf("%s: found %s (%s), want %s", c.name, a.Acct, a.URL, c.wantURL)
		}
	}
	s := j.resolveStatus(n.postURL(firstPost))
	if s.URI != n.postURL(firstPost) || !strings.Contains(s.Content, "Can you find me?") {
		t.Errorf("post by URL: found %s %q", s.URI, s.Content)
	}
}

// On first contact, a GoToSocial user follows a thread, a forum and a
// member, each answered with an Accept; the node counts the follower.
func TestFollowOnFirstContact(t *testing.T) {
	for _, c := range []struct{ name, user string }{
		{"thread", "first_thread"},
		{"forum", "first_forum"},
		{"member", "first_member"},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := begin(t, env.plain, c.user)
			n := j.node
			var actor string
			switch c.name {
			case "thread":
				id, _ := j.thread("Follow me "+word("t"), "A thread to follow.")
				actor = n.threadURL(id)
			case "forum":
				// A forum of its own: a follower of the shared one would
				// be sent every other journey's threads, and GoToSocial
				// would know their posts before those journeys look.
				slug := "first-" + strings.ToLower(rand.Text()[:6])
				if err := n.admin("", "forum", "create", slug, "--title", "First contact"); err != nil {
					t.Fatal(err)
				}
				actor = n.forumURL(slug)
			case "member":
				actor = n.memberURL(j.handle)
			}
			a := j.resolve(actor)
			// A thread's author follows it too, so count from here.
			before, err := j.followerCount(actor + "/followers")
			if err != nil {
				t.Fatal(err)
			}
			j.follow(a)
			eventually(t, "the node counts the follower", func() error {
				n, err := j.followerCount(actor + "/followers")
				if err != nil {
					return err
				}
				if n != before+1 {
					return fmt.Errorf("%s has %d followers, %d before the follow", actor, n, before)
				}
				return nil
			})
		})
	}
}

// A GoToSocial user follows a thread, then unfollows it: the node drops
// the follower.
func TestUnfollow(t *testing.T) {
	// Not "follower": an unfollow by that user while the home-timeline
	// journey's boost arrived once left the boost out of its home
	// timeline, though GoToSocial had stored it.
	j := begin(t, env.plain, "first_thread")
	id, _ := j.thread("Leave me "+word("t"), "A thread to leave.")
	a := j.resolve(j.node.threadURL(id))
	followers := j.node.threadURL(id) + "/followers"
	before, err := j.followerCount(followers) // the thread's author follows it too
	if err != nil {
		t.Fatal(err)
	}
	j.follow(a)
	if n, err := j.followerCount(followers); err != nil || n != before+1 {
		t.Fatalf("followers after the follow: %d (%d before), %v", n, before, err)
	}
	r, err := j.fedi.Unfollow(j.ctx, a.ID)
	if err != nil || r.Following {
		t.Fatalf("unfollow: %+v, %v", r, err)
	}
	eventually(t, "the node drops the follower", func() error {
		n, err := j.followerCount(followers)
		if err != nil {
			return err
		}
		if n != before {
			return fmt.Errorf("%d followers, %d before the follow", n, before)
		}
		return nil
	})
}

// A member follows a GoToSocial user from /follow-remote: the follow is
// accepted, and the user's posts appear for the member to read.
func TestMemberFollowsGoToSocialUser(t *testing.T) {
	j := begin(t, env.plain, "poster")
	if err := j.member.FollowRemote(j.ctx, j.fediHandle()); err != nil {
		t.Fatalf("follow %s: %v", j.fediHandle(), err)
	}
	eventually(t, "the follow is accepted", func() error {
		p := j.page("/follow-remote")
		if !strings.Contains(p.Body, "@"+j.user+"@"+env.gtsHost) {
			return fmt.Errorf("/follow-remote does not list %s", j.fediHandle())
		}
		if strings.Contains(p.Body, "Waiting for approval") {
			return fmt.Errorf("still waiting for approval")
		}
		return nil
	})
	text := word("fedi-post")
	if _, err := j.fedi.Post(j.ctx, NewStatus{Text: "Hello from GoToSocial " + text}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the member sees the post", func() error {
		return j.memberSees(text)
	})
}

// memberSees looks for text where a member looks for what they follow:
// /followed, /follow-remote and the threads they link to.
func (j *journey) memberSees(text string) error {
	var threads []string
	for _, path := range []string{"/followed", "/follow-remote"} {
		p := j.page(path)
		if strings.Contains(p.Body, text) {
			return nil
		}
		for _, m := range threadLink.FindAllStringSubmatch(p.Body, -1) {
			threads = append(threads, m[1])
		}
	}
	for _, id := range threads {
		if j.threadShows(id, text) == nil {
			return nil
		}
	}
	return fmt.Errorf("neither /followed, /follow-remote nor the %d threads they link show %q", len(threads), text)
}

// A thread's, a member's and a forum's profiles in GoToSocial count the
// posts their outboxes hold, not zero.
func TestProfilesCountPosts(t *testing.T) {
	j := begin(t, env.plain, "reader")
	n := j.node
	id, _ := j.thread("Counted "+word("t"), "One.")
	j.reply(id, "Two.", "")
	j.reply(id, "Three.", "")
	for _, c := range []struct {
		name, q string
		atLeast int
	}{
		{"thread", n.threadURL(id), 3},
		{"member", n.memberURL(j.handle), 3},
		{"forum", n.forumURL("general"), 1},
	} {
		// GoToSocial reads the count from the outbox after it answers
		// the search.
		eventually(t, c.name+" counts its posts", func() error {
			a, err := j.fedi.ResolveAccount(j.ctx, c.q)
			if err != nil {
				return err
			}
			if a.StatusesCount < c.atLeast || (c.name == "thread" && a.StatusesCount != 3) {
				return fmt.Errorf("%s shows %d posts, want %d", c.name, a.StatusesCount, c.atLeast)
			}
			return nil
		})
	}
}
