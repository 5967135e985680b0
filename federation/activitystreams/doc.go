// Package activitystreams is Skein's ActivityStreams 2.0 vocabulary on the
// wire, with no storage behind it. Outbound, it holds the plain structs
// every document and activity the node sends is marshalled from (Actor,
// Note, Tombstone, Collection, Activity, Flag, Move) and the JSON-LD
// context they carry. Inbound, it is the one reader of what other servers
// send: [ReadEnvelope] for the few fields an inbox checks before it
// queues a POST, [Decode] and [ReadActivity] for a queued activity,
// [ReadNote] for a Note, Article or Page, and [ReadActor] for an actor
// document, with one set of reference helpers ([ID], [String], [Items]).
//
// Activities and Notes are read from the decoded JSON map alone: they
// are the hot path of ingest, and the dozen references and strings Skein
// takes from them need no generated vocabulary. Actor documents, fetched
// once a day per actor and nested (keys with owners, icons as Images,
// links), go through go-fed's streams, with the raw map beside it for the
// terms go-fed does not know.
package activitystreams
