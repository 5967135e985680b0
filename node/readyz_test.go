package node_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/skein-forum/skein/node"
)

// A node whose page reads cannot be prepared (here: a table was missing
// when it started) answers /readyz with 503 instead of claiming health,
// and once the database is fit again it prepares them anew and is ready,
// without a restart.
func TestReadyzSeesFailedReadStatements(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	s, _, _ := seedForum(t, data)
	if _, err := s.DB().ExecContext(ctx, "ALTER TABLE sessions RENAME TO sessions_away"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	n := startNodeWith(t, func(c *node.Config) { c.DataDir = data })
	readyz := func() int {
		resp, err := http.Get(n.Base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := readyz(); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with unpreparable reads: %d, want 503", code)
	}
	if _, err := n.Store.DB().ExecContext(ctx, "ALTER TABLE sessions_away RENAME TO sessions"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz to answer 200 once the table is back", waitLong, func() bool { return readyz() == http.StatusOK })
	// Sessions are read again: a member registers and sees her settings.
	n.register("carol").get("/settings")
}
