package bridge

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"sort"

	"github.com/hrisbridge/hrisbridge/schema"
)

// change classifies an incoming record against the stored one.
type change int

const (
	unchanged change = iota
	added
	changed
)

// index is change detection's view of a tenant's stored employees, read
// from the store at the start of each file: per external id the content
// and raw-record hashes and whether the employee came from the file's
// connection and is flagged missing. classify then decides per row
// without a query, so an unchanged row costs no write. The writer keeps
// it up to date with what it writes, so that after a commit it is what a
// fresh read would return (indexCache keeps it for the next file).
//
// It holds no pointers: the ids sit end to end in one byte slice (each
// ends where the next entry's starts) and the map is keyed by their hash
// (maphash, seeded per index). The garbage collector then has nothing to
// walk in it, and a million employees take about 55 MB instead of 85: the
// heap of an ingest is this index plus the
// garbage of parsing, and the collector lets the garbage grow to the size
// of what is live, so the index is counted twice in the peak RSS. Ids
// with the same hash are told apart by comparing the ids; the later one
// goes to a plain map.
type index struct {
	seed     maphash.Seed
	pos      map[uint32]int32 // hash of an external id -> its entry
	clash    map[string]int32 // ids whose hash an earlier id has
	ids      []byte           // the external ids end to end
	entries  []indexEntry
	next     int // the entry after the last one found
	previous int // present employees of the file's connection before it
}

type indexEntry struct {
	hash, source uint64
	id           uint32 // where the external id starts in ids
	flags        uint8
}

const (
	sameConn uint8 = 1 << iota
	missing
	seen
)

func (e *indexEntry) is(f uint8) bool { return e.flags&f != 0 }

// present reports an employee of the file's connection that the last
// snapshot contained.
func (e *indexEntry) present() bool { return e.is(sameConn) && !e.is(missing) }

func newIndex() *index { return &index{seed: maphash.MakeSeed()} }

func loadIndex(ctx context.Context, in schema.Ingest) (*index, error) {
	x := newIndex()
	// Sized up front: growing the map and the entries of a million
	// employees copies and rehashes them over and over.
	size := func(n int) {
		x.pos, x.entries = make(map[uint32]int32, n), make([]indexEntry, 0, n)
		x.ids = make([]byte, 0, n*12)
	}
	err := in.EmployeeIndex(ctx, size, func(e schema.IndexEntry) error {
		var flags uint8
		if e.SameConnection {
			flags |= sameConn
		}
		if e.Missing {
			flags |= missing
		}
		ent := indexEntry{hash: e.Hash, source: e.SourceHash, flags: flags}
		if ent.present() {
			x.previous++
		}
		return x.add(e.ExternalID, ent)
	})
	return x, err
}

// add appends an entry for ext.
func (x *index) add(ext string, ent indexEntry) error {
	if len(x.ids)+len(ext) > math.MaxUint32 {
		return fmt.Errorf("the tenant's external ids exceed %d bytes", uint32(math.MaxUint32))
	}
	if x.pos == nil {
		x.pos = map[uint32]int32{}
	}
	ent.id = uint32(len(x.ids))
	i := int32(len(x.entries))
	x.ids = append(x.ids, ext...)
	x.entries = append(x.entries, ent)
	h := x.hash(ext)
	if _, taken := x.pos[h]; !taken {
		x.pos[h] = i
		return nil
	}
	if x.clash == nil {
		x.clash = map[string]int32{}
	}
	x.clash[ext] = i
	return nil
}

// wrote records what the file wrote for an employee of its connection:
// its content and raw-record hashes and missing flag, a new employee as a
// new entry. The entry counts as seen: a second row with its id is not
// skipped.
func (x *index) wrote(e *schema.Employee) error {
	flags := sameConn | seen
	if e.MissingFromSnapshot {
		flags |= missing
	}
	if i := x.lookup(e.ExternalID); i >= 0 {
		x.entries[i].hash, x.entries[i].source, x.entries[i].flags = e.Hash, e.SourceHash, flags
		return nil
	}
	return x.add(e.ExternalID, indexEntry{hash: e.Hash, source: e.SourceHash, flags: flags})
}

// settle readies an index for the next file: nothing seen yet, the
// present employees counted.
func (x *index) settle() {
	x.previous, x.next = 0, 0
	for i := range x.entries {
		x.entries[i].flags &^= seen
		if x.entries[i].present() {
			x.previous++
		}
	}
}

// hash keys the map: 32 bits of maphash. A million ids share a few
// hundred of them, which the clash map settles; 64-bit keys would double
// the map for nothing.
func (x *index) hash(ext string) uint32 { return uint32(maphash.String(x.seed, ext)) }

