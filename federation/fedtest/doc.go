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
// The package imports nothing of Skein but [signature], so any test
// package can use it without an import cycle.
package fedtest
