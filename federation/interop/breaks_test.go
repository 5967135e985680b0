package interop

// What breaks today, one line each, for knownBreak. A fix deletes the
// line and the compiler then shows every journey it unblocks.
const (
	breakCWReplyNotInHome = "a member's reply behind a content warning reaches GoToSocial (the thread's Announce and the Note, " +
		"summary and sensitive included, are stored in its database and the status opens behind its warning) but the boost " +
		"is not in the home timeline of the user following the thread; the same reply without a warning is (tried by hand " +
		"in this journey), so it is the warning GoToSocial treats differently here; cause not confirmed"
)
