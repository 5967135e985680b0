package inbox

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/skein-forum/skein/federation"
	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/markup"
	"github.com/skein-forum/skein/markup/markuptest"
)

// FuzzInboxActivity throws arbitrary bodies at the inbox's parsers, in
// the order a POST meets them: the envelope the inbox reads before
// queueing, the activity the worker parses, the Note it carries and, for
// a document that claims to be an actor, the actor parser. None may
// panic; every refusal of the worker's parsers must be one it never
// retries; what they return must be bounded and safe to store.
func FuzzInboxActivity(f *testing.F) {
	for _, seed := range inboxFuzzSeeds {
		f.Add([]byte(seed))
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte) {
		if env, err := as.ReadEnvelope(body); err == nil {
			if env.Type == "" || env.Actor == "" {
				t.Fatalf("envelope without type or actor accepted: %+v", env)
			}
			if !utf8.Valid(body) {
				t.Fatalf("invalid UTF-8 passed the envelope")
			}
		}
		act, err := as.DecodeActivity(body)
		if err != nil {
			if !isPermanent(err) {
				t.Fatalf("parse error would be retried: %v", err)
			}
		} else {
			if act.Raw == nil || act.Type == "" {
				t.Fatalf("parsed activity without a body or type: %+v", act)
			}
			if act.Object.Raw != nil {
				checkNote(t, ctx, act.Object.Raw)
			}
		}
		var m map[string]any
		if json.Unmarshal(body, &m) == nil && m != nil {
			checkNote(t, ctx, m)
			if as.IsActorType(m) {
				if acc, err := federation.ParseActor(ctx, m); err == nil {
					if len(acc.Handle) > as.MaxHandleLen || len(acc.DisplayName) > as.MaxNameLen || len(acc.Bio) > 16<<10 ||
						strings.ContainsRune(acc.DisplayName, 0) || strings.ContainsRune(acc.Bio, 0) || !utf8.ValidString(acc.DisplayName) {
						t.Fatalf("actor fields unbounded: handle %d, name %d, bio %d bytes", len(acc.Handle), len(acc.DisplayName), len(acc.Bio))
					}
					if unsafeHTML(acc.Bio) {
						t.Fatalf("bio not sanitized: %q", acc.Bio)
					}
				}
			}
		}
	})
}

// checkNote parses m as a Note when it says it is one; what comes out
// must be bounded, and its HTML as stored must be sanitized.
func checkNote(t *testing.T, ctx context.Context, m map[string]any) {
	t.Helper()
	typ, _ := m["type"].(string)
	if !as.IsNoteType(typ) {
		return
	}
	note, err := as.ReadNote(m)
	if err != nil {
		if !isPermanent(err) {
			t.Fatalf("note parse error would be retried: %v", err)
		}
		return
	}
	if len(note.Recipients) > as.MaxRecipients || len(note.Content) > as.MaxContent || len(note.Attachments) > as.MaxAttachments {
		t.Fatalf("note unbounded: %d recipients, %d bytes, %d attachments", len(note.Recipients), len(note.Content), len(note.Attachments))
	}
	if html := markup.SanitizeRemote(noteHTML(note)); unsafeHTML(html) {
		t.Fatalf("stored HTML not sanitized: %q", html)
	}
}

// unsafeHTML reports markup that could run script.
func unsafeHTML(h string) bool { return markuptest.Unsafe(h) != "" }

