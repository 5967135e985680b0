package node

import (
	"context"
	"maps"
	"testing"

	"github.com/skein-forum/skein/storage/storagetest"
)

// TestHostClassesLookUp checks the labels of hosts looked up together:
// their recorded software when it is a known class, "other" when it is
// not, "unknown" without any, and the answer kept for the next delivery.
func TestHostClassesLookUp(t *testing.T) {
	ctx := context.Background()
	s := storagetest.Open(t, "sqlite")
	for host, sw := range map[string]string{"masto.example": "Mastodon", "odd.example": "oddsoft", "quiet.example": ""} {
		storagetest.RemoteActor(t, s, "zoe", host)
		if sw != "" {
			if err := s.SetDomainSoftware(ctx, host, sw); err != nil {
				t.Fatal(err)
			}
		}
	}
	h := newHostClasses(s)
	got := h.lookUp([]string{"masto.example", "odd.example", "quiet.example", "never.example"})
	want := map[string]string{"masto.example": "mastodon", "odd.example": HostClassOther, "quiet.example": "unknown", "never.example": "unknown"}
	if !maps.Equal(got, want) {
		t.Fatalf("classes = %v, want %v", got, want)
	}
	if c, ok := h.cached("masto.example"); !ok || c != "mastodon" {
		t.Fatalf("cached = %q, %v", c, ok)
	}
}
