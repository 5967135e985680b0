// Package fedtest is a fake fediverse for tests and the load tool: servers
// on loopback whose actors have real RSA keys, sign the POSTs and GETs they
// make, and receive activities at inboxes that verify them the way a real
// server does (signature, Digest, Date, and that the key belongs to the
// activity's actor), keeping a record of what arrived.
//
// A server plays one [Style], modelled on how that software behaves on the
// wire, not on what the specifications allow: [Mastodon] publishes the key
// inside the actor document (ACTOR#main-key) and a shared inbox;
// [GoToSocial] uses a path-style key id whose GET serves a key stub,
// requires signed GETs and has no shared inbox; [Lemmy] has Group actors
// that Announce what their members send them. testdata/gotosocial holds
// documents and requests captured from a real GoToSocial, which the tests
// of this package hold the GoToSocial style to.
//
// In a test:
//
//	remote := fedtest.New(t, fedtest.Mastodon) // stopped at cleanup
//	ana := remote.Actor("ana")                  // any name is an actor
//	code, _, err := ana.Post(ctx, nodeInbox, ana.Follow(threadActor))
//	accept := remote.AwaitType(t, 15*time.Second, "", "Accept", 1)[0]
//
// [Actor.Note], [Actor.Create], [Actor.Like], [Actor.Undo], [Actor.Update]
// and [Actor.Delete] build activities shaped as the style sends them, and
// [Actor.Deliver] retries a refused POST as the style does;
// [Server.Respond] makes inboxes fail or stall ([Status], [Delay],
// [Hold]); [Actor.FiledUnder] is the group a forum that files each post
// under one group (NodeBB) files a Note under; [Server.Handle] serves
// anything at a path; [Sign] signs a
// request with any key, headers and date, for forgeries. [Start] and
// [Options] serve the load tool, which has no testing.T.
//
// The package imports nothing of Skein but [signature], so any test
// package can use it without an import cycle.
package fedtest
