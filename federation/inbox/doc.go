// Package inbox receives what other servers send: the POST handler of
// every local actor's inbox and the shared one, the group commit that
// queues what passes its checks, and the Worker that applies queued
// activities, with one handler per verb in a file of its own. What the
// inbox accepts is one registry, [handlers]: the POST filter
// queues only its types and the worker applies each with its handler.
// The node's own jobs on the same queue, replies backfill and the
// context walks of mirrors, are items of their own kinds
// ([storage.InboxBackfill], [storage.InboxContextWalk]).
//
// A POST is checked here and nothing is stored unless every check
// passes; what passes is queued ([storage.Store.AcceptInboxBatch],
// grouped by commitLoop), answered 202 and applied later by the Worker.
// Nothing on this path fetches anything remote when the signer's key is
// already known, so a busy peer costs one RSA verification, one small
// JSON decode and one insert per activity.
package inbox
