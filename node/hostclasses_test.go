package node

import (
	"context"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// remoteHosts opens a store that knows zoe on three hosts: one running a
// known class of software, one something else, one that never said.
func remoteHosts(t *testing.T) *storage.Store {
	t.Helper()
	s := storagetest.Open(t, "sqlite")
	for host, sw := range map[string]string{"masto.example": "Mastodon", "odd.example": "oddsoft", "quiet.example": ""} {
		storagetest.RemoteActor(t, s, "zoe", host)
		if sw != "" {
			if err := s.SetDomainSoftware(context.Background(), host, sw); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

// TestHostClassesLookUp checks the labels of hosts looked up together:
// their recorded software when it is a known class, "other" when it is
// not, "unknown" without any, and the answer kept for the next delivery.
func TestHostClassesLookUp(t *testing.T) {
	h := newHostClasses(remoteHosts(t))
	got := h.lookUp([]string{"masto.example", "odd.example", "quiet.example", "never.example"})
	want := map[string]string{"masto.example": "mastodon", "odd.example": HostClassOther, "quiet.example": "unknown", "never.example": "unknown"}
	if !maps.Equal(got, want) {
		t.Fatalf("classes = %v, want %v", got, want)
	}
	if c, ok := h.cached("masto.example"); !ok || c != "mastodon" {
		t.Fatalf("cached = %q, %v", c, ok)
	}
}

// TestHostClassesCount follows delivery outcomes to skein_deliveries_total:
// a host not seen lately waits for the labelling goroutine, which counts
// it under its class with its result (a 410 is a failure); a host it
// looked up is counted at once by the sender; and when the labeller is
// behind, the sender looks the host up itself rather than lose the count.
func TestHostClassesCount(t *testing.T) {
	s := remoteHosts(t)
	n := &Node{Metrics: NewMetrics(s), classes: newHostClasses(s)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.labelDeliveries(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	n.observeDelivery("masto.example", storage.DeliverySent)
	n.observeDelivery("masto.example", storage.DeliveryRetry)
	n.observeDelivery("odd.example", storage.DeliveryFailed)
	n.observeDelivery("quiet.example", storage.DeliveryGone)
	counted := []string{
		`{host_class="mastodon",result="sent"} 1`,
		`{host_class="mastodon",result="retrying"} 1`,
		`{host_class="other",result="failed"} 1`,
		`{host_class="unknown",result="failed"} 1`,
	}
	for deadline := time.Now().Add(10 * time.Second); missingDeliveries(n.Metrics, counted) != ""; {
		if time.Now().After(deadline) {
			t.Fatalf("not counted after 10 s: %s", missingDeliveries(n.Metrics, counted))
		}
		time.Sleep(10 * time.Millisecond)
	}

	n.observeDelivery("masto.example", storage.DeliverySent)
	if miss := missingDeliveries(n.Metrics, []string{`{host_class="mastodon",result="sent"} 2`}); miss != "" {
		t.Fatalf("a host looked up lately is not counted at once: %s", miss)
	}

	// No labeller takes from pending: it is full.
	behind := &Node{Metrics: NewMetrics(s), classes: &hostClasses{store: s, known: map[string]hostClass{}, pending: make(chan observed)}}
	behind.observeDelivery("odd.example", storage.DeliverySent)
	if miss := missingDeliveries(behind.Metrics, []string{`{host_class="other",result="sent"} 1`}); miss != "" {
		t.Fatalf("with the labeller behind: %s", miss)
	}
}

// missingDeliveries is the first of the skein_deliveries_total samples
// (labels and value) that m's /metrics lacks, "" when it has them all.
func missingDeliveries(m *Metrics, samples []string) string {
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, s := range samples {
		if !strings.Contains(rec.Body.String(), "\nskein_deliveries_total"+s+"\n") {
			return s
		}
	}
	return ""
}
