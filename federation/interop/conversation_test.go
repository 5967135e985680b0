package interop

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A GoToSocial user follows a thread; a member's reply on the web shows
// in the user's home timeline.
func TestMemberReplyReachesHomeTimeline(t *testing.T) {
	j := begin(t, env.plain, "follower")
	id, _ := j.thread("Timeline "+word("t"), "Follow this thread.")
	a := j.resolve(j.node.threadURL(id))
	j.follow(a)
	text := word("web-reply")
	j.reply(id, "A reply from the web: "+text, "")
	eventually(t, "the reply is in the home timeline", func() error {
		_, err := j.homeShows(text)
		return err
	})
}

// A GoToSocial user replies to a thread's first post, favourites it,
// edits the reply and deletes it; each shows on the thread's page.
func TestGoToSocialReplyFavouriteEditDelete(t *testing.T) {
	j := begin(t, env.plain, "replier")
	id, first := j.thread("Replies "+word("t"), "Answer me from the fediverse.")
	st := j.resolveStatus(j.node.postURL(first))

	text := word("fedi-reply")
	reply, err := j.fedi.Post(j.ctx, replyTo(st, "Answering: "+text))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reply shows in the thread", func() error { return j.threadShows(id, text) })

	if err := j.fedi.Favourite(j.ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the like shows on the first post", func() error {
		p := j.page("/t/" + id)
		first, _, _ := strings.Cut(p.Body, "</article>")
		if !strings.Contains(first, `<span class="likes">1 like</span>`) && !strings.Contains(first, `<span class="count">1</span>`) {
			return fmt.Errorf("the first post shows no like")
		}
		return nil
	})

	edited := word("fedi-edited")
	if _, err := j.fedi.Edit(j.ctx, reply.ID, replyTo(st, "Answering, edited: "+edited)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the edit shows in the thread", func() error {
		if err := j.threadShows(id, edited); err != nil {
			return err
		}
		if j.threadShows(id, text) == nil {
			return fmt.Errorf("the thread still shows the first version")
		}
		return nil
	})

	if err := j.fedi.Delete(j.ctx, reply.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deletion shows in the thread", func() error {
		if j.threadShows(id, edited) == nil {
			return fmt.Errorf("the thread still shows the deleted reply")
		}
		return nil
	})
}

// A GoToSocial user who opens a thread's first post sees the replies
// written before they came, in its context view.
func TestContextShowsEarlierReplies(t *testing.T) {
	j := begin(t, env.plain, "reader")
	id, first := j.thread("History "+word("t"), "The start of a conversation.")
	var words []string
	for i := range 3 {
		w := word(fmt.Sprintf("earlier%d", i))
		words = append(words, w)
		j.reply(id, "Earlier reply "+w, "")
	}
	st := j.resolveStatus(j.node.postURL(first))
	eventually(t, "the context lists the earlier replies", func() error {
		c, err := j.fedi.Context(j.ctx, st.ID)
		if err != nil {
			return err
		}
		var all strings.Builder
		for _, d := range c.Descendants {
			all.WriteString(d.Content)
		}
		for _, w := range words {
			if !strings.Contains(all.String(), w) {
				return fmt.Errorf("%d descendants, none says %q", len(c.Descendants), w)
			}
		}
		return nil
	})
}