// externalID returns entry i's id, a slice of x.ids.
func (x *index) externalID(i int) []byte {
	end := len(x.ids)
	if i+1 < len(x.entries) {
		end = int(x.entries[i+1].id)
	}
	return x.ids[x.entries[i].id:end]
}

// classify says whether an employee with this id and content hash is new,
// changed (content, source connection or missing flag) or unchanged, and
// marks it seen.
func (x *index) classify(ext string, hash uint64) change {
	ent := x.find(ext)
	if ent == nil {
		return added
	}
	ent.flags |= seen
	if ent.hash != hash || ent.is(missing) || !ent.is(sameConn) {
		return changed
	}
	return unchanged
}

// Skip (parsers.Skipper) reports whether a row can be taken as unchanged
// unread: the employee is stored for this connection, present, not seen
// yet in this file, and was last written from the same raw record (sum).
// It marks the employee seen.
func (x *index) Skip(ext string, sum uint64) bool {
	ent := x.find(ext)
	if ent == nil || ent.is(seen) || !ent.present() || ent.source == 0 || ent.source != sum {
		return false
	}
	ent.flags |= seen
	return true
}

// find returns ext's entry, or nil. It tries the entry after the last one
// found before the map: an employer's exports list people in the same
// order each time and the store returns them in the order they were
// written, so the rows of a re-delivered file mostly find their entries
// one after the other, without the cache miss that a lookup in a map of a
// million costs.
func (x *index) find(ext string) *indexEntry {
	i := x.next
	if i >= len(x.entries) || string(x.externalID(i)) != ext {
		if i = x.lookup(ext); i < 0 {
			return nil
		}
	}
	x.next = i + 1
	return &x.entries[i]
}

// lookup returns the position of ext's entry, or -1, from the map.
func (x *index) lookup(ext string) int {
	if i, ok := x.pos[x.hash(ext)]; ok && string(x.externalID(int(i))) == ext {
		return int(i)
	}
	if i, ok := x.clash[ext]; ok {
		return int(i)
	}
	return -1
}

// Seen (parsers.Skipper) reports whether ext was skipped or classified
// earlier in the file.
func (x *index) Seen(ext string) bool {
	ent := x.find(ext)
	return ent != nil && ent.is(seen)
}

// sourceStale reports whether an unchanged employee was last written from
// another raw record than sum.
func (x *index) sourceStale(ext string, sum uint64) bool {
	ent := x.find(ext)
	return ent != nil && ent.source != sum
}

// unseen returns, sorted, the external ids of the connection's present
// employees that the file did not contain: who a full snapshot says is
// gone.
func (x *index) unseen() []string {
	var out []string
	for i, e := range x.entries {
		if e.present() && !e.is(seen) {
			out = append(out, string(x.externalID(i)))
		}
	}
	sort.Strings(out)
	return out
}

// overlap returns how many of the connection's present employees the file
// contained: a snapshot of the same employer shares most of its ids with
// the last one, another employer's export shares none.
func (x *index) overlap() int {
	n := 0
	for _, e := range x.entries {
		if e.present() && e.is(seen) {
			n++
		}
	}
	return n
}

// batchSize is how many writes of one kind the writer gathers before
// handing them to the store.
const batchSize = 1000

// employeeWriter gathers a file's employee writes and the events they
// make, and hands them to the store in batches. A changed employee's
// stored record is read back (a batch at a time) to name the fields that
// changed. In a connection's baseline file no per-record event is made.
type employeeWriter struct {
	in       schema.Ingest
	idx      *index // kept up to date with what is written
	baseline bool
	hashKey  *schema.HashKey
	inserts  []*schema.Employee
	updates  []*schema.Employee
	srcIDs   []string
	srcSums  []uint64
	events   []schema.Event
	written  int // events handed to the store
}

func (w *employeeWriter) insert(ctx context.Context, e *schema.Employee) error {
	e.ID = schema.NewID()
	w.inserts = append(w.inserts, e)
	w.event(schema.EmployeeEvent(schema.EventEmployeeHired, e, nil))
	if len(w.inserts) >= batchSize {
		return w.flushInserts(ctx)
	}
	return nil
}

func (w *employeeWriter) update(ctx context.Context, e *schema.Employee) error {
	w.updates = append(w.updates, e)
	if len(w.updates) >= batchSize {
		return w.flushUpdates(ctx)
	}
	return nil
}

func (w *employeeWriter) source(ctx context.Context, ext string, sum uint64) error {
	w.srcIDs, w.srcSums = append(w.srcIDs, ext), append(w.srcSums, sum)
	if len(w.srcIDs) >= batchSize {
		return w.flushSources(ctx)
	}
	return nil
}

