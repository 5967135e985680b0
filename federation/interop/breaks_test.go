package interop

// What breaks today, one line each, for knownBreak. A fix deletes the
// line and the compiler then shows every journey it unblocks.
const (
	breakBoostedReplyHidden = "a member's web reply reaches GoToSocial (the thread's Announce of a Note whose inReplyTo is the first post " +
		"is accepted and both are stored in its database) but never shows in the following user's home timeline; likely " +
		"GoToSocial's rule that keeps out replies to an account the user does not follow (the first post's author), not yet confirmed"
)
