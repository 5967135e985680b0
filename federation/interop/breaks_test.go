package interop

// What breaks today, one line each, for knownBreak. A fix deletes the
// line and the compiler then shows every journey it unblocks.
const (
	breakFirstContact = "first contact: the node answers 401 to a GoToSocial user it has not stored yet: " +
		"it fetches the key id /users/NAME/main-key as the actor and refuses the key stub found there for having no inbox " +
		"(federation.Server.LookupKey), and GoToSocial never retries a 4xx"
	breakRepliesNotEmbedded = "GoToSocial's context view lists no earlier reply: a Note's replies.first is a link, not an embedded page " +
		"(GoToSocial walks only embedded pages), and the first post's replies omit the replies that have no reply_to"
	breakPersonPostsDropped = "a followed GoToSocial user's posts are dropped on arrival (\"belongs to no thread here\", federation.Server.storeNote)"
	breakNoNotifications    = "the node has no notifications: /notifications is a 404, and a mention of a member outside a thread is dropped"
	breakReplyNoMention     = "a member's reply to a GoToSocial post neither mentions nor addresses its author, so GoToSocial drops it " +
		"(\"not relevant to receiver\"): federation.NoteFromPost and OutboxWorker.directAudience tag typed @mentions only"
	breakCWShownInClear = "a content warning shows as a bold line before the full text (federation.noteHTML), not collapsed behind it"
	breakTitleAsWarning = "a thread's opening post shows in GoToSocial behind a content warning: its title, which the Note carries as name " +
		"(federation.NoteFromPost) and GoToSocial shows as spoiler_text"
	breakNoCWComposer = "members cannot set a content warning: the reply form has no content_warning field and Notes carry no summary"
)
