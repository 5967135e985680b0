// Package outbox turns local changes into deliveries. Every local change
// that federates leaves an outbox event, written by storage in the
// change's own transaction. The [Worker] turns each event into the
// activities it implies and one delivery job per target inbox, and marks
// the event processed, all in a second single transaction
// ([storage.Store.CompleteEvent]). Nothing is lost to a crash at any
// point: before the first commit there is no change and no event;
// between the two the event is still pending and is processed after the
// restart; after the second every job is in the queue, which the
// delivery worker carries out at least once.
//
// Each event kind has a builder in the [builders] registry, one file per
// event family (posts, threads, likes, reports, accounts, forwarding);
// who receives what is worked out by [Worker.followers],
// [Worker.directAudience] and [Worker.appendActor].
//
//   - the member's remote followers, the remote authors a post replies to
//     or quotes, and the remote actors it mentions get Create{Note},
//     Update{Note} and Delete{Tombstone} from the member;
//   - the thread's remote followers get Announce{Note} from the thread
//     actor for every new post, local or remote, and the member's Update
//     and Delete;
//   - the forum's remote followers get Announce{Note} of each new thread's
//     first post only, and its Update and Delete;
//   - forum followers running group software (Lemmy, NodeBB, PieFed, Mbin)
//     get Announce{activity} from the forum of every Create, Update and
//     Delete in the forum (FEP-1b12);
//   - in a mirror thread, the remote thread actor gets the member's
//     activities too;
//   - a member's Like of a remote post goes to its author (and the
//     mirror's thread actor), Undo{Like} likewise;
//   - a remote author's own Update or Delete of its reply in a local
//     thread is announced, as received, by the thread to its followers
//     and by the forum to its group peers ([Worker.forwardRemoteActivity]);
//   - report.forward: a Flag from the instance actor to the reported
//     author's server (and a mirror thread's owner), object an array
//     [author, post] as Mastodon expects, content the reason;
//   - account.delete: Delete{Person} from the member, signed with their
//     kept key, to every remote server the node knows;
//   - thread.move: a Move of the thread's context (NodeBB's shape) from
//     the new forum, origin the old forum, target the new one, to the
//     thread's and both forums' followers.
//
// Nothing is sent to suspended actors or blocked hosts: the recipients
// leave them out when a fan-out is built, and the delivery worker drops
// jobs queued before a suspension.
//
// Activity ids (all under the node, never reused; the activities table
// holds each once):
//
//	NOTE#create                      Create{Note} (also in the member's outbox collection)
//	NOTE#update-EVENT                Update{Note}
//	NOTE#delete-EVENT                Delete{Tombstone}
//	ACTOR#announce-POST              Announce of a new post by a thread or forum actor (also in their outbox collections)
//	ACTOR#announce-POST-activity     FEP-1b12 Announce{Create} of a new post by a forum
//	ACTOR#announce-EVENT             Announce of a remote author's Update or Delete, by a thread or forum actor
//	ACTOR#announce-EVENT-activity    FEP-1b12 Announce{Update/Delete} by a forum
//	MEMBER#like-EVENT                Like (EVENT is the like.create event)
//	MEMBER#undo-EVENT                Undo{Like}
//	INSTANCE#flag-EVENT              Flag of a report
//	MEMBER#delete-EVENT              Delete{Person}
//	FORUM#move-EVENT                 Move of a thread
//	MEMBER#follow-ID, MEMBER#undo-follow-ID   Follow of a remote actor, its Undo
//
// where EVENT is the base-36 id of the outbox event that caused it.
package outbox