func (w *employeeWriter) flushInserts(ctx context.Context) error {
	err := w.in.InsertEmployees(ctx, w.inserts)
	for _, e := range w.inserts {
		if err == nil {
			err = w.idx.add(e.ExternalID, indexEntry{hash: e.Hash, source: e.SourceHash, flags: sameConn | seen})
		}
	}
	clear(w.inserts)
	w.inserts = w.inserts[:0]
	if err == nil && len(w.events) >= batchSize {
		err = w.flushEvents(ctx)
	}
	return err
}

// flushUpdates reads the changed employees' stored records and writes
// them over those.
func (w *employeeWriter) flushUpdates(ctx context.Context) error {
	if len(w.updates) == 0 {
		return nil
	}
	ids := make([]string, len(w.updates))
	for i, e := range w.updates {
		ids[i] = e.ExternalID
	}
	olds, err := w.in.EmployeesByExternalID(ctx, ids)
	if err != nil {
		return fmt.Errorf("load changed employees: %w", err)
	}
	err = w.writeUpdates(ctx, w.updates, olds)
	clear(w.updates)
	w.updates = w.updates[:0]
	return err
}

// writeUpdates writes es over their stored records olds: each keeps its
// stored id and makes the event of what changed.
func (w *employeeWriter) writeUpdates(ctx context.Context, es []*schema.Employee, olds []schema.Employee) error {
	byExt := make(map[string]*schema.Employee, len(olds))
	for i := range olds {
		byExt[olds[i].ExternalID] = &olds[i]
	}
	for _, e := range es {
		old, ok := byExt[e.ExternalID]
		if !ok {
			return fmt.Errorf("update employee %s: %w", e.ExternalID, schema.ErrNotFound)
		}
		e.ID = old.ID
		if typ, fields := schema.EmployeeEventType(old, e); typ != "" {
			w.event(schema.EmployeeEvent(typ, e, fields))
		}
	}
	if err := w.in.UpdateEmployees(ctx, es); err != nil {
		return err
	}
	for _, e := range es {
		if err := w.idx.wrote(e); err != nil {
			return err
		}
	}
	return w.flushEvents(ctx)
}

// event keeps an event for the store; a baseline file makes none.
func (w *employeeWriter) event(e schema.Event) {
	if !w.baseline {
		w.events = append(w.events, e)
	}
}

func (w *employeeWriter) flushSources(ctx context.Context) error {
	err := w.in.SetSourceHashes(ctx, w.srcIDs, w.srcSums)
	for i, ext := range w.srcIDs {
		if j := w.idx.lookup(ext); j >= 0 {
			w.idx.entries[j].source = w.srcSums[i]
		}
	}
	w.srcIDs, w.srcSums = w.srcIDs[:0], w.srcSums[:0]
	return err
}

func (w *employeeWriter) flushEvents(ctx context.Context) error {
	if len(w.events) == 0 {
		return nil
	}
	err := w.in.AppendEvents(ctx, w.events)
	w.written += len(w.events)
	clear(w.events)
	w.events = w.events[:0]
	return err
}

// markMissing flags the employees a full snapshot no longer lists (and,
// with terminate, terminates them as of date), a batch at a time.
func (w *employeeWriter) markMissing(ctx context.Context, gone []string, terminate bool, date string) error {
	if err := w.flush(ctx); err != nil {
		return err
	}
	for len(gone) > 0 {
		n := min(len(gone), batchSize)
		olds, err := w.in.EmployeesByExternalID(ctx, gone[:n])
		if err != nil {
			return err
		}
		es := make([]*schema.Employee, len(olds))
		for i := range olds {
			e := olds[i].Clone()
			e.MissingFromSnapshot, e.SourceHash = true, 0
			if terminate && e.EmploymentStatus != schema.StatusTerminated {
				e.EmploymentStatus, e.TerminationDate = schema.StatusTerminated, date
			}
			e.Hash, _ = e.ContentHash(w.hashKey, nil)
			es[i] = e
		}
		if err := w.writeUpdates(ctx, es, olds); err != nil {
			return err
		}
		gone = gone[n:]
	}
	return nil
}

// flush hands everything gathered to the store.
func (w *employeeWriter) flush(ctx context.Context) error {
	if len(w.inserts) > 0 {
		if err := w.flushInserts(ctx); err != nil {
			return err
		}
	}
	if err := w.flushUpdates(ctx); err != nil {
		return err
	}
	if len(w.srcIDs) > 0 {
		if err := w.flushSources(ctx); err != nil {
			return err
		}
	}
	return w.flushEvents(ctx)
}
