package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Seeding fills a database with a forum's worth of synthetic members,
// forums, threads and posts for load tests and scale runs (skein-load
// seed). It writes rows directly with multi-row INSERTs in large
// transactions instead of going through CreateThread and CreatePost:
// a million posts one transaction each would take minutes, and every one
// would leave an outbox event that federation would try to announce.
// Seeding therefore records no outbox events; it keeps every other
// invariant the normal path keeps: gapless positions from 1, first and
// last post ids, and the thread, forum and author counters.

// SeedSpec describes the data to generate.
type SeedSpec struct {
	Forums          int // default 1
	ThreadsPerForum int
	// PostsPerThread is the mean size of a thread, opening post included.
	// Threads vary around it (a quarter to almost twice) unless
	// UniformThreads is set.
	PostsPerThread int
	UniformThreads bool
	// LongThreads adds that many threads of LongThreadPosts posts each to
	// the first forum, for the last-page-versus-first-page figure.
	LongThreads     int
	LongThreadPosts int
	Members         int // default 1
	// PasswordHash is every seeded member's password hash (one hash made
	// by the caller: argon2 per member would dominate the run). Empty
	// means the members cannot sign in.
	PasswordHash string
	// Prefix names what is made: forums "PREFIX-N", members "PREFIX_N".
	// Default "seed".
	Prefix string
	Batch  int   // rows per INSERT; default 500
	Seed   int64 // random seed for the text; the same spec makes the same text
	// Progress, when set, is called after each committed transaction with
	// the number of posts written so far.
	Progress func(posts int64)
}

// SeedResult lists what Seed made.
type SeedResult struct {
	ForumIDs    []ID
	ForumSlugs  []string
	MemberIDs   []ID
	Handles     []string
	ThreadIDs   []ID // every thread, long ones included, in creation order
	LongThreads []ID
	Posts       int64
}

// seedRowsPerTx bounds a transaction: large enough that commits are rare,
// small enough that the WAL and a PostgreSQL transaction stay modest.
const seedRowsPerTx = 50_000

// Seed writes the data spec describes.
func (s *Store) Seed(ctx context.Context, spec SeedSpec) (*SeedResult, error) {
	if spec.Forums <= 0 {
		spec.Forums = 1
	}
	if spec.Members <= 0 {
		spec.Members = 1
	}
	if spec.Batch <= 0 {
		spec.Batch = 500
	}
	if spec.Prefix == "" {
		spec.Prefix = "seed"
	}
	if spec.ThreadsPerForum < 0 || spec.PostsPerThread < 0 || spec.LongThreads < 0 || spec.LongThreadPosts < 0 {
		return nil, invalid("size", "negative seed size")
	}
	if spec.ThreadsPerForum > 0 && spec.PostsPerThread < 1 {
		spec.PostsPerThread = 1
	}
	// The counters' prepared statements, before a transaction holds
	// SQLite's one write connection.
	hw, err := s.hotWrites(ctx)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	sd := &seeder{s: s, spec: spec, rnd: rand.New(rand.NewPCG(uint64(spec.Seed), 0x5eed)), res: &SeedResult{},
		hw: hw, tally: newPostTally()}
	if err := sd.run(ctx); err != nil {
		if sd.tx != nil {
			_ = sd.tx.Rollback()
		}
		return nil, fmt.Errorf("seed: %w", err)
	}
	// A bulk load leaves many large segments; one makes searches cheap
	// from the start (see [Store.MergeSearchIndex]).
	if err := s.OptimizeSearchIndex(ctx); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return sd.res, nil
}

type seeder struct {
	s    *Store
	spec SeedSpec
	rnd  *rand.Rand
	res  *SeedResult

	tx      *bun.Tx
	inTx    int // rows written in the open transaction
	threads []Thread
	posts   []Post
	search  []any // rowid/post_id, title, text: the search documents of posts

	hw *hotWrites
	// tally counts the posts written, as every other writer of posts
	// counts them; forumThreads the threads each forum gained.
	tally        *postTally
	forumThreads []forumThreads
}

type forumThreads struct {
	ID          ID    `bun:"id"`
	ThreadCount int64 `bun:"thread_count"`
}

