package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/skein-forum/skein/federation"
	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/storage"
)

// Applying queued inbox activities. Each verb has one handler in a file
// of its own; every one of them checks who may do what before it writes,
// and writes through the same storage methods the web forms use.

// handler applies one verified activity signed by signer.
type handler func(in *Inbox, ctx context.Context, act *as.Incoming, signer *storage.Account) error

// handlers is the one registry of the activities the inbox accepts. A
// POST of any other type is answered 202 and dropped unstored: the
// sender did nothing wrong, the node just has nothing to do with an
// EmojiReact or a Move. The worker applies each queued activity with
// the handler of its type.
var handlers = map[string]handler{
	"Follow":   (*Inbox).applyFollow,
	"Undo":     (*Inbox).applyUndo,
	"Accept":   (*Inbox).applyAccept,
	"Reject":   (*Inbox).applyReject,
	"Like":     (*Inbox).applyLike,
	"Create":   (*Inbox).applyCreate,
	"Update":   (*Inbox).applyUpdate,
	"Delete":   (*Inbox).applyDelete,
	"Announce": (*Inbox).applyAnnounce,
	"Flag":     (*Inbox).applyFlag,
}

// errIgnored marks an activity that is refused or has nothing to act on:
// it is marked done with the reason and never retried.
var errIgnored = errors.New("ignored")

// ignore is errIgnored with why. Its format, with the values left out,
// is the reason the refusal log groups it by.
func ignore(format string, args ...any) error {
	return &ignoredError{format: format, detail: fmt.Sprintf(format, args...)}
}

type ignoredError struct{ format, detail string }

func (e *ignoredError) Error() string        { return errIgnored.Error() + ": " + e.detail }
func (e *ignoredError) Is(target error) bool { return target == errIgnored }

// verbs are the formats ignore's callers use, blanked out of reasons.
var verbs = strings.NewReplacer("%s", "…", "%v", "…", "%q", "…", "%d", "…")

// dropReason is a short fixed reason for an activity not applied, for
// the refusal log: the same for every activity dropped for the same
// cause, whatever it named.
func dropReason(err error) string {
	var ig *ignoredError
	switch {
	case errors.As(err, &ig):
		return verbs.Replace(ig.format)
	case errors.Is(err, errIgnored):
		_, why, _ := strings.Cut(err.Error(), ": ")
		return why
	}
	return "not applicable"
}

// process applies one queued item: an activity, or a job of the
// node's own.
func (in *Inbox) process(ctx context.Context, it *storage.InboxItem) error {
	if it.Kind != storage.InboxActivity {
		// The node's own jobs are not pipelined (see pipeline.go).
		if err := waitEarlier(ctx); err != nil {
			return err
		}
	}
	switch it.Kind {
	case storage.InboxBackfill:
		return in.runBackfill(ctx, []byte(it.Body))
	case storage.InboxContextWalk:
		return in.runContextWalk(ctx, []byte(it.Body))
	}
	var act *as.Incoming
	var err error
	if doc := in.parsed.take(it.Body); doc != nil {
		act, err = as.ReadActivity(doc) // decoded as the POST came in
	} else {
		act, err = as.DecodeActivity([]byte(it.Body))
	}
	if err != nil {
		return err
	}
	if act.Actor != it.ActorID {
		return ignore("actor %q is not the signer %q", act.Actor, it.ActorID)
	}
	if act.Type != "Create" {
		// Only a Create may overlap the activities before it (see
		// pipeline.go): anything else may be about them.
		if err := waitEarlier(ctx); err != nil {
			return err
		}
	}
	if in.fed.Blocked(as.HostOf(act.Actor)) {
		// Blocked since the POST was accepted.
		return in.refuseBlocked(ctx, act)
	}
	signer, err := in.signerAccount(ctx, act)
	if err != nil {
		return err
	}
	if err := in.refuseSuspended(ctx, act, signer); err != nil {
		return err // suspended since the POST was accepted
	}
	apply := handlers[act.Type]
	if apply == nil {
		return ignore("%s is not handled", act.Type)
	}
	switch act.Type {
	case "Follow", "Like", "Announce":
		if err := in.withdrawn(ctx, act, signer); err != nil {
			return err
		}
	}
	return apply(in, ctx, act, signer)
}

// signerAccount is the stored account of the activity's actor. A deleted
// actor answers 410 to a fetch, so its Delete uses what is on file.
func (in *Inbox) signerAccount(ctx context.Context, act *as.Incoming) (*storage.Account, error) {
	if act.Type == "Delete" && act.Object.ID == act.Actor {
		acc, err := in.store.AccountByAPID(ctx, act.Actor)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, ignore("delete of unknown actor %s", act.Actor)
		}
		return acc, err
	}
	if act.Type == "Create" {
		return in.createSigner(ctx, act.Actor)
	}
	return in.fed.ResolveActor(ctx, act.Actor)
}

// refuseBlocked drops an activity from a server suspended since its POST
// was accepted. Not even a Follow is answered: nothing is delivered to a
// suspended server, and the delivery worker would drop a
// Reject anyway.
func (in *Inbox) refuseBlocked(_ context.Context, act *as.Incoming) error {
	return ignore("%s from blocked %s", act.Type, as.HostOf(act.Actor))
}

// refuseSuspended stops processing of an activity whose signer was
// suspended after its POST was accepted (the inbox refuses it before).
func (in *Inbox) refuseSuspended(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	policy, err := in.store.ActorPolicy(ctx, signer)
	if err != nil {
		return err
	}
	// The signer may be a copy from a moment ago (createSigner): the
	// policy snapshot knows of a suspension at once.
	suspended := false
	if signer.APID != nil {
		if suspended, err = in.store.ActorSuspended(ctx, *signer.APID); err != nil {
			return err
		}
	}
	if policy == storage.SeveritySuspend || suspended {
		return ignore("%s from suspended %s", act.Type, act.Actor)
	}
	return nil
}

// isPermanent reports whether an error will not go away by retrying: the
// activity or what it points at is wrong, refused or gone. Anything else
// (no answer, 5xx, a busy database) is retried.
func isPermanent(err error) bool {
	var status *transport.StatusError
	if errors.As(err, &status) {
		return status.Code < 500 && status.Code != http.StatusRequestTimeout && status.Code != http.StatusTooManyRequests
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	for _, e := range []error{errIgnored, as.ErrInvalid, storage.ErrInvalid, storage.ErrNotFound, storage.ErrLocked, storage.ErrNameTaken,
		federation.ErrBlocked, federation.ErrHostMismatch, federation.ErrLocal, federation.ErrNotActor, transport.ErrBlockedAddress, transport.ErrInsecureScheme,
		transport.ErrTooLarge, transport.ErrRedirect} {
		if errors.Is(err, e) {
			return true
		}
	}
	return errors.As(err, &syntax) || errors.As(err, &typ)
}
