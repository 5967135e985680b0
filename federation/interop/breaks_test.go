package interop

// What breaks today, one line each, for knownBreak. A fix deletes the
// line and the compiler then shows every journey it unblocks.
const (
	breakFirstContact = "first contact: the node answers 401 to a GoToSocial user it has not stored yet: " +
		"it fetches the key id /users/NAME/main-key as the actor and refuses the key stub found there for having no inbox " +
		"(federation.Server.LookupKey), and GoToSocial never retries a 4xx"
	breakNoNotifications = "a GoToSocial mention of a member outside a thread is dropped (\"belongs to no thread here\", inbox.Inbox.storeNote), " +
		"so it never reaches /notifications"
	breakReplyNoMention = "a member's reply to a GoToSocial post neither mentions nor addresses its author, so GoToSocial drops it " +
		"(\"not relevant to receiver\"): federation.NoteFromPost and outbox.Worker.directAudience tag typed @mentions only"
	breakCWShownInClear = "a remote content warning is stored as a bold line before the full text (inbox.noteHTML), not as the post's summary, " +
		"so it is not folded behind it"
	breakNoCWComposer = "a member's content warning is not federated: the Note carries no summary and sensitive is always false (federation.NoteFromPost)"
)