func (sd *seeder) run(ctx context.Context) error {
	if err := sd.begin(ctx); err != nil {
		return err
	}
	if err := sd.members(ctx); err != nil {
		return err
	}
	if err := sd.forums(ctx); err != nil {
		return err
	}
	for i := range sd.spec.LongThreads {
		id, err := sd.thread(ctx, 0, sd.spec.LongThreadPosts, fmt.Sprintf("The long thread %d: everything about starters", i+1))
		if err != nil {
			return err
		}
		sd.res.LongThreads = append(sd.res.LongThreads, id)
	}
	// Threads are made round-robin over the forums, so every forum's
	// listing mixes old and new activity as a real one does.
	sizes := []float64{0.25, 0.5, 1, 1, 1.5, 1.75} // mean 1
	for t := range sd.spec.ThreadsPerForum {
		for f := range sd.spec.Forums {
			n := sd.spec.PostsPerThread
			if !sd.spec.UniformThreads {
				n = max(1, int(float64(n)*sizes[(t*7+f)%len(sizes)]+0.5))
			}
			if _, err := sd.thread(ctx, f, n, sd.title()); err != nil {
				return err
			}
		}
	}
	if err := sd.flush(ctx); err != nil {
		return err
	}
	if err := sd.counters(ctx); err != nil {
		return err
	}
	return sd.commit(ctx, false)
}

func (sd *seeder) begin(ctx context.Context) error {
	tx, err := sd.s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	sd.tx, sd.inTx = &tx, 0
	return nil
}

// commit ends the open transaction and, if again, starts the next one.
func (sd *seeder) commit(ctx context.Context, again bool) error {
	err := sd.tx.Commit()
	sd.tx = nil
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if sd.spec.Progress != nil {
		sd.spec.Progress(sd.res.Posts)
	}
	if again {
		return sd.begin(ctx)
	}
	return nil
}

func (sd *seeder) members(ctx context.Context) error {
	now := time.Now().UTC()
	accounts := make([]Account, 0, sd.spec.Batch)
	names := make([]localName, 0, sd.spec.Batch)
	write := func() error {
		if len(accounts) == 0 {
			return nil
		}
		if _, err := sd.tx.NewInsert().Model(&names).Exec(ctx); err != nil {
			return fmt.Errorf("insert member names: %w", err)
		}
		if _, err := sd.tx.NewInsert().Model(&accounts).Returning("NULL").Exec(ctx); err != nil {
			return fmt.Errorf("insert members: %w", err)
		}
		accounts, names = accounts[:0], names[:0]
		return nil
	}
	for i := range sd.spec.Members {
		handle := sd.spec.Prefix + "_" + strconv.Itoa(i+1)
		a := Account{ID: sd.s.NewID(), Handle: handle, DisplayName: sd.displayName(i), Role: RoleMember,
			PasswordHash: sd.spec.PasswordHash, ActorType: "Person", Reputation: int64(sd.rnd.IntN(2000)),
			Bio: "<p>Bakes on weekends. Member number " + strconv.Itoa(i+1) + ".</p>", CreatedAt: now}
		accounts = append(accounts, a)
		names = append(names, localName{Name: handle, Kind: "member", RefID: a.ID})
		sd.res.MemberIDs = append(sd.res.MemberIDs, a.ID)
		sd.res.Handles = append(sd.res.Handles, handle)
		if len(accounts) == sd.spec.Batch {
			if err := write(); err != nil {
				return err
			}
		}
	}
	return write()
}

// localName is a row of local_names, the shared namespace of members and
// forums.
type localName struct {
	bun.BaseModel `bun:"table:local_names"`
	Name          string `bun:"name,pk"`
	Kind          string `bun:"kind"`
	RefID         ID     `bun:"ref_id"`
}

func (sd *seeder) forums(ctx context.Context) error {
	var maxPos int
	if err := sd.tx.NewRaw("SELECT COALESCE(MAX(position), 0) FROM forums").Scan(ctx, &maxPos); err != nil {
		return fmt.Errorf("forum positions: %w", err)
	}
	now := time.Now().UTC()
	forums := make([]Forum, 0, sd.spec.Forums)
	names := make([]localName, 0, sd.spec.Forums)
	for i := range sd.spec.Forums {
		slug := sd.spec.Prefix + "-" + strconv.Itoa(i+1)
		f := Forum{ID: sd.s.NewID(), Slug: slug, Title: forumTitles[i%len(forumTitles)] + " " + strconv.Itoa(i+1),
			Description: "Seeded forum " + strconv.Itoa(i+1) + " for load tests.", Position: maxPos + i + 1, CreatedAt: now}
		forums = append(forums, f)
		names = append(names, localName{Name: slug, Kind: "forum", RefID: f.ID})
		sd.res.ForumIDs = append(sd.res.ForumIDs, f.ID)
		sd.res.ForumSlugs = append(sd.res.ForumSlugs, slug)
		sd.forumThreads = append(sd.forumThreads, forumThreads{ID: f.ID})
	}
	for chunk := range chunks(len(forums), sd.spec.Batch) {
		ns, fs := names[chunk[0]:chunk[1]], forums[chunk[0]:chunk[1]]
		if _, err := sd.tx.NewInsert().Model(&ns).Exec(ctx); err != nil {
			return fmt.Errorf("insert forum names: %w", err)
		}
		if _, err := sd.tx.NewInsert().Model(&fs).Returning("NULL").Exec(ctx); err != nil {
			return fmt.Errorf("insert forums: %w", err)
		}
	}
	return nil
}

