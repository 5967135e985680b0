package interop

// What breaks today, one line each, for knownBreak. A fix deletes the
// line and the compiler then shows every journey it unblocks.
const (
	breakPersonPostsDropped = "a followed GoToSocial user's posts are dropped on arrival (\"belongs to no thread here\", inbox.Inbox.storeNote)"
	breakNoNotifications    = "a GoToSocial mention of a member outside a thread is dropped (\"belongs to no thread here\", inbox.Inbox.storeNote), " +
		"so it never reaches /notifications"
	breakReplyNoMention = "a member's reply to a GoToSocial post neither mentions nor addresses its author, so GoToSocial drops it " +
		"(\"not relevant to receiver\"): federation.NoteFromPost and outbox.Worker.directAudience tag typed @mentions only"
	breakCWShownInClear = "a remote content warning is stored as a bold line before the full text (inbox.noteHTML), not as the post's summary, " +
		"so it is not folded behind it"
	breakTitleAsWarning = "a thread's opening post shows in GoToSocial behind a content warning: its title, which the Note carries as name " +
		"(federation.NoteFromPost) and GoToSocial shows as spoiler_text"
	breakNoCWComposer = "a member's content warning is not federated: the Note carries no summary and sensitive is always false (federation.NoteFromPost)"
)
