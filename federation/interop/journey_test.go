package interop

import (
	"context"
	"crypto/rand"
	"fmt"
	"html"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// journey is one test's cast: its own GoToSocial user, and a member of
// the node signed in through the web.
type journey struct {
	t      *testing.T
	ctx    context.Context
	node   *node
	fedi   *Mastodon // the GoToSocial user
	user   string    // its username
	member *Browser
	handle string // the member's handle on the node
}

// begin starts a journey for GoToSocial user user on node n, with a
// fresh member of the node signed in.
func begin(t *testing.T, n *node, user string) *journey {
	t.Helper()
	if env.skip != "" {
		t.Skip(env.skip)
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	j := &journey{
		t: t, ctx: ctx, node: n, user: user,
		fedi: &Mastodon{Base: env.gtsBase, Token: env.tokens[user], HTTP: &http.Client{Timeout: 60 * time.Second}},
	}
	j.member, j.handle = j.newMember(user)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node log (%s), lines about this journey:\n%s", n.log, n.logLines(user, j.handle, "level=WARN", "level=ERROR"))
		}
	})
	return j
}

const memberPassword = "interop-member-pass-1"

// newMember creates a member named after name with `skein user create`
// and signs them in from a loopback address of their own.
func (j *journey) newMember(name string) (*Browser, string) {
	j.t.Helper()
	n := env.nextAddr.Add(1)
	handle := fmt.Sprintf("m%d_%s", n, strings.ReplaceAll(name, "_", ""))
	if err := j.node.admin(memberPassword+"\n", "user", "create", handle); err != nil {
		j.t.Fatal(err)
	}
	b := NewBrowser(j.node.Base, net.IPv4(127, 0, byte(1+n/250), byte(2+n%250)))
	if err := b.SignIn(j.ctx, handle, memberPassword); err != nil {
		j.t.Fatalf("member %s signs in: %v", handle, err)
	}
	return b, handle
}

// word is a token no other journey writes, to find a post by.
func word(prefix string) string {
	return prefix + "-" + strings.ToLower(rand.Text()[:8])
}

// thread starts a thread in the node's first forum and returns its id
// and its first post's id.
func (j *journey) thread(title, body string) (threadID, firstPostID string) {
	j.t.Helper()
	id, err := j.member.StartThread(j.ctx, "general", title, body)
	if err != nil {
		j.t.Fatalf("start a thread: %v", err)
	}
	posts := j.postIDs(id)
	if len(posts) == 0 {
		j.t.Fatalf("thread %s shows no post", id)
	}
	return id, posts[0]
}

var postAnchor = regexp.MustCompile(`<article class="post" id="p([0-9a-z]+)"`)

// postIDs are the ids of the posts the thread's first page shows.
func (j *journey) postIDs(threadID string) []string {
	j.t.Helper()
	p := j.page("/t/" + threadID)
	var ids []string
	for _, m := range postAnchor.FindAllStringSubmatch(p.Body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// page loads a page of the node as the journey's member.
func (j *journey) page(path string) *Page {
	j.t.Helper()
	p, err := j.member.Get(j.ctx, path)
	if err != nil {
		j.t.Fatal(err)
	}
	return p
}

func (j *journey) reply(threadID, body, replyTo string) string {
	j.t.Helper()
	id, err := j.member.Reply(j.ctx, threadID, body, replyTo, nil)
	if err != nil {
		j.t.Fatalf("member replies: %v", err)
	}
	return id
}

// threadShows checks that the thread's first page shows text (as HTML
// text: escaped) in one of its posts.
func (j *journey) threadShows(threadID, text string) error {
	p, err := j.member.Get(j.ctx, "/t/"+threadID)
	if err != nil {
		return err
	}
	if p.Status != http.StatusOK {
		return fmt.Errorf("thread page: %d", p.Status)
	}
	if !strings.Contains(p.Body, html.EscapeString(text)) {
		return fmt.Errorf("thread %s does not show %q", threadID, text)
	}
	return nil
}

// Addresses of the node's actors and posts, as a fediverse user pastes
// them.

func (n *node) threadURL(id string) string   { return n.Base + "/t/" + id }
func (n *node) postURL(id string) string     { return n.Base + "/p/" + id }
func (n *node) memberURL(h string) string    { return n.Base + "/u/" + h }
func (n *node) forumURL(slug string) string  { return n.Base + "/f/" + slug }
func (n *node) handleOf(name string) string  { return "@" + name + "@" + n.Host }
func (j *journey) fediHandle() string        { return "@" + j.user + "@" + env.gtsHost }
func (j *journey) resolve(q string) *Account { return j.must(j.fedi.ResolveAccount(j.ctx, q)) }

func (j *journey) must(a *Account, err error) *Account {
	j.t.Helper()
	if err != nil {
		j.t.Fatal(err)
	}
	return a
}

func (j *journey) resolveStatus(q string) *Status {
	j.t.Helper()
	s, err := j.fedi.ResolveStatus(j.ctx, q)
	if err != nil {
		j.t.Fatal(err)
	}
	return s
}

// follow has the GoToSocial user follow account a and waits until the
// node accepted: the button says "Unfollow", no longer "Requested".
func (j *journey) follow(a *Account) {
	j.t.Helper()
	if _, err := j.fedi.Follow(j.ctx, a.ID); err != nil {
		j.t.Fatal(err)
	}
	eventually(j.t, j.user+" follows "+a.Acct, func() error {
		r, err := j.fedi.Relationship(j.ctx, a.ID)
		if err != nil {
			return err
		}
		if !r.Following {
			return fmt.Errorf("following=%v requested=%v", r.Following, r.Requested)
		}
		return nil
	})
}

// followerCount is totalItems of a collection the node serves.
func (j *journey) followerCount(collection string) (int, error) {
	m, err := ActivityJSON(j.ctx, j.member.HTTP, collection)
	if err != nil {
		return 0, err
	}
	n, _ := m["totalItems"].(float64)
	return int(n), nil
}

// homeShows finds a status whose text (or whose boosted status's text)
// contains text in the GoToSocial user's home timeline.
func (j *journey) homeShows(text string) (*Status, error) {
	sts, err := j.fedi.HomeTimeline(j.ctx)
	if err != nil {
		return nil, err
	}
	for i := range sts {
		s := &sts[i]
		if s.Reblog != nil {
			s = s.Reblog
		}
		if strings.Contains(s.Content, text) {
			return s, nil
		}
	}
	return nil, fmt.Errorf("home timeline (%d statuses) has no %q", len(sts), text)
}

var threadLink = regexp.MustCompile(`href="/t/([0-9a-z]+)`)

// replyTo composes a reply to st as a Mastodon client does: the compose
// box opens with the handles of the post's author and of everyone it
// mentions. The API adds no mentions by itself, and without them the
// reply is addressed to the replier's followers only.
func replyTo(st *Status, text string) NewStatus {
	var b strings.Builder
	for _, acct := range append([]string{st.Account.Acct}, mentionAccts(st)...) {
		b.WriteString("@" + acct + " ")
	}
	return NewStatus{Text: b.String() + text, InReplyToID: st.ID}
}

func mentionAccts(st *Status) []string {
	var out []string
	for _, m := range st.Mentions {
		out = append(out, m.Acct)
	}
	return out
}