// chunks yields [from, to) ranges of at most size covering n.
func chunks(n, size int) func(yield func([2]int) bool) {
	return func(yield func([2]int) bool) {
		for from := 0; from < n; from += size {
			if !yield([2]int{from, min(n, from+size)}) {
				return
			}
		}
	}
}

// thread generates a thread of n posts in forum f and queues its rows.
// Its post ids are made up front, so the thread row names its first post
// and goes out before any of its posts (foreign keys are checked per
// statement); its counters start at zero and follow the tally.
func (sd *seeder) thread(ctx context.Context, f, n int, title string) (ID, error) {
	n = max(1, n)
	t := Thread{ID: sd.s.NewID(), ForumID: sd.res.ForumIDs[f], Title: title}
	ids := make([]ID, n)
	for i := range ids {
		ids[i] = sd.s.NewID()
	}
	opener := sd.rnd.IntN(sd.spec.Members)
	t.AuthorID = sd.res.MemberIDs[opener]
	t.FirstPostID = &ids[0]
	t.CreatedAt = ids[0].Time()
	t.LastPostAt = t.CreatedAt
	sd.threads = append(sd.threads, t)
	for i, id := range ids {
		author := opener
		if i > 0 {
			author = sd.rnd.IntN(sd.spec.Members)
		}
		p := Post{ID: id, ThreadID: t.ID, AuthorID: sd.res.MemberIDs[author], Position: int64(i + 1),
			LikeCount: int64(sd.rnd.IntN(5) * sd.rnd.IntN(4)), CreatedAt: id.Time()}
		p.Source, p.HTML = sd.body()
		if i > 0 && sd.rnd.IntN(10) == 0 {
			// Some replies point at an earlier post of the thread, as
			// the reply form's reply_to does.
			p.ReplyToID = &ids[sd.rnd.IntN(i)]
		}
		sd.tally.count(p.ID, p.AuthorID, &t, p.CreatedAt)
		sd.posts = append(sd.posts, p)
		sd.search = append(sd.search, p.ID, searchTitle(&p, &t), searchText(&p))
		if len(sd.posts) >= sd.spec.Batch {
			if err := sd.flush(ctx); err != nil {
				return 0, err
			}
		}
	}
	sd.forumThreads[f].ThreadCount++
	sd.res.ThreadIDs = append(sd.res.ThreadIDs, t.ID)
	sd.res.Posts += int64(n)
	return t.ID, nil
}

// flush writes the queued threads, then the queued posts, and commits
// when the transaction has grown large.
func (sd *seeder) flush(ctx context.Context) error {
	for c := range chunks(len(sd.threads), sd.spec.Batch) {
		ts := sd.threads[c[0]:c[1]]
		if _, err := sd.tx.NewInsert().Model(&ts).Returning("NULL").Exec(ctx); err != nil {
			return fmt.Errorf("insert threads: %w", err)
		}
	}
	for c := range chunks(len(sd.posts), sd.spec.Batch) {
		ps := sd.posts[c[0]:c[1]]
		if _, err := sd.tx.NewInsert().Model(&ps).Returning("NULL").Exec(ctx); err != nil {
			return fmt.Errorf("insert posts: %w", err)
		}
	}
	// The search index, with the documents appendPosts writes.
	cols := "(rowid, title, body)"
	if sd.s.Dialect() == dialect.PG {
		cols = "(post_id, title, body)"
	}
	for c := range chunks(len(sd.search)/3, sd.spec.Batch) {
		q := "INSERT INTO post_search " + cols + " VALUES (?, ?, ?)" + strings.Repeat(", (?, ?, ?)", c[1]-c[0]-1)
		if _, err := sd.tx.NewRaw(q, sd.search[c[0]*3:c[1]*3]...).Exec(ctx); err != nil {
			return fmt.Errorf("index posts: %w", err)
		}
	}
	sd.inTx += len(sd.threads) + len(sd.posts)
	sd.threads, sd.posts, sd.search = sd.threads[:0], sd.posts[:0], sd.search[:0]
	if sd.inTx >= seedRowsPerTx {
		return sd.commit(ctx, true)
	}
	return nil
}

