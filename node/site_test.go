package node_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/node"
	"github.com/skein-forum/skein/storage"
)

// --site-name names the site everywhere until an admin renames it on
// /admin/site; the stored name then wins, in pages, feeds and mail.
func TestSiteNameFlagThenAdminEdit(t *testing.T) {
	n, sink := startMailNode(t, func(c *node.Config) {
		c.SiteName, c.SiteDescription = "Kitchen Talk", "Recipes, knives and the odd fire."
	})
	guest := n.visitor()
	guest.get("/nodeinfo/2.0").want(t, http.StatusOK, `"nodeName":"Kitchen Talk"`)
	guest.get("/").want(t, http.StatusOK, "<title>Kitchen Talk</title>", ">Kitchen Talk</a>", "Recipes, knives and the odd fire.")
	guest.get("/feed.atom").want(t, http.StatusOK, "<title>Kitchen Talk</title>", "Recipes, knives and the odd fire.")
	guest.get("/register").want(t, http.StatusOK, "Register · Kitchen Talk")
	if strings.Contains(guest.get("/").body, n.URLs.Host()+"</a>") {
		t.Error("the header still shows the host")
	}

	ctx := context.Background()
	hash, _ := storage.HashPassword(testPassword)
	if _, err := n.Store.CreateMember(ctx, storage.NewMember{Handle: "boss", PasswordHash: hash, Role: storage.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	admin := n.visitor()
	admin.signIn("boss", testPassword)
	admin.get("/admin/site").want(t, http.StatusOK, `value="Kitchen Talk"`)
	guest.get("/admin/site").want(t, http.StatusForbidden)
	admin.post("/admin/site", url.Values{"name": {""}, "description": {"x"}}).want(t, http.StatusUnprocessableEntity, "1 to 100 characters")
	if r := admin.post("/admin/site", url.Values{"name": {"The Scullery"}, "description": {"Where dishes go."}}); r.status != http.StatusSeeOther {
		t.Fatalf("save: %d %.300s", r.status, r.body)
	}
	guest.get("/").want(t, http.StatusOK, "<title>The Scullery</title>", "Where dishes go.")
	if v, ok, _ := n.Store.Setting(ctx, storage.SettingSiteName); !ok || v != "The Scullery" {
		t.Errorf("stored name %q %v", v, ok)
	}
	// NodeInfo and the instance actor name the site too, the edit at once.
	guest.get("/nodeinfo/2.1").want(t, http.StatusOK, `"nodeName":"The Scullery"`, `"nodeDescription":"Where dishes go."`)
	req, _ := http.NewRequest(http.MethodGet, n.URLs.InstanceActor(), nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"name":"The Scullery"`) || !strings.Contains(string(body), "Where dishes go.") {
		t.Errorf("instance actor: %s", body)
	}
	// Mail signs with the new name.
	registerWithEmail(n.visitor(), "oona", "oona@example.test")
	sink.WaitTo(t, "oona@example.test", "Confirm your address on The Scullery", 10*time.Second)
}
