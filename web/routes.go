package web

import (
	"net/http"
	"strings"
)

// Register adds every page of the web view to mux. The site map:
//
//	/                       home: the forums
//	/f/{slug}               a forum's threads (?before= pages on)
//	/f/{slug}/new           start a thread
//	/t/{id}                 a thread (?page=N, ?quote=POST opens the reply box quoting)
//	/t/{id}/reply           reply
//	/t/{id}/pin|lock|delete moderation
//	/p/{id}                 a post's permalink: redirects to its page and anchor
//	/p/{id}/edit|delete     the author edits or deletes
//	/p/{id}/like            like or unlike
//	/p/{id}/share           a post's link to copy or share from one's server
//	/u/{handle}             a member's profile
//	/remote-follow          "follow from your server"
//	/follow-remote          a member follows a remote thread or actor; lists them (+ /undo)
//	/register /signin /signout /settings
//	/static/                stylesheet
//
// Forums, threads, posts and members are also ActivityPub documents at the
// same URLs; their GET handlers hand AP requests to s.ActivityPub.
func (s *Server) Register(mux *http.ServeMux) {
	// Every page knows who is signed in; every form that changes
	// something empties the guest page cache after it ran.
	handle := func(pattern string, h http.HandlerFunc) {
		if strings.HasPrefix(pattern, "POST ") {
			h = s.emptyCacheAfter(h)
		}
		mux.Handle(pattern, s.withViewer(h))
	}

	handle("GET /{$}", s.home)

	handle("GET /f/{slug}", s.forum)
	handle("GET /f/{slug}/new", s.newThreadForm)
	handle("POST /f/{slug}/new", s.createThread)

	handle("GET /t/{id}", s.thread)
	handle("POST /t/{id}/reply", s.reply)
	handle("POST /t/{id}/pin", s.pinThread)
	handle("POST /t/{id}/lock", s.lockThread)
	handle("POST /t/{id}/delete", s.deleteThread)

	handle("GET /p/{id}", s.permalink)
	handle("GET /p/{id}/edit", s.editPostForm)
	handle("POST /p/{id}/edit", s.editPost)
	handle("POST /p/{id}/delete", s.deletePost)
	handle("POST /p/{id}/like", s.likePost)
	handle("GET /p/{id}/share", s.sharePost)

	handle("GET /u/{handle}", s.member)
	handle("GET /remote-follow", s.remoteFollow)
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

	mux.HandleFunc("GET /static/{file}", s.serveStatic) // no session needed

	// Anything else is a friendly 404 rather than the mux's plain text.
	handle("/", s.notFoundHandler)
}
