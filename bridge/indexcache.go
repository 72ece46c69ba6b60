package bridge

import "sync"

// indexCache keeps, between files, the change index of the tenants this
// process ingested last. What it buys: the next file of the same tenant
// and connection does not read every stored employee back first, which
// for a million employees is about a second, a third of re-ingesting a
// file in which 1% changed.
//
// An index is used only when the ingest's generation (schema.Ingest) is
// the next after the one it was kept at: then no other ingest of the
// tenant, in this process or in another replica, committed since. The
// ingest that takes an index updates it in place with what it writes
// (index.wrote) and puts it back only once it has committed; an ingest
// that fails drops it. At most max employees are kept over all tenants,
// the least recently used tenant leaving first.
type indexCache struct {
	mu    sync.Mutex
	max   int
	clock uint64
	byTen map[string]*cachedIndex // by tenant id
}

type cachedIndex struct {
	conn string // the connection the index's flags are relative to
	gen  int64
	used uint64
	idx  *index
}

func newIndexCache(max int) *indexCache {
	return &indexCache{max: max, byTen: map[string]*cachedIndex{}}
}

// take removes and returns the tenant's index if it is current for an
// ingest of generation gen on conn, or nil.
func (c *indexCache) take(tenant, conn string, gen int64) *index {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byTen[tenant]
	delete(c.byTen, tenant)
	if e == nil || e.conn != conn || e.gen != gen-1 {
		return nil
	}
	return e.idx
}

// put keeps x as the tenant's index after the ingest of generation gen
// on conn committed.
func (c *indexCache) put(tenant, conn string, gen int64, x *index) {
	if x == nil || len(x.entries) > c.max {
		return
	}
	x.settle()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	c.byTen[tenant] = &cachedIndex{conn: conn, gen: gen, used: c.clock, idx: x}
	for c.size() > c.max {
		var oldest string
		for t, e := range c.byTen {
			if oldest == "" || e.used < c.byTen[oldest].used {
				oldest = t
			}
		}
		delete(c.byTen, oldest)
	}
}

func (c *indexCache) size() int {
	n := 0
	for _, e := range c.byTen {
		n += len(e.idx.entries)
	}
	return n
}
