package web

import (
	"context"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// The posts of a thread page, read and rendered once for every reader.
// A member's thread page is made for them on each visit (it shows what
// they liked and may do), yet nearly all of it is what everyone sees: the
// posts, their authors, their text. Reading those twenty rows and
// executing the post template twenty times were two thirds of the page's
// cost. So a page's posts are kept here under the thread's version, which
// storage bumps in the transaction of every change the thread's pages
// show (a reply, an edit, a deletion, a like, an image removed), and each
// post is kept rendered once for each set of controls a reader gets under
// it (postControls): a visit reads only what is the member's own, their
// likes and read position, and joins kept fragments.
//
// Like the guest page cache, a page is kept at most guestCacheTTL: the
// names, avatars, roles and reputation of the people on it are not in the
// thread's version and may lag that long. A member's own posts are
// rendered on each visit with their account as their session read it, so
// what they change about themselves shows at once.

// threadPostsBytes bounds the pages of posts kept, with their renderings.
const threadPostsBytes = 32 << 20

// postControls is what one reader gets under a post beyond what everyone
// sees; each combination is rendered once per post and kept.
type postControls uint8

const (
	controlLike   postControls = 1 << iota // the like button
	controlLiked                           // pressed
	controlEdit                            // own post
	controlDelete                          // own post, or a moderator
	controlReport                          // someone else's post
	controlQuote                           // the reader may reply
	firstUnread                            // the marker before the first unread post
)

// threadPosts is a size-bounded set of kept pages. When it is full, pages
// are dropped at random: the pages read most are put back soonest.
type threadPosts struct {
	mu    sync.Mutex
	max   int64
	size  int64 // of the pages in the map, fragments included
	pages map[threadPageKey]*threadPage
}

type threadPageKey struct {
	thread storage.ID
	page   int64
}

// threadPage is one page of a thread's posts as every reader sees it.
type threadPage struct {
	key         threadPageKey
	version     int64     // of the thread it was read at
	expires     time.Time // guestCacheTTL after it was read
	edited      time.Time // the latest edit of its posts, for Last-Modified
	description string    // the opening post's, on page 1
	posts       []pagePost

	mu   sync.Mutex // guards the renderings of posts
	size int64      // guarded by threadPosts.mu
}

// pagePost is one post of a kept page.
type pagePost struct {
	post      storage.Post // without its source
	view      postView     // with no controls
	quotePath string       // the link that quotes it into the reply box
	rendered  []renderedPost
}

type renderedPost struct {
	controls postControls
	html     string
}

func newThreadPosts(maxBytes int64) *threadPosts {
	return &threadPosts{max: maxBytes, pages: make(map[threadPageKey]*threadPage)}
}

// get returns the kept page if it was read at version and is fresh.
func (c *threadPosts) get(key threadPageKey, version int64, now time.Time) *threadPage {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pages[key]
	if p == nil || p.version != version || now.After(p.expires) {
		return nil
	}
	return p
}

// put keeps p, unless a page read at a later version is kept already.
func (c *threadPosts) put(p *threadPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.pages[p.key]; old != nil {
		if old.version > p.version {
			return
		}
		c.size -= old.size
	}
	c.pages[p.key] = p
	c.size += p.size
	c.trim()
}

// grow counts n more bytes rendered into p, if p is still kept.
func (c *threadPosts) grow(p *threadPage, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pages[p.key] != p {
		return
	}
	p.size += n
	c.size += n
	c.trim()
}

// trim drops pages until the kept ones fit; c.mu is held.
func (c *threadPosts) trim() {
	for key, p := range c.pages {
		if c.size <= c.max {
			return
		}
		delete(c.pages, key)
		c.size -= p.size
	}
}

// threadPageOf returns page n of thread t as every reader sees it, kept
// or read and kept.
func (s *Server) threadPageOf(ctx context.Context, t *storage.ThreadInForum, n int64) (*threadPage, error) {
	key := threadPageKey{t.ID, n}
	now := s.now()
	if p := s.threadPosts.get(key, t.Version, now); p != nil {
		return p, nil
	}
	posts, err := s.Store.ThreadPage(ctx, t.ID, n)
	if err != nil {
		return nil, err
	}
	attachments, err := s.postMedia(ctx, posts)
	if err != nil {
		return nil, err
	}
	p := &threadPage{key: key, version: t.Version, expires: now.Add(guestCacheTTL), posts: make([]pagePost, len(posts))}
	if len(posts) > 0 && n == 1 {
		p.description = posts[0].Description(200)
	}
	pageQuery := "?page=" + strconv.FormatInt(n, 10) + "&quote="
	for i := range posts {
		post := &posts[i]
		post.Source = "" // the page never shows it
		v := s.newPostView(post)
		v.Media = attachments[post.ID]
		v.ByOP = post.AuthorID == t.AuthorID
		p.posts[i] = pagePost{post: *post, view: v, quotePath: s.path(site.ThreadPath(t.ID)) + pageQuery + v.ID + "#reply"}
		if post.EditedAt != nil && post.EditedAt.After(p.edited) {
			p.edited = *post.EditedAt
		}
		p.size += int64(len(v.HTML)) + 1024
	}
	s.threadPosts.put(p)
	return p, nil
}

// withControls is the view of post pp as a reader with controls c sees it.
func (pp *pagePost) withControls(v postView, c postControls) postView {
	v.CanLike = c&controlLike != 0
	v.Liked = c&controlLiked != 0
	v.CanEdit = c&controlEdit != 0
	v.CanDelete = c&controlDelete != 0
	v.CanReport = c&controlReport != 0
	v.FirstUnread = c&firstUnread != 0
	if c&controlQuote != 0 {
		v.QuotePath, v.QuoteText = pp.quotePath, v.Path+"/quote"
	}
	return v
}

// renderPosts is the posts of page p as a reader with controls[i] under
// post i sees them, joined from kept renderings where it can. own, when
// not nil, is the reader's account: their own posts show it as it is now.
func (s *Server) renderPosts(p *threadPage, controls []postControls, own *storage.Account) (template.HTML, error) {
	mine := func(pp *pagePost) bool { return own != nil && pp.post.AuthorID == own.ID && !pp.post.IsDeleted() }
	html := make([]string, len(p.posts)) // empty where no rendering is kept yet
	p.mu.Lock()
	for i := range p.posts {
		if !mine(&p.posts[i]) {
			html[i] = p.posts[i].renderedWith(controls[i])
		}
	}
	p.mu.Unlock()
	var added int64
	for i := range p.posts {
		if html[i] != "" {
			continue
		}
		pp := &p.posts[i]
		v := pp.view
		if mine(pp) {
			post := pp.post
			post.Author = own
			v = s.newPostView(&post)
			v.Media, v.ByOP = pp.view.Media, pp.view.ByOP
		}
		var b strings.Builder
		if err := s.pages["thread"].ExecuteTemplate(&b, "post", pp.withControls(v, controls[i])); err != nil {
			return "", fmt.Errorf("render post %s: %w", v.ID, err)
		}
		html[i] = b.String()
		if !mine(pp) {
			p.mu.Lock()
			if pp.renderedWith(controls[i]) == "" {
				pp.rendered = append(pp.rendered, renderedPost{controls[i], html[i]})
				added += int64(len(html[i])) + 64
			}
			p.mu.Unlock()
		}
	}
	if added > 0 {
		s.threadPosts.grow(p, added)
	}
	n := 0
	for _, h := range html {
		n += len(h)
	}
	var b strings.Builder
	b.Grow(n)
	for _, h := range html {
		b.WriteString(h)
	}
	return template.HTML(b.String()), nil
}

// renderedWith is the kept rendering of pp with controls c, or "";
// its page's mu is held.
func (pp *pagePost) renderedWith(c postControls) string {
	for _, r := range pp.rendered {
		if r.controls == c {
			return r.html
		}
	}
	return ""
}