// counters applies the tally of the posts written, as appendPosts does
// for its own, and the forums' thread counts with one UPDATE ... FROM
// (VALUES ...) per batch.
func (sd *seeder) counters(ctx context.Context) error {
	if err := sd.s.countThreads(ctx, *sd.tx, sd.hw, sd.tally); err != nil {
		return err
	}
	if err := sd.s.countForumsAndAuthors(ctx, *sd.tx, sd.hw, sd.tally); err != nil {
		return err
	}
	for c := range chunks(len(sd.forumThreads), sd.spec.Batch) {
		rows := sd.forumThreads[c[0]:c[1]]
		_, err := sd.tx.NewUpdate().With("_c", sd.tx.NewValues(&rows)).
			Table("forums").TableExpr("_c").
			Set("thread_count = forums.thread_count + _c.thread_count").
			Where("forums.id = _c.id AND _c.thread_count > 0").Exec(ctx)
		if err != nil {
			return fmt.Errorf("forum thread counts: %w", err)
		}
	}
	return nil
}

// Text. Posts are one to four paragraphs of plausible forum prose, some
// with emphasis, a link or a quotation, so rendered pages weigh what real
// ones do (about 300 to 1,500 bytes of HTML a post).

var forumTitles = []string{"Bread and Baking", "Fermentation", "Kitchen Tools", "Recipes", "Off Topic",
	"Help and Questions", "Show and Tell", "Announcements"}

