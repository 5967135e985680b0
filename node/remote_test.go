package node_test

import (
	"context"
	"crypto/rsa"
	"testing"

	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/storage"
)

// Remote servers are fedtest servers: real keys, signed POSTs, inboxes
// that verify what the node sends as Mastodon does and record it. The
// helpers here turn fedtest's actors into the node's rows and its
// deliveries into plain activity maps.

// fakeRemote is a Mastodon-style server; without shared it has no shared
// inbox, so every delivery lands in an actor's own inbox.
type fakeRemote struct {
	*fedtest.Server
	host   string
	shared bool
}

// fakeActor is an actor of a fakeRemote.
type fakeActor struct {
	*fedtest.Actor
	r *fakeRemote
}

// remoteKey signs for every fake remote of these tests: the node tells
// actors apart by key id, and hostile forgeries default to it.
func remoteKey() *rsa.PrivateKey { return fedtest.Key(0) }

// otherKey signs with a key the fake remotes and hostile hosts do not
// publish.
func otherKey() *rsa.PrivateKey { return fedtest.Key(7) }

func publicPEM() string { return fedtest.PublicKeyPEM(remoteKey()) }

func newFakeRemote(t testing.TB, shared bool) *fakeRemote {
	t.Helper()
	s := fedtest.NewWith(t, fedtest.Mastodon, fedtest.Options{Key: remoteKey(), NoSharedInbox: !shared})
	return &fakeRemote{Server: s, host: s.Host, shared: shared}
}

func (f *fakeRemote) actor(name string) *fakeActor { return &fakeActor{Actor: f.Actor(name), r: f} }

// received returns the activities accepted at an inbox path ("" for any)
// of type typ ("" for any).
func (f *fakeRemote) received(inboxPath, typ string) []map[string]any {
	return activities(f.Received(inboxPath, typ))
}

func (a *fakeActor) received(typ string) []map[string]any { return activities(a.Received(typ)) }

func activities(ds []fedtest.Delivery) []map[string]any {
	out := make([]map[string]any, len(ds))
	for i, d := range ds {
		out[i] = d.Activity
	}
	return out
}

// account is the actor as the node stores it.
func (a *fakeActor) account() *storage.Account {
	id := a.ID
	return &storage.Account{Handle: a.Name, Domain: a.r.host, APID: &id, ActorType: "Person",
		Inbox: a.Inbox(), SharedInbox: a.SharedInbox(), PublicKeyID: a.KeyID(), PublicKeyPEM: a.PublicKeyPEM()}
}

// storeActor stores the actor in s, as a fetch or an inbox would have.
func storeActor(t testing.TB, s *storage.Store, a *fakeActor) *storage.Account {
	t.Helper()
	acc, err := s.UpsertRemoteAccount(context.Background(), a.account())
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

// send POSTs an activity of this actor, signed, and returns the status.
func (a *fakeActor) send(t testing.TB, inbox string, act map[string]any) int {
	t.Helper()
	code, _, err := a.Post(context.Background(), inbox, act)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// objectID is the id of an activity's object, embedded or not.
func objectID(act map[string]any) string { return fedtest.ObjectID(act) }

// object is an activity's embedded object.
func object(act map[string]any) map[string]any {
	o, _ := act["object"].(map[string]any)
	return o
}