// A content warning reaches the other side as a warning, with the text
// behind it: from GoToSocial into the thread, and from a member to a
// GoToSocial user following the thread.
func TestContentWarningBothWays(t *testing.T) {
	j := begin(t, env.plain, "follower")
	id, first := j.thread("Warnings "+word("t"), "Careful now.")

	t.Run("from GoToSocial", func(t *testing.T) {
		j := j.sub(t)
		st := j.resolveStatus(j.node.postURL(first))
		warning, hidden := word("cw-spoiler"), word("cw-hidden")
		cw := replyTo(st, "Behind the warning: "+hidden)
		cw.SpoilerText = warning
		if _, err := j.fedi.Post(j.ctx, cw); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the reply shows in the thread", func() error { return j.threadShows(id, hidden) })
		// Collapsed: the text sits in a <details> element whose <summary>
		// is the warning, so a reader opens it on purpose.
		body := j.page("/t/" + id).Body
		at := strings.Index(body, hidden)
		open := strings.LastIndex(body[:at], "<details")
		if open < 0 || strings.Contains(body[open:at], "</details>") || !strings.Contains(body[open:at], warning) {
			t.Errorf("the reply's text is not collapsed behind its warning %q:\n%s", warning, excerptAround(body, at))
		}
	})

	t.Run("none on a thread's opening post", func(t *testing.T) {
		j := j.sub(t)
		st := j.resolveStatus(j.node.postURL(first))
		if st.SpoilerText != "" {
			t.Errorf("the opening post shows behind the warning %q", st.SpoilerText)
		}
	})

	t.Run("from a member", func(t *testing.T) {
		j := j.sub(t)
		// Opened in GoToSocial by its address, a member's reply shows
		// behind its warning.
		warning, hidden := word("cw-member"), word("cw-member-hidden")
		post, err := j.member.Reply(j.ctx, id, "Behind my warning: "+hidden, "", map[string][]string{"summary": {warning}})
		if err != nil {
			t.Fatal(err)
		}
		if s := j.resolveStatus(j.node.postURL(post)); s.SpoilerText != warning || !s.Sensitive || !strings.Contains(s.Content, hidden) {
			t.Errorf("the reply opened in GoToSocial: spoiler_text %q sensitive %v content %q", s.SpoilerText, s.Sensitive, s.Content)
		}

		// Pushed to a follower of the thread, it reaches their home
		// timeline behind the warning too.
		j.follow(j.resolve(j.node.threadURL(id)))
		warning, hidden = word("cw-member"), word("cw-member-hidden")
		if _, err := j.member.Reply(j.ctx, id, "Behind my warning: "+hidden, "", map[string][]string{"summary": {warning}}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the reply reaches the home timeline behind its warning", func() error {
			s, err := j.homeShows(hidden)
			if err != nil {
				return err
			}
			if s.SpoilerText != warning || !s.Sensitive {
				return fmt.Errorf("status shows spoiler_text %q sensitive %v", s.SpoilerText, s.Sensitive)
			}
			return nil
		})
	})
}

// sub is the same journey inside a subtest.
func (j *journey) sub(t *testing.T) *journey {
	c := *j
	c.t = t
	return &c
}

func excerptAround(s string, at int) string {
	from, to := max(0, at-400), min(len(s), at+200)
	return s[from:to]
}

// An ampersand and a "<" a member types reach GoToSocial as typed: the
// Note's content escapes them once, and GoToSocial shows them once.
func TestAmpersandRoundTrips(t *testing.T) {
	j := begin(t, env.plain, "reader")
	id, _ := j.thread("Seasoning "+word("t"), "What goes on the fries?")
	w := word("amp")
	reply := j.reply(id, "Salt & pepper, AT&T, 1 < 2 "+w, "")
	escaped := "Salt &amp; pepper, AT&amp;T, 1 &lt; 2 " + w

	note, err := ActivityJSON(j.ctx, &http.Client{Timeout: 10 * time.Second}, j.node.postURL(reply))
	if err != nil {
		t.Fatal(err)
	}
	if content, _ := note["content"].(string); !strings.Contains(content, escaped) {
		t.Fatalf("Note content %q, want it to hold %q", content, escaped)
	}
	// GoToSocial re-serialises the HTML (it leaves an "&" before a
	// space bare, which HTML allows): judge the text it shows.
	st := j.resolveStatus(j.node.postURL(reply))
	if text := html.UnescapeString(st.Content); !strings.Contains(text, "Salt & pepper, AT&T, 1 < 2 "+w) || strings.Contains(st.Content, "&amp;amp;") {
		t.Errorf("GoToSocial shows %q", st.Content)
	}
}
