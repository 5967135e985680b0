package interop

import (
	"fmt"
	"strings"
	"testing"
)

// A GoToSocial user mentions a member: the member finds it on their
// notifications page, linking to the post.
func TestMentionNotifiesMember(t *testing.T) {
	j := begin(t, env.plain, "poster")
	text := word("mention")
	if _, err := j.fedi.Post(j.ctx, NewStatus{Text: j.node.handleOf(j.handle) + " are you there? " + text}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the member's notifications show the mention", func() error {
		p := j.page("/notifications")
		if p.Status != 200 {
			return fmt.Errorf("/notifications: %d", p.Status)
		}
		if !strings.Contains(p.Body, text) && !strings.Contains(p.Body, j.user) {
			return fmt.Errorf("/notifications shows nothing from %s", j.user)
		}
		return nil
	})
}

// A member answers a GoToSocial user's reply in a thread: the user gets a
// mention notification for it.
func TestMemberReplyNotifiesGoToSocialUser(t *testing.T) {
	j := begin(t, env.plain, "replier")
	id, first := j.thread("Answers "+word("t"), "Say something.")
	st := j.resolveStatus(j.node.postURL(first))
	asked := word("question")
	q, err := j.fedi.Post(j.ctx, replyTo(st, "A question: "+asked))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the question shows in the thread", func() error { return j.threadShows(id, asked) })
	posts := j.postIDs(id)
	qPost := posts[len(posts)-1] // the question, the thread's last post
	answer := word("answer")
	j.reply(id, "The answer: "+answer, qPost)
	eventually(t, "the GoToSocial user is notified of the answer", func() error {
		ns, err := j.fedi.Notifications(j.ctx)
		if err != nil {
			return err
		}
		for _, n := range ns {
			if n.Type == "mention" && n.Status != nil && strings.Contains(n.Status.Content, answer) {
				if n.Status.InReplyToID == nil || *n.Status.InReplyToID != q.ID {
					return fmt.Errorf("the answer is not a reply to the question (in_reply_to_id %v)", n.Status.InReplyToID)
				}
				return nil
			}
		}
		return fmt.Errorf("%d notifications, no mention saying %q", len(ns), answer)
	})
}

// Under --authorized-fetch, a GoToSocial user the node has never seen
// finds a thread and follows it.
func TestAuthorizedFetchStranger(t *testing.T) {
	j := begin(t, env.strict, "reader")
	id, _ := j.thread("Strict "+word("t"), "Only signed fetches here.")
	a, err := j.fedi.ResolveAccount(j.ctx, j.node.threadURL(id))
	if err != nil {
		t.Fatalf("a stranger looks the thread up: %v", err)
	}
	j.follow(a)
}
