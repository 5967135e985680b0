package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies lists the reverse proxies (--trusted-proxy) whose
// X-Forwarded-For and X-Forwarded-Proto headers are believed. A request
// from any other peer is taken at face value: anyone can send those
// headers, and believing them would let a client pick the address its
// rate limits are counted under.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads a comma-separated list of CIDRs or single
// addresses ("127.0.0.1, 10.0.0.0/8, ::1").
func ParseTrustedProxies(list string) (TrustedProxies, error) {
	var out TrustedProxies
	for part := range strings.SplitSeq(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			addr, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: want an address or a CIDR", part)
			}
			out = append(out, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want an address or a CIDR", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (t TrustedProxies) trusts(ip string) bool {
	addr, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range t {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ClientIP is the address of the client: the peer, or when the peer is a
// trusted proxy, the right-most X-Forwarded-For entry that is not itself
// a trusted proxy (entries further left were written by the client and
// prove nothing).
func (t TrustedProxies) ClientIP(r *http.Request) string {
	peer := peerIP(r)
	if len(t) == 0 || !t.trusts(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue
		}
		if _, err := netip.ParseAddr(hop); err != nil {
			return peer // garbage from the proxy: do not guess
		}
		if !t.trusts(hop) {
			return hop
		}
	}
	return peer
}

// ClientProto is the scheme the client used: X-Forwarded-Proto from a
// trusted proxy, else what this connection is.
func (t TrustedProxies) ClientProto(r *http.Request) string {
	if len(t) > 0 && t.trusts(peerIP(r)) {
		switch p := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto"))); p {
		case "http", "https":
			return p
		}
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
