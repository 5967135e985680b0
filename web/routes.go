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

	handle("GET /{$}", s.home)
	handle("GET /search", s.search)
	handle("GET /latest", s.latest)
	handle("GET /followed", s.followed)
	handle("GET /notifications", s.notifications)
	handle("POST /notifications/read", s.readAllNotifications)
	handle("GET /notifications/{id}", s.openNotification)
	handle("POST /notifications/{id}/read", s.readNotification)
	handle("GET /feed.atom", s.nodeFeed)
	handle("GET /feed.rss", s.nodeFeed)
	handle("GET /f/{slug}/feed.atom", s.forumFeed)
	handle("GET /f/{slug}/feed.rss", s.forumFeed)
	handle("GET /t/{id}/feed.atom", s.threadFeed)
	handle("GET /t/{id}/feed.rss", s.threadFeed)
	handle("GET /t/{id}/unread", s.unread)
	handle("POST /t/{id}/follow", s.followThread)
	handle("POST /t/{id}/mute", s.muteThread)
	handle("POST /f/{slug}/follow", s.followForum)
	handle("GET /p/{id}/quote", s.quoteText)

	handle("GET /f/{slug}", s.forum)
	handle("GET /f/{slug}/new", s.newThreadForm)
	handle("POST /f/{slug}/new", s.createThread)

	handle("GET /t/{id}", s.thread)
	handle("POST /t/{id}/reply", s.reply)
	handle("GET /t/{id}/reply", s.replyAgain)
	handle("POST /preview", s.preview)
	handle("GET /t/{id}/delete", s.confirmDeleteThread)
	handle("POST /t/{id}/pin", s.pinThread)
	handle("POST /t/{id}/lock", s.lockThread)
	handle("POST /t/{id}/delete", s.deleteThread)
	handle("POST /t/{id}/move", s.moveThread)

	handle("GET /p/{id}", s.permalink)
	handle("GET /p/{id}/edit", s.editPostForm)
	handle("POST /p/{id}/edit", s.editPost)
	handle("GET /p/{id}/delete", s.confirmDeletePost)
	handle("POST /p/{id}/delete", s.deletePost)
	handle("POST /p/{id}/like", s.likePost)
	handle("GET /p/{id}/share", s.sharePost)
	handle("GET /p/{id}/report", s.reportPostForm)
	handle("POST /p/{id}/report", s.reportPost)

	handle("GET /u/{handle}", s.member)
	handle("GET /remote-follow", s.remoteFollow)
	handle("GET /about/blocks", s.publicBlocks)
	handle("GET /follow-remote", s.followRemoteForm)
	handle("POST /follow-remote", s.followRemotePost)
	handle("POST /follow-remote/undo", s.unfollowRemotePost)

	handle("GET /register", s.registerForm)
	handle("POST /register", s.register)
	handle("GET /signin", s.signInForm)
	handle("POST /signin", s.signIn)
	handle("POST /signout", s.signOut)
	handle("GET /settings", s.settingsForm)
	handle("POST /settings", s.saveSettings)
	handle("POST /settings/delete", s.deleteAccount)
	handle("POST /settings/avatar", s.saveAvatar)
	handle("POST /settings/email", s.changeEmail)
	handle("POST /settings/password", s.changePassword)
	handle("POST /settings/mail", s.saveMailSettings)
	handle("POST /settings/watching", s.saveWatching)
	handle("POST /settings/schedule", s.saveSchedule)
	handle("GET /settings/notifications", s.notificationPrefs)
	handle("POST /settings/notifications", s.saveNotificationPrefs)
	handle("GET /forgot-password", s.forgotPasswordForm)
	handle("POST /forgot-password", s.forgotPassword)
	handle("GET /reset-password/{token}", s.resetPasswordPage)
	handle("POST /reset-password/{token}", s.resetPassword)
	handle("GET /verify-email/{token}", s.verifyEmailPage)
	handle("POST /verify-email/{token}", s.verifyEmail)
	handle("GET /unsubscribe/{token}", s.unsubscribePage)
	handle("POST /unsubscribe/{token}", s.unsubscribe)

	handle("GET /admin", s.dashboard)
	handle("GET /admin/reports", s.adminReports)
	handle("POST /admin/reports/{id}", s.resolveReport)
	handle("GET /admin/domains", s.adminDomains)
	handle("POST /admin/domains", s.changeDomain)
	handle("GET /admin/members", s.adminMembers)
	handle("POST /admin/members/{id}", s.changeMember)
	handle("POST /admin/follow-requests/{id}", s.answerFollowRequest)
	handle("GET /admin/forums", s.adminForums)
	handle("POST /admin/forums", s.createForum)
	handle("POST /admin/forums/{id}", s.editForum)
	handle("GET /admin/audit", s.adminAudit)
	handle("GET /admin/site", s.adminSite)
	handle("POST /admin/site", s.saveSite)
	handle("GET /admin/media", s.adminMedia)
	handle("POST /admin/media/{id}/remove", s.removeMedia)

	mux.HandleFunc("GET /static/{file}", s.serveStatic) // no session needed
	mux.HandleFunc("GET /media/{key}", s.serveMedia)

	// Anything else is a friendly 404 rather than the mux's plain text.
	handle("/", s.notFoundHandler)
}