var firstNames = []string{"Ada", "Bruno", "Chiara", "Dmitri", "Esther", "Farid", "Greta", "Hiro", "Ines",
	"Jonas", "Kemal", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tomoko"}

var words = strings.Fields(`starter flour water rye wheat crumb crust oven loaf dough proof rise knead
	fold hydration temperature hours overnight fridge jar bubbles sour tang levain bake steam dutch
	pot scoring blade banneton linen rice semolina spelt einkorn salt yeast culture feeding discard
	pancakes crackers recipe ratio percent grams scale timer morning evening kitchen window summer
	winter humid dry warm cool batch trial result texture open tight gummy sticky slack strong weak
	gluten autolyse bulk shape retard cold hot stone steel tray rack cooling slice toast butter jam
	because although however maybe probably definitely honestly usually sometimes often never always
	the a an and or but with without after before during until since while when then so very quite`)

func (sd *seeder) displayName(i int) string {
	return firstNames[i%len(firstNames)] + " " + string(rune('A'+(i/len(firstNames))%26)) + "."
}

func (sd *seeder) title() string {
	t := sd.words(3 + sd.rnd.IntN(6))
	if sd.rnd.IntN(3) == 0 {
		t += "?"
	}
	return t
}

// body returns a post's Markdown source and its HTML.
func (sd *seeder) body() (source, html string) {
	var src, h strings.Builder
	paragraphs := 1 + sd.rnd.IntN(4)
	if sd.rnd.IntN(8) == 0 {
		q := sd.sentence(8 + sd.rnd.IntN(12))
		src.WriteString("> " + q + "\n\n")
		h.WriteString("<blockquote><p>" + q + "</p></blockquote>")
	}
	for i := range paragraphs {
		if i > 0 {
			src.WriteString("\n\n")
		}
		h.WriteString("<p>")
		sentences := 1 + sd.rnd.IntN(4)
		for j := range sentences {
			if j > 0 {
				src.WriteByte(' ')
				h.WriteByte(' ')
			}
			s := sd.sentence(6 + sd.rnd.IntN(14))
			switch sd.rnd.IntN(12) {
			case 0:
				src.WriteString("**" + s + "**")
				h.WriteString("<strong>" + s + "</strong>")
			case 1:
				link := "https://bread.example/notes/" + strconv.Itoa(sd.rnd.IntN(100000))
				src.WriteString(s + " [" + link + "](" + link + ")")
				h.WriteString(s + ` <a href="` + link + `" rel="nofollow noopener">` + link + "</a>")
			default:
				src.WriteString(s)
				h.WriteString(s)
			}
		}
		h.WriteString("</p>")
	}
	return src.String(), h.String()
}

func (sd *seeder) sentence(n int) string { return sd.words(n) + "." }

// words is n random words, the first capitalised.
func (sd *seeder) words(n int) string {
	var b strings.Builder
	for i := range n {
		w := words[sd.rnd.IntN(len(words))]
		if i == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}

// RemoteFollower is a remote actor to record as a follower.
type RemoteFollower struct {
	APID, Handle, Domain      string
	Inbox, SharedInbox        string
	PublicKeyID, PublicKeyPEM string
}

// SeedFollowers records remote actors as accepted followers of a local
// member, forum or thread, with batched inserts and no activities: the
// state a node is in after their Follows were accepted. Load runs use it
// to set up a large fan-out without playing every Follow. An actor the
// node knows already (by its id) keeps its account, pointed at the
// inboxes and key given: a load run's fake host may take a port an
// earlier run's host had, and so its actors' ids, with a new key. One
// that follows already stays a follower, accepted; an actor listed twice
// is recorded once.
func (s *Store) SeedFollowers(ctx context.Context, kind string, targetID ID, followers []RemoteFollower) error {
	const batch = 500
	now := time.Now().UTC()
	// One statement may not update a row twice (PostgreSQL refuses it).
	seen := make(map[string]bool, len(followers))
	once := make([]RemoteFollower, 0, len(followers))
	for _, rf := range followers {
		if !seen[rf.APID] {
			seen[rf.APID] = true
			once = append(once, rf)
		}
	}
	return s.txAs(ctx, "seed followers", func(ctx context.Context, tx bun.Tx) error {
		for c := range chunks(len(once), batch) {
			accounts := make([]Account, 0, c[1]-c[0])
			apIDs := make([]string, 0, c[1]-c[0])
			for _, rf := range once[c[0]:c[1]] {
				apID := rf.APID
				accounts = append(accounts, Account{ID: s.NewID(), Handle: rf.Handle, Domain: rf.Domain, DisplayName: rf.Handle,
					Role: RoleMember, CreatedAt: now, APID: &apID, ActorType: "Person", Inbox: rf.Inbox, SharedInbox: rf.SharedInbox,
					PublicKeyID: rf.PublicKeyID, PublicKeyPEM: rf.PublicKeyPEM, FetchedAt: &now})
				apIDs = append(apIDs, apID)
			}
			if _, err := tx.NewInsert().Model(&accounts).On("CONFLICT (ap_id) DO UPDATE").
				Set("inbox = EXCLUDED.inbox").Set("shared_inbox = EXCLUDED.shared_inbox").
				Set("public_key_id = EXCLUDED.public_key_id").Set("public_key_pem = EXCLUDED.public_key_pem").
				Set("fetched_at = EXCLUDED.fetched_at").Returning("NULL").Exec(ctx); err != nil {
				return fmt.Errorf("store remote actors: %w", err)
			}
			// A known actor kept its id: read them all back.
			var ids []ID
			if err := tx.NewRaw("SELECT id FROM accounts WHERE ap_id IN (?)", bun.List(apIDs)).Scan(ctx, &ids); err != nil {
				return fmt.Errorf("read remote actors back: %w", err)
			}
			follows := make([]Follow, 0, len(ids))
			for _, id := range ids {
				follows = append(follows, Follow{ID: s.NewID(), FollowerID: id, TargetKind: kind, TargetID: targetID,
					Accepted: true, CreatedAt: now})
			}
			if _, err := tx.NewInsert().Model(&follows).On("CONFLICT (follower_id, target_kind, target_id) DO UPDATE").
				Set("accepted = EXCLUDED.accepted").Returning("NULL").Exec(ctx); err != nil {
				return fmt.Errorf("insert follows: %w", err)
			}
		}
		return nil
	})
}

// DropRemoteFollowers removes every remote follower of a local member,
// forum or thread, with no activities: before a load run seeds its own,
// the followers an earlier run seeded are gone with their fake hosts.
func (s *Store) DropRemoteFollowers(ctx context.Context, kind string, targetID ID) error {
	_, err := s.w.NewDelete().TableExpr("follows").Where("target_kind = ? AND target_id = ?", kind, targetID).
		Where("follower_id IN (SELECT id FROM accounts WHERE domain <> '')").Exec(ctx)
	if err != nil {
		return fmt.Errorf("drop remote followers of %s %s: %w", kind, targetID, err)
	}
	return nil
}
