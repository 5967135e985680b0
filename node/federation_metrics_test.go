package node_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// metric reads one sample from the node's /metrics, 0 when absent.
func metric(t *testing.T, n *testNode, name, labels string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	n.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name+labels) + ` (\S+)$`)
	m := re.FindStringSubmatch(rec.Body.String())
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The federation figures on /metrics come from real traffic: inbox
// answers by reason, and delivery outcomes by the peer's software.
func TestMetricsCountInboxAndDeliveries(t *testing.T) {
	a := startNode(t)
	remote := newFakeRemote(t, false)
	fan := remote.actor("watcher")
	alice := a.register("alice")

	resp, err := http.Post(a.Base+"/inbox", "application/activity+json", strings.NewReader(`{"type":"Follow"}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned POST answered %d", resp.StatusCode)
	}
	waitFor(t, "the refusal to be counted", waitLong, func() bool {
		return metric(t, a, "skein_inbox_rejected_total", `{reason="signature"}`)+
			metric(t, a, "skein_inbox_rejected_total", `{reason="malformed"}`) == 1
	})

	status := fan.send(t, a.Base+"/inbox", map[string]any{"id": fan.ID + "#follow-1", "type": "Follow",
		"object": a.URLs.Member("alice")})
	if status != http.StatusAccepted {
		t.Fatalf("signed Follow answered %d", status)
	}
	waitFor(t, "the Follow to be counted", waitLong, func() bool {
		return metric(t, a, "skein_inbox_accepted_total", "") == 1
	})
	waitFor(t, "the Accept to arrive", waitLong, func() bool { return len(fan.received("Accept")) == 1 })
	alice.newThread("Counting", "What gets measured gets done.")
	waitFor(t, "the Create to arrive", waitLong, func() bool { return len(fan.received("Create")) == 1 })
	waitFor(t, "both deliveries to be counted", waitLong, func() bool {
		return metric(t, a, "skein_deliveries_total", `{host_class="unknown",result="sent"}`) >= 2
	})
}
