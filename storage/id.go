package storage

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strconv"
	"sync"
	"time"
)

// ID is a time-ordered 63-bit identifier chosen by the application, so a
// row's id is known before the insert (no RETURNING round trip) and sorting
// by id sorts by creation time.
//
// Layout: 41 bits of milliseconds since 2024-01-01 (about 69 years), 10
// bits of node number, 12 bits of sequence. Every process sharing a
// database leases its own node number from it (see [Store.leaseIDNode]), so ids
// made by several processes at once never coincide.
type ID int64

// String is the public form used in URLs and handles: base 36, lower case.
func (id ID) String() string { return strconv.FormatInt(int64(id), 36) }

// ParseID reads the public form. It rejects anything that is not a
// positive base-36 number.
func ParseID(s string) (ID, error) {
	if s == "" || len(s) > 13 {
		return 0, errors.New("bad id")
	}
	n, err := strconv.ParseInt(s, 36, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("bad id")
	}
	// Only the canonical spelling, so one id has one URL.
	if strconv.FormatInt(n, 36) != s {
		return 0, errors.New("bad id")
	}
	return ID(n), nil
}

// Time is when the id was made.
func (id ID) Time() time.Time {
	return time.UnixMilli(int64(id)>>22 + idEpoch).UTC()
}

const idEpoch = 1704067200000 // 2024-01-01T00:00:00Z in milliseconds

// IDGenerator hands out increasing ids; it is safe for concurrent use.
// Its node number is random until a lease replaces it (Store does that
// when it opens a migrated database).
type IDGenerator struct {
	mu   sync.Mutex
	node int64
	last int64 // last milliseconds used
	seq  int64
}

// NewIDGenerator picks a random node number.
func NewIDGenerator() *IDGenerator {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return &IDGenerator{node: int64(binary.BigEndian.Uint16(b[:]) & 0x3ff)}
}

// Next returns the next id. Within one generator ids strictly increase,
// even if the clock steps back.
func (g *IDGenerator) Next() ID {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := time.Now().UnixMilli() - idEpoch
	if ms <= g.last {
		// Same millisecond or the clock went back: keep counting on the
		// last millisecond, borrowing the next one when the sequence is
		// spent.
		ms = g.last
		g.seq++
		if g.seq > 0xfff {
			ms++
			g.seq = 0
		}
	} else {
		g.seq = 0
	}
	g.last = ms
	return ID(ms<<22 | g.node<<12 | g.seq)
}

// useNode switches to a leased node number. after is the last
// millisecond the node's previous holder recorded: ids continue strictly
// after it, so a node handed on never repeats an id, even if this
// machine's clock is behind the previous holder's.
func (g *IDGenerator) useNode(node, after int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.node = node & 0x3ff
	g.last = max(g.last, after+1)
	g.seq = -1 // the next id on g.last takes sequence 0
}

// lastMillis is the millisecond of the latest id made.
func (g *IDGenerator) lastMillis() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

// IDAt is the smallest id made at time t: ids are time-ordered, so
// "id >= IDAt(t)" selects rows created since t through the primary key.
func IDAt(t time.Time) ID {
	ms := t.UnixMilli() - idEpoch
	if ms < 0 {
		ms = 0
	}
	return ID(ms << 22)
}