// inboxFuzzSeeds are real shapes (Mastodon, GoToSocial, Lemmy, Misskey)
// and hostile ones.
var inboxFuzzSeeds = []string{
	// Mastodon Create{Note}, a reply with a mention and a hashtag.
	`{"@context":["https://www.w3.org/ns/activitystreams",{"ostatus":"http://ostatus.org#","atomUri":"ostatus:atomUri","sensitive":"as:sensitive","toot":"http://joinmastodon.org/ns#","Hashtag":"as:Hashtag"}],` +
		`"id":"https://mastodon.example/users/zed/statuses/1/activity","type":"Create","actor":"https://mastodon.example/users/zed",` +
		`"published":"2026-11-01T10:00:00Z","to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["https://mastodon.example/users/zed/followers","https://forum.example/u/alice"],` +
		`"object":{"id":"https://mastodon.example/users/zed/statuses/1","type":"Note","summary":null,"inReplyTo":"https://forum.example/p/01","published":"2026-11-01T10:00:00Z",` +
		`"url":"https://mastodon.example/@zed/1","attributedTo":"https://mastodon.example/users/zed","to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["https://forum.example/u/alice"],` +
		`"sensitive":false,"atomUri":"https://mastodon.example/users/zed/statuses/1","content":"<p><span class=\"h-card\"><a href=\"https://forum.example/u/alice\" class=\"u-url mention\">@<span>alice</span></a></span> Rye worked: it doubled.</p>",` +
		`"contentMap":{"en":"<p>Rye worked.</p>"},"attachment":[{"type":"Document","mediaType":"image/jpeg","url":"https://files.mastodon.example/1.jpg","name":null}],` +
		`"tag":[{"type":"Mention","href":"https://forum.example/u/alice","name":"@alice@forum.example"},{"type":"Hashtag","href":"https://mastodon.example/tags/bread","name":"#bread"}],` +
		`"replies":{"id":"https://mastodon.example/users/zed/statuses/1/replies","type":"Collection","first":{"type":"CollectionPage","next":"https://mastodon.example/users/zed/statuses/1/replies?page=true","partOf":"https://mastodon.example/users/zed/statuses/1/replies","items":[]}}}}`,
	// GoToSocial Create with a path key and an interaction policy.
	`{"@context":["https://gotosocial.org/ns","https://www.w3.org/ns/activitystreams","https://w3id.org/security/v1"],"actor":"https://gts.example/users/yan","id":"https://gts.example/users/yan/activity#Create/01","object":` +
		`{"attributedTo":"https://gts.example/users/yan","content":"<p>Linen, always.</p>","id":"https://gts.example/users/yan/statuses/01","inReplyTo":"https://forum.example/p/01","interactionPolicy":{"canLike":{"always":["https://www.w3.org/ns/activitystreams#Public"]}},"published":"2026-11-01T10:00:00Z","tag":[],"to":["https://www.w3.org/ns/activitystreams#Public"],"type":"Note","url":"https://gts.example/@yan/statuses/01"},` +
		`"published":"2026-11-01T10:00:00Z","to":"https://www.w3.org/ns/activitystreams#Public","type":"Create"}`,
	// Lemmy: a community announces a Create{Page} with audience and Markdown source.
	`{"@context":["https://join-lemmy.org/context.json","https://www.w3.org/ns/activitystreams"],"actor":"https://lemmy.example/c/bread","type":"Announce","id":"https://lemmy.example/activities/announce/create/1",` +
		`"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["https://lemmy.example/c/bread/followers"],"object":{"actor":"https://lemmy.example/u/kim","to":["https://www.w3.org/ns/activitystreams#Public"],` +
		`"object":{"type":"Page","id":"https://lemmy.example/post/1","attributedTo":"https://lemmy.example/u/kim","to":["https://lemmy.example/c/bread","https://www.w3.org/ns/activitystreams#Public"],"name":"Hydration","cc":[],` +
		`"content":"<p>How wet?</p>","mediaType":"text/html","source":{"content":"How wet?","mediaType":"text/markdown"},"attachment":[],"sensitive":false,"published":"2026-11-01T10:00:00Z","language":{"identifier":"en","name":"English"},"audience":"https://lemmy.example/c/bread"},` +
		`"cc":["https://lemmy.example/c/bread"],"type":"Create","id":"https://lemmy.example/activities/create/1","audience":"https://lemmy.example/c/bread"}}`,
	`{"@context":"https://www.w3.org/ns/activitystreams","id":"https://m.example/users/zed#likes/1","type":"Like","actor":"https://m.example/users/zed","object":"https://forum.example/p/01"}`,
	`{"@context":"https://www.w3.org/ns/activitystreams","id":"https://m.example/4c","type":"Follow","actor":"https://m.example/users/zed","object":"https://forum.example/t/01"}`,
	`{"@context":"https://www.w3.org/ns/activitystreams","id":"https://m.example/users/zed#follows/1/undo","type":"Undo","actor":"https://m.example/users/zed","object":{"id":"https://m.example/4c","type":"Follow","actor":"https://m.example/users/zed","object":"https://forum.example/t/01"}}`,
	`{"@context":"https://www.w3.org/ns/activitystreams","id":"https://m.example/users/zed#delete","type":"Delete","actor":"https://m.example/users/zed","to":["https://www.w3.org/ns/activitystreams#Public"],"object":{"id":"https://m.example/users/zed/statuses/1","type":"Tombstone","atomUri":"https://m.example/users/zed/statuses/1"}}`,
	`{"@context":"https://www.w3.org/ns/activitystreams","id":"https://m.example/users/zed#delete","type":"Delete","actor":"https://m.example/users/zed","object":"https://m.example/users/zed"}`,
	`{"@context":["https://www.w3.org/ns/activitystreams","https://w3id.org/security/v1"],"id":"https://m.example/users/zed#updates/1","type":"Update","actor":"https://m.example/users/zed","object":` +
		`{"id":"https://m.example/users/zed","type":"Person","preferredUsername":"zed","name":"Zed: the one","summary":"<p>Bakes.</p><script>x</script>","inbox":"https://m.example/users/zed/inbox",` +
		`"endpoints":{"sharedInbox":"https://m.example/inbox"},"publicKey":{"id":"https://m.example/users/zed#main-key","owner":"https://m.example/users/zed","publicKeyPem":"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh\nkd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ\n0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdg\ncKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbc\nmwIDAQAB\n-----END PUBLIC KEY-----\n"}}}`,
	`{"@context":"https://www.w3.org/ns/activitystreams","id":"https://misskey.example/likes/1","type":"EmojiReact","actor":"https://misskey.example/users/9","object":"https://forum.example/p/01","content":":bread:"}`,
	`{"@context":"https://www.w3.org/ns/activitystreams","id":"https://e.example/1","type":"Create","actor":"https://e.example/u/eve","object":{"id":"https://e.example/n/1","type":"Note","attributedTo":"https://e.example/u/eve",` +
		`"content":"<p>Hi</p><script>alert(1)</script><img src=x onerror=alert(2)><a href=\"javascript:alert(3)\">x</a><iframe src=//e></iframe><style>*{}</style><p style=\"x:expression(alert(4))\">y</p>","summary":"<b>cw</b>","attachment":{"url":"javascript:alert(5)"}}}`,
	`{"@context":"https://www.w3.org/ns/activitystreams","type":["Create","Foo"],"actor":["https://e.example/u/eve"],"object":["https://e.example/n/1"]}`,
	`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","actor":{"id":"https://e.example/u/eve","type":"Person"},"object":{"type":"Note","id":"https://e.example/n/1","content":"a\u0000b","name":"\u202eevil"}}`,
	`{"type":"Create","actor":"https://e.example/u/eve"}`,
	`{"@context":"https://www.w3.org/ns/activitystreams","type":"Person","id":"https://e.example/u/eve","preferredUsername":"eve\u0000x","inbox":"https://e.example/i","publicKey":{"id":"https://e.example/u/eve#k","owner":"https://e.example/u/eve","publicKeyPem":"junk"}}`,
	`{}`, `[]`, `null`, `"Create"`, `{"type":""}`, `{"type":1,"actor":2}`, `{"@context":{},"type":"Note","id":"x"}`,
	`{"type":"Create","actor":"https://e.example/u/eve","object":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	"{\"type\":\"Create\",\"actor\":\"https://e.example/u/\xff\"}",
	// The envelope's other refusals, and their edges: nesting of exactly
	// MaxDepth (read) and one more (refused), invalid UTF-8 after an
	// escape and outside any string, a key twice in another case, an
	// escaped lone surrogate (read as U+FFFD), a number out of range.
	`{"type":"Create","actor":"https://e.example/u/eve","object":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`,
	`{"type":"Create","actor":"https://e.example/u/eve","object":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`,
	"{\"type\":\"Create\",\"actor\":\"https://e.example/u/eve\",\"object\":{\"content\":\"\\n\xc0\xaf\"}}",
	"{\"type\":\"Create\",\"actor\":\"https://e.example/u/eve\"}\xff",
	`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","actor":"https://e.example/u/eve","object":{"type":"Note","id":"https://e.example/n/1","Id":"https://v.example/n/1"}}`,
	`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","actor":"https://e.example/u/eve","object":{"type":"Note","id":"https://e.example/n/1","content":"\ud800\udc00\ud800 x"}}`,
	`{"type":"Create","actor":"https://e.example/u/eve","object":{"width":1e400}}`,
}
