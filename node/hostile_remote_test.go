package node_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skein-forum/skein/node"
	"github.com/skein-forum/skein/storage"
)

// Hostile remote servers: key ids that point inside the node's
// network (SSRF), and servers that accept a connection and never answer,
// for WebFinger, actor documents and NodeInfo. Every request to the node
// must still be answered within 10 s.

// blackHole accepts TCP connections and never reads or writes: an https
// or http request to it waits until the client gives up.
type blackHole struct {
	ln       net.Listener
	accepted atomic.Int64
	mu       sync.Mutex
	conns    []net.Conn
}

func newBlackHole(t *testing.T) *blackHole {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackHole{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.accepted.Add(1)
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		for _, c := range b.conns {
			c.Close()
		}
		b.mu.Unlock()
	})
	return b
}

func (b *blackHole) host() string { return b.ln.Addr().String() }

// A node on the public internet (no --allow-private-networks) never
// fetches a key id, an actor or a followed address on a loopback,
// private, link-local or unspecified address, however it is spelled.
func TestHostileKeyIDsPointingInside(t *testing.T) {
	t.Parallel()
	h := startHostileNode(t, func(c *node.Config) { c.AllowPrivateNetworks = false })
	inside := newHostileHost(t) // 127.0.0.1: the node's own network
	port := inside.URL[strings.LastIndexByte(inside.URL, ':')+1:]
	alice := h.register("alice")
	thread := alice.newThread("Inside jobs", "First.")
	firstURL := h.URLs.Post(mustThread(t, h.testNode, thread).firstPost())

	actors := []string{
		inside.actor("eve"),
		"http://localhost:" + port + "/users/eve",
		"http://[::1]:" + port + "/users/eve",
		"http://0.0.0.0:" + port + "/users/eve",
		"http://2130706433:" + port + "/users/eve", // 127.0.0.1 as one number
		"http://10.0.0.1/users/eve",
		"http://192.168.1.1/users/eve",
		"http://169.254.169.254/latest/meta-data",
		"http://[fd00::1]/users/eve",
	}
	for i, actor := range actors {
		m := newMarker(i)
		act := map[string]any{"id": actor + "#create-" + m, "type": "Create", "actor": actor,
			"object": map[string]any{"id": actor + "/statuses/" + m, "type": "Note", "attributedTo": actor,
				"inReplyTo": firstURL, "content": "<p>" + m + "</p>"}}
		code, reason := send(t, forgery{url: h.Base + "/inbox", body: mustJSON(t, act), keyID: actor + "#main-key"}.request(t))
		if code != http.StatusUnauthorized && code != http.StatusBadRequest {
			t.Errorf("key %s: status %d (%s), want 401", actor, code, strings.TrimSpace(reason))
		}
		if where := findMarker(t, h.Store.DB().DB, m); where != "" {
			t.Errorf("key %s: marker stored: %s", actor, where)
		}
	}
	// A member cannot make the node fetch inside either.
	if code := formPost(t, alice.c, h.Base+"/follow-remote", url.Values{"q": {inside.actor("eve")}}, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("follow of an inside address: status %d, want 422", code)
	}
	if code := formPost(t, alice.c, h.Base+"/follow-remote", url.Values{"q": {"@eve@localhost:" + port}}, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("follow of an inside handle: status %d, want 422", code)
	}
	if n := inside.hitsOn(""); n != 0 {
		t.Errorf("the inside server got %d requests", n)
	}
	h.stillServes(t, "/t/"+thread.String())
}

// Servers that accept a connection and never answer cost a member a
// bounded wait on the follow form and a sender a bounded wait on the
// inbox, and a host whose NodeInfo never answers still gets its
// deliveries.
func TestHostileRemotesThatNeverAnswer(t *testing.T) {
	t.Parallel()
	h := startHostileNode(t, nil)
	hole := newBlackHole(t)
	alice := h.register("alice")
	thread := alice.newThread("Waiting game", "First.")
	firstURL := h.URLs.Post(mustThread(t, h.testNode, thread).firstPost())

	var wg sync.WaitGroup
	wg.Go(func() {
		// WebFinger over https and then http, both into the hole.
		code := formPost(t, alice.c, h.Base+"/follow-remote", url.Values{"q": {"@someone@" + hole.host()}}, nil)
		if code != http.StatusUnprocessableEntity {
			t.Errorf("follow through a WebFinger that never answers: status %d, want 422 within 10 s", code)
		}
	})
	wg.Go(func() {
		code := formPost(t, alice.c, h.Base+"/follow-remote", url.Values{"q": {"http://" + hole.host() + "/users/someone"}}, nil)
		if code != http.StatusUnprocessableEntity {
			t.Errorf("follow of an actor that never answers: status %d, want 422 within 10 s", code)
		}
	})
	wg.Go(func() {
		actor := "http://" + hole.host() + "/users/slow"
		act := map[string]any{"id": actor + "#like", "type": "Like", "actor": actor, "object": firstURL}
		code, _ := send(t, forgery{url: h.Base + "/u/alice/inbox", body: mustJSON(t, act), keyID: actor + "#main-key"}.request(t))
		// A timeout may pass: the sender is told to try again later.
		if code != http.StatusServiceUnavailable {
			t.Errorf("POST signed by a key that never loads: status %d, want 503 within 10 s", code)
		}
	})
	wg.Go(func() {
		// NodeInfo that never answers, on a host whose inbox does.
		fanHost := newHostileHost(t)
		fanHost.on("/.well-known/nodeinfo", hang)
		apID := fanHost.actor("fan")
		acc, err := h.Store.UpsertRemoteAccount(context.Background(), &storage.Account{Handle: "fan", Domain: strings.TrimPrefix(fanHost.URL, "http://"),
			APID: &apID, ActorType: "Person", Inbox: apID + "/inbox", PublicKeyID: apID + "#main-key", PublicKeyPEM: publicPEM()})
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := h.Store.AddFollow(context.Background(), acc.ID, storage.FollowAccount, alice.account().ID, nil, true); err != nil {
			t.Error(err)
			return
		}
		alice.newThread("For the fan", "Delivered whatever NodeInfo does.")
		deadline := time.Now().Add(waitLong)
		for fanHost.hitsOn("/users/fan/inbox") == 0 {
			if time.Now().After(deadline) {
				t.Errorf("no delivery to a host whose NodeInfo hangs (NodeInfo asked %d times)", fanHost.hitsOn("/.well-known/nodeinfo"))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	wg.Wait()
	if hole.accepted.Load() == 0 {
		t.Errorf("nothing ever reached the silent server: the test proves nothing")
	}
	h.stillServes(t, "/t/"+thread.String())
}
