package web

import (
	"net/http"
)

// Register adds every page of the web view to mux. The site map:
//
//	/                       home: the forums
//	/f/{slug}               a forum's threads (?before= pages on)
//	/f/{slug}/new           start a thread
//	/t/{id}                 a thread (?page=N, ?quote=POST opens the reply box quoting)
//	/t/{id}/reply           reply
//	/t/{id}/pin|lock|delete|move moderation (GET delete asks first)
//	/preview                the composer script's live preview
//	/p/{id}                 a post's permalink: redirects to its page and anchor
//	/p/{id}/edit|delete     the author edits or deletes (GET delete asks first)
//	/p/{id}/like            like or unlike
//	/p/{id}/report          report a post to the moderators
//	/p/{id}/share           a post's link to copy or share from one's server
//	/t/{id}/unread          a member's first unread post
//	/t/{id}/follow|mute     follow or unfollow, mute or unmute on this node
//	/f/{slug}/follow        follow or unfollow a forum on this node
//	/followed               the threads a member follows, with what is new
//	/notifications          a member's notifications (?before= pages on); /read marks all read
//	/notifications/{id}     marks one read and goes to its post; /read marks it read
//	/search                 full-text search (?q=, ?page=)
//	/latest                 recent threads of every forum, with unread counts (?before= pages on)
//	/feed.atom|rss, /f/{slug}/feed.atom|rss, /t/{id}/feed.atom|rss  feeds
//	/p/{id}/quote           a post's quotation as Markdown, for the script
//	/u/{handle}             a member's profile
//	/remote-follow          "follow from your server"
//	/follow-remote          a member follows a remote thread or actor; lists them (+ /undo)
//	/about/blocks           blocked servers and the public reasons
//	/register /signin /signout /settings /settings/delete
//	/settings/email|password|mail|watching|schedule  change the address (verified by mail), the password, mail settings
//	/settings/notifications which kinds of notification come by mail, at once or in the daily digest
//	/forgot-password        mails a reset link; /reset-password/{token} sets the new password
//	/verify-email/{token}   confirms an address; /unsubscribe/{token} stops a kind of mail (no sign-in)
//	/admin                  dashboard (admins)
//	/admin/reports          the reports queue (moderators)
//	/admin/domains          domain blocks and the allow list (admins)
//	/admin/members          members and remote actors (admins), follow requests held for approval
//	/admin/forums           create, edit, order forums (admins)
//	/admin/audit            the audit log (moderators)
//	/admin/site             the site's name and description (admins)
//	/admin/media            every image, to remove one (admins)
//	/settings/avatar        upload or remove one's picture
//	/media/{key}            uploaded images and cached remote ones
//	/static/                stylesheet and the optional script
//
// Forums, threads, posts and members are also ActivityPub documents at the
// same URLs; their GET handlers hand AP requests to s.ActivityPub.
func (s *Server) Register(mux *http.ServeMux) {
	// Every page knows who is signed in.
	handle := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, s.withViewer(h))
	}
	// Handlers return their errors for [Server.answer] to render.
	page := func(pattern string, h handler) { handle(pattern, s.answering(h)) }

	page("GET /{$}", s.home)
	page("GET /search", s.search)
	page("GET /latest", s.latest)
	page("GET /followed", s.followed)
	page("GET /notifications", s.notifications)
	page("POST /notifications/read", s.readAllNotifications)
	page("GET /notifications/{id}", s.openNotification)
	page("POST /notifications/{id}/read", s.readNotification)
	page("GET /feed.atom", s.nodeFeed)
	page("GET /feed.rss", s.nodeFeed)
	page("GET /f/{slug}/feed.atom", s.forumFeed)
	page("GET /f/{slug}/feed.rss", s.forumFeed)
	page("GET /t/{id}/feed.atom", s.threadFeed)
	page("GET /t/{id}/feed.rss", s.threadFeed)
	page("GET /t/{id}/unread", s.unread)
	page("POST /t/{id}/follow", s.followThread)
	page("POST /t/{id}/mute", s.muteThread)
	page("POST /f/{slug}/follow", s.followForum)
	page("GET /p/{id}/quote", s.quoteText)

	page("GET /f/{slug}", s.forum)
	page("GET /f/{slug}/new", s.newThreadForm)
	page("POST /f/{slug}/new", s.createThread)

	page("GET /t/{id}", s.thread)
	page("POST /t/{id}/reply", s.reply)
	page("GET /t/{id}/reply", s.replyAgain)
	page("POST /preview", s.preview)
	page("GET /t/{id}/delete", s.confirmDeleteThread)
	page("POST /t/{id}/pin", s.pinThread)
	page("POST /t/{id}/lock", s.lockThread)
	page("POST /t/{id}/delete", s.deleteThread)
	page("POST /t/{id}/move", s.moveThread)

	page("GET /p/{id}", s.permalink)
	page("GET /p/{id}/edit", s.editPostForm)
	page("POST /p/{id}/edit", s.editPost)
	page("GET /p/{id}/delete", s.confirmDeletePost)
	page("POST /p/{id}/delete", s.deletePost)
	page("POST /p/{id}/like", s.likePost)
	page("GET /p/{id}/share", s.sharePost)
	page("GET /p/{id}/report", s.reportPostForm)
	page("POST /p/{id}/report", s.reportPost)

	page("GET /u/{handle}", s.member)
	page("GET /remote-follow", s.remoteFollow)
	page("GET /about/blocks", s.publicBlocks)
	page("GET /follow-remote", available(s.followRemote != nil, s.followRemoteForm))
	page("POST /follow-remote", available(s.followRemote != nil, s.followRemotePost))
	page("POST /follow-remote/undo", available(s.unfollowRemote != nil, s.unfollowRemotePost))

	page("GET /register", s.registerForm)
	page("POST /register", s.register)
	page("GET /signin", s.signInForm)
	page("POST /signin", s.signIn)
	page("POST /signout", s.signOut)
	page("GET /settings", s.settingsForm)
	page("POST /settings", s.saveSettings)
	page("POST /settings/delete", s.deleteAccount)
	page("POST /settings/avatar", s.saveAvatar)
	page("POST /settings/email", s.changeEmail)
	page("POST /settings/password", s.changePassword)
	page("POST /settings/mail", s.saveMailSettings)
	page("POST /settings/watching", s.saveWatching)
	page("POST /settings/schedule", s.saveSchedule)
	page("GET /settings/notifications", s.notificationPrefs)
	page("POST /settings/notifications", s.saveNotificationPrefs)
	page("GET /forgot-password", s.forgotPasswordForm)
	page("POST /forgot-password", s.forgotPassword)
	page("GET /reset-password/{token}", s.resetPasswordPage)
	page("POST /reset-password/{token}", s.resetPassword)
	page("GET /verify-email/{token}", s.verifyEmailPage)
	page("POST /verify-email/{token}", s.verifyEmail)
	page("GET /unsubscribe/{token}", s.unsubscribePage)
	page("POST /unsubscribe/{token}", s.unsubscribe)

	// The admin area: access is decided here, for every route at once.
	admin := func(pattern string, h handler) { handle(pattern, s.answering(s.adminOnly(h))) }
	staff := func(pattern string, h handler) { handle(pattern, s.answering(s.staffOnly(h))) }
	admin("GET /admin", s.dashboard)
	staff("GET /admin/reports", s.adminReports)
	staff("POST /admin/reports/{id}", s.resolveReport)
	admin("GET /admin/domains", s.adminDomains)
	admin("POST /admin/domains", s.changeDomain)
	admin("GET /admin/members", s.adminMembers)
	admin("POST /admin/members/{id}", s.changeMember)
	admin("POST /admin/follow-requests/{id}", s.answerFollowRequest)
	admin("GET /admin/forums", s.adminForums)
	admin("POST /admin/forums", s.createForum)
	admin("POST /admin/forums/{id}", s.editForum)
	staff("GET /admin/audit", s.adminAudit)
	admin("GET /admin/site", s.adminSite)
	admin("POST /admin/site", s.saveSite)
	admin("GET /admin/media", s.adminMedia)
	admin("POST /admin/media/{id}/remove", s.removeMedia)

	mux.HandleFunc("GET /static/{file}", s.serveStatic) // no session needed
	mux.HandleFunc("GET /media/{key}", s.serveMedia)

	// Anything else is a friendly 404 rather than the mux's plain text.
	handle("/", s.notFoundHandler)
}
