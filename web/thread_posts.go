package web

import (
	"context"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skein-forum/skein/httpcache"
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

// threadPostsBytes bounds the pages of posts kept, with their renderings:
// a post of a few paragraphs takes about 4 KB with two sets of controls,
// so this keeps about 12,000 posts, 600 pages. When it is full, the
// pages read least recently go first.
const threadPostsBytes = 48 << 20

// ThreadPostsStats reports the pages of posts kept for every reader and
// how often a visit found its page kept, for metrics and tests.
func (s *Server) ThreadPostsStats() httpcache.Stats { return s.threadPosts.Stats() }

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

// unreadMarker goes before the first post a member has not read. It is
// the same for every reader and every post, so it is written as it is
// rather than rendered on each visit.
const unreadMarker = "\n" + `<p class="unread-marker" id="unread"><span>New since your last visit</span></p>`

// threadPageKey names one page of a thread's posts.
type threadPageKey struct {
	thread storage.ID
	page   int64
}

// threadPage is one page of a thread's posts as every reader sees it,
// kept in Server.threadPosts under the thread's version.
type threadPage struct {
	key         threadPageKey
	edited      time.Time // the latest edit of its posts, for Last-Modified
	description string    // the opening post's, on page 1
	posts       []pagePost
	htmlSize    int   // about how long the posts are rendered
	readBytes   int64 // about what it held as read; renderings grow it in the cache

	mu       sync.Mutex               // guards the renderings of posts and sections
	sections map[string]template.HTML // see threadSection
}

// CacheBytes is what the page held when it was read: the renderings
// added later are counted as they are made (threadPosts.Grow).
func (p *threadPage) CacheBytes() int64 { return p.readBytes }

// pagePost is one post of a kept page: its opening and closing HTML, the
// same for every reader, and its actions as rendered for each set of
// controls asked for so far.
type pagePost struct {
	post        storage.Post // without its source
	view        postView     // with no controls
	quotePath   string       // the link that quotes it into the reply box
	open, close string       // its templates postopen and postclose
	actions     []renderedPost
}

type renderedPost struct {
	controls postControls
	html     string
}

// threadPageOf returns page n of thread t as every reader sees it, kept
// or read and kept.
func (s *Server) threadPageOf(ctx context.Context, t *storage.ThreadInForum, n int64) (*threadPage, error) {
	key := threadPageKey{t.ID, n}
	now := s.now()
	if p := s.threadPosts.Get(key, t.Version, now); p != nil {
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
	p := &threadPage{key: key, posts: make([]pagePost, len(posts))}
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
		pp := pagePost{post: *post, view: v, quotePath: s.path(site.ThreadPath(t.ID)) + pageQuery + v.ID + "#reply"}
		if pp.open, err = s.renderPostPart("postopen", &v); err != nil {
			return nil, err
		}
		if pp.close, err = s.renderPostPart("postclose", &v); err != nil {
			return nil, err
		}
		p.posts[i] = pp
		if post.EditedAt != nil && post.EditedAt.After(p.edited) {
			p.edited = *post.EditedAt
		}
		// The view's HTML is the post's own string unless ViewHTML cut a
		// lead out of a copy; 1 KiB more for the structs and the author.
		p.readBytes += int64(len(post.HTML)+len(pp.open)+len(pp.close)) + 1024
		if len(v.HTML) != len(post.HTML) {
			p.readBytes += int64(len(v.HTML))
		}
		p.htmlSize += len(pp.open) + len(pp.close) + 512
	}
	s.threadPosts.Put(key, t.Version, p, now)
	return p, nil
}

// withControls is view v of post pp as a reader with controls c sees it.
func (pp *pagePost) withControls(v *postView, c postControls) *postView {
	w := *v
	w.CanLike = c&controlLike != 0
	w.Liked = c&controlLiked != 0
	w.CanEdit = c&controlEdit != 0
	w.CanDelete = c&controlDelete != 0
	w.CanReport = c&controlReport != 0
	if c&controlQuote != 0 {
		w.QuotePath, w.QuoteText = pp.quotePath, w.Path+"/quote"
	}
	return &w
}

// renderPosts is the posts of page p as a reader with controls[i] on
// post i sees them, joined from kept parts; only a set of controls not
// asked for before on a post is rendered, and only its actions. own, when
// not nil, is the reader's account: their own posts show it as it is now,
// rendered for them.
func (s *Server) renderPosts(p *threadPage, controls []postControls, own *storage.Account) (template.HTML, error) {
	var b strings.Builder
	b.Grow(p.htmlSize)
	var added int64
	for i := range p.posts {
		pp := &p.posts[i]
		c := controls[i]
		if c&firstUnread != 0 {
			b.WriteString(unreadMarker)
			c &^= firstUnread
		}
		if own != nil && pp.post.AuthorID == own.ID && !pp.post.IsDeleted() {
			post := pp.post
			post.Author = own
			v := s.newPostView(&post)
			v.Media, v.ByOP = pp.view.Media, pp.view.ByOP
			html, err := s.renderPostPart("post", pp.withControls(&v, c))
			if err != nil {
				return "", err
			}
			b.WriteString(html)
			continue
		}
		b.WriteString(pp.open)
		if !pp.post.IsDeleted() {
			p.mu.Lock()
			html, ok := pp.actionsWith(c)
			p.mu.Unlock()
			if !ok {
				var err error
				if html, err = s.renderPostPart("postactions", pp.withControls(&pp.view, c)); err != nil {
					return "", err
				}
				p.mu.Lock()
				if _, ok := pp.actionsWith(c); !ok {
					pp.actions = append(pp.actions, renderedPost{c, html})
					added += int64(len(html)) + 64
				}
				p.mu.Unlock()
			}
			b.WriteString(html)
		}
		b.WriteString(pp.close)
	}
	if added > 0 {
		s.threadPosts.Grow(p.key, p, added)
	}
	return template.HTML(b.String()), nil
}

// actionsWith is the kept rendering of pp's actions with controls c; its
// page's mu is held.
func (pp *pagePost) actionsWith(c postControls) (string, bool) {
	for _, r := range pp.actions {
		if r.controls == c {
			return r.html, true
		}
	}
	return "", false
}

// renderPostPart executes one of the post templates.
func (s *Server) renderPostPart(name string, v *postView) (string, error) {
	var b strings.Builder
	if err := s.pages["thread"].ExecuteTemplate(&b, name, v); err != nil {
		return "", fmt.Errorf("render %s of post %s: %w", name, v.ID, err)
	}
	return b.String(), nil
}

// threadSection renders template name of the thread page with data, a
// part of the page the same for every reader it is kept for under key in
// page p; an empty key keeps nothing.
func (s *Server) threadSection(p *threadPage, key, name string, data *threadData) (template.HTML, error) {
	if key != "" {
		p.mu.Lock()
		html, ok := p.sections[key]
		p.mu.Unlock()
		if ok {
			return html, nil
		}
	}
	var b strings.Builder
	if err := s.pages["thread"].ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	html := template.HTML(b.String())
	if key == "" {
		return html, nil
	}
	p.mu.Lock()
	_, ok := p.sections[key]
	if !ok {
		if p.sections == nil {
			p.sections = make(map[string]template.HTML)
		}
		p.sections[key] = html
	}
	p.mu.Unlock()
	if !ok {
		s.threadPosts.Grow(p.key, p, int64(len(html))+64)
	}
	return html, nil
}
