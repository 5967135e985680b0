package node_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// notified lists a member's notifications as "kind by handle".
func notified(t *testing.T, n *testNode, m *member) []string {
	t.Helper()
	ns, err := n.Store.Notifications(context.Background(), m.account().ID, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range ns {
		out = append(out, x.Kind+" by "+x.Actor.Handle)
	}
	return out
}

var personThreadLink = regexp.MustCompile(`<li><a href="/t/([0-9a-z]+)">`)

// Two nodes: a member of A follows a member of B. B's member's new thread
// reaches A as a thread of its own, listed on /follow-remote; the answer
// there reaches B as a reply in the original thread and notifies its
// author. B's member's mention of A's member notifies A's member.
func TestFollowedPersonConversationBetweenNodes(t *testing.T) {
	a, b := startNode(t), startNode(t)
	alice, bob := a.register("alice"), b.register("bob")
	alice.post("/follow-remote", url.Values{"q": {b.URLs.Member("bob")}})
	waitFor(t, "B to accept alice's follow", waitLong, func() bool {
		return !strings.Contains(alice.get("/follow-remote"), "Waiting for approval")
	})

	thread := bob.newThread("Crumb structure", "Open or tight, which do you prefer?")
	var mirror string
	waitFor(t, "bob's thread listed for alice on A", waitLong, func() bool {
		m := personThreadLink.FindStringSubmatch(alice.get("/follow-remote"))
		if m != nil {
			mirror = m[1]
		}
		return m != nil
	})
	page := alice.get("/t/" + mirror)
	if !strings.Contains(page, "<title>Crumb structure") || strings.Contains(page, "<strong>Crumb structure</strong>") || !strings.Contains(page, "Open or tight") {
		t.Fatalf("the thread on A does not show bob's post:\n%.2000s", page)
	}

	alice.post("/t/"+mirror+"/reply", url.Values{"body": {"Open, always."}})
	waitFor(t, "alice's answer in bob's thread on B", waitLong, func() bool {
		return strings.Contains(bob.get("/t/"+thread.String()), "Open, always.")
	})
	waitFor(t, "bob notified of alice's reply", waitLong, func() bool {
		return strings.Contains(strings.Join(notified(t, b, bob), ","), "reply by alice")
	})

	bob.newThread("Question for Alice", "@alice@"+a.URLs.Host()+" how long do you proof?")
	waitFor(t, "alice notified of bob's mention", waitLong, func() bool {
		return strings.Contains(strings.Join(notified(t, a, alice), ","), "mention by bob")
	})
	if got := notified(t, a, alice); len(got) != 1 {
		t.Errorf("alice's notifications = %v, want the mention only", got)
	}
}
