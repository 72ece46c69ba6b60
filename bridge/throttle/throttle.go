// Package throttle counts failures per key (an address, an e-mail) in a
// sliding window: past Max failures within Window the key waits until the
// oldest of them leaves the window. The drop box's SFTP logins, the
// console's sign-ins and the API's keys share it. It lives in one
// process's memory: with R replicas an attacker gets at most R times the
// budget.
package throttle

import (
	"sync"
	"time"
)

// maxKeys bounds memory under a spray of keys: past it, keys with no
// failure left in the window are dropped.
const maxKeys = 100_000

// Counter is a sliding-window failure count per key, safe for concurrent
// use.
type Counter struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	fails map[string][]time.Time
}

// New returns a counter that blocks a key after max failures in window.
func New(max int, window time.Duration) *Counter {
	return &Counter{max: max, window: window, fails: map[string][]time.Time{}}
}

// Blocked reports how long key must still wait, or 0.
func (c *Counter) Blocked(key string, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	fs := c.recent(key, now)
	if len(fs) < c.max {
		return 0
	}
	return fs[0].Add(c.window).Sub(now)
}

// Fail counts a failure of key at now.
func (c *Counter) Fail(key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fails[key] = append(c.recent(key, now), now)
	if len(c.fails) > maxKeys {
		for k := range c.fails {
			c.recent(k, now)
		}
	}
}

// Reset forgets key's failures (after a success).
func (c *Counter) Reset(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.fails, key)
}

// recent drops key's failures older than the window (and key itself when
// none is left) and returns the rest.
func (c *Counter) recent(key string, now time.Time) []time.Time {
	fs := c.fails[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= c.window {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(c.fails, key)
	}
	return fs
}
