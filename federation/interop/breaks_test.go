package interop

// What breaks today, one line each, for knownBreak. A fix deletes the
// line and the compiler then shows every journey it unblocks.
const (
	breakCWReplyNotInHome = "a member's reply behind a content warning reaches GoToSocial (the thread's Announce and the Note, " +
		"summary and sensitive included, are stored in its database) but is not in the home timeline of the user following " +
		"the thread, who had replied in that thread before; a plain reply in a thread the user never answered shows " +
		"(TestMemberReplyReachesHomeTimeline); cause not confirmed"
)
