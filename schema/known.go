package schema

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unsafe"
)

// Change classifies an incoming record against the stored one.
type Change int

// Changes.
const (
	Unchanged Change = iota
	New
	Changed
)

// Known is the change-detection view of a tenant's stored employees, loaded
// once per file: external id, 64-bit prefixes of the content and source
// hashes, the source connection and flags, in about 32 bytes per employee
// (the ids share one arena). Classify then decides per record without
// touching the store, so unchanged records cost no writes.
//
// The caller reports each write it makes (Wrote, WroteSource,
// MarkedMissing), so that at the end of a file Known is the index of the
// stored state again, and a store that keeps it (IndexKeeper) hands it to
// the next file instead of reading every employee row. With a store that
// does not, the reports cost nothing.
type Known struct {
	connectionID string
	conn         uint8        // connectionID's index in conns
	conns        []string     // source connection ids ("" none)
	ids          [][]byte     // every external id, back to back in blocks of idBlock bytes; only appended to
	entries      []knownEntry // entries[:sorted] by external id (then, while loading, more)
	added        [][]knownEntry
	nAdded       int // entries in added: appended in blocks, so never copied to grow, and merged once
	dirty        int // entries written by this file
	deltas       int // entries in the kept deltas read (keptindex.go)
	baseLen      int // entries of the kept base, once a delta is read
	inDelta      bool
	sorted       int
	hint         int  // the entry find found last
	previous     int  // present employees of the connection before the file
	changed      bool // a write was reported
	kept         bool // loaded from the store's kept index
	track        bool // the store keeps the index: record writes
}

type knownEntry struct {
	off    uint32 // the id is ids[off>>idBlockBits][off&(idBlock-1):][:n]
	n      uint16
	conn   uint8 // index in conns (24 bytes an entry in all)
	flags  uint8
	hash   uint64
	source uint64 // raw-record hash it was last written from; 0 unknown
}

const (
	sameConn uint8 = 1 << iota
	missing
	seen
	dirty   // written by this file: in the next delta (keptindex.go)
	present // present for this connection before the file (Previous counts these)
)

func (e *knownEntry) is(f uint8) bool { return e.flags&f != 0 }

// gone reports an employee of the file's connection, present before it,
// that the file did not contain.
func (e *knownEntry) gone() bool { return !e.is(seen) && e.is(sameConn) && !e.is(missing) }

// The ids are kept in blocks of a megabyte, and new entries in blocks of
// 64K: a first load of a million employees grew one array of each by
// copying it over and over, a tenth of the client's time.
const (
	idBlockBits = 20
	idBlock     = 1 << idBlockBits
	addBlock    = 1 << 16
)

// ext returns an entry's id without copying: a block's bytes are never
// changed once written, nor the block moved, so the string stays valid.
func (k *Known) ext(e *knownEntry) string {
	if e.n == 0 {
		return ""
	}
	b := k.ids[e.off>>idBlockBits]
	return unsafe.String(&b[e.off&(idBlock-1)], int(e.n))
}

// connIndex returns id's index in conns, adding it. Past 255 source
// connections in one tenant the rest share index 255 (overflow), which
// only makes their employees look moved, so rewritten, never skipped.
func (k *Known) connIndex(id string) uint8 {
	for i, c := range k.conns {
		if c == id {
			return uint8(i)
		}
	}
	if len(k.conns) >= overflowConn {
		return overflowConn
	}
	k.conns = append(k.conns, id)
	return uint8(len(k.conns) - 1)
}

const overflowConn = 255

func (k *Known) add(ext string, conn uint8, hash, source uint64, flags uint8) error {
	if len(ext) > 1<<16-1 {
		return fmt.Errorf("employee id %.20q...: too long for the change index", ext)
	}
	last := len(k.ids) - 1
	if last < 0 || len(k.ids[last])+len(ext) > idBlock {
		if len(k.ids) >= 1<<(32-idBlockBits) {
			return fmt.Errorf("change index: more than 4 GB of employee ids")
		}
		k.ids = append(k.ids, make([]byte, 0, idBlock))
		last++
	}
	if conn == k.conn && conn != overflowConn {
		flags |= sameConn
	}
	e := knownEntry{off: uint32(last)<<idBlockBits | uint32(len(k.ids[last])), n: uint16(len(ext)), conn: conn, flags: flags, hash: hash, source: source}
	k.ids[last] = append(k.ids[last], ext...)
	switch {
	case k.nAdded == 0 && len(k.entries) < cap(k.entries):
		k.entries = append(k.entries, e) // sized for it (decodeChunk)
	default:
		if n := len(k.added); n == 0 || len(k.added[n-1]) == addBlock {
			k.added = append(k.added, make([]knownEntry, 0, addBlock))
		}
		n := len(k.added) - 1
		k.added[n] = append(k.added[n], e)
		k.nAdded++
	}
	return nil
}

// merge moves the added entries to the end of entries.
func (k *Known) merge() {
	if k.nAdded == 0 {
		return
	}
	all := make([]knownEntry, len(k.entries), len(k.entries)+k.nAdded)
	copy(all, k.entries)
	for _, b := range k.added {
		all = append(all, b...)
	}
	k.entries, k.added, k.nAdded = all, nil, 0
}

// LoadKnown reads the index of an ingest for a file of connectionID: the
// index the store kept after the last file when it keeps one
// (IndexKeeper), else every stored employee (Ingest.Index).
func LoadKnown(ctx context.Context, in Ingest, connectionID string) (*Known, error) {
	k := &Known{connectionID: connectionID, conns: []string{connectionID}}
	found := false
	if keeper, ok := in.(IndexKeeper); ok {
		k.track = true
		var err error
		found, err = keeper.KeptIndex(ctx, k.decodeChunk)
		if errors.Is(err, errKeptIndex) {
			found = false // read the rows instead
		} else if err != nil {
			return nil, fmt.Errorf("read kept change index: %w", err)
		}
	}
	k.kept = found
	if !found {
		k.entries, k.added, k.nAdded, k.ids, k.conns = nil, nil, 0, nil, k.conns[:1]
		k.deltas, k.inDelta = 0, false
		err := in.Index(ctx, func(e IndexEntry) error {
			var flags uint8
			if e.Missing {
				flags = missing
			}
			return k.add(e.ExternalID, k.connIndex(e.ConnectionID), hashPrefix(e.ContentHash), hashPrefix(e.SourceHash), flags)
		})
		if err != nil {
			return nil, err
		}
	}
	if k.inDelta {
		k.applyDeltas()
	}
	k.merge()
	if !slices.IsSortedFunc(k.entries, k.compare) {
		slices.SortFunc(k.entries, k.compare)
	}
	k.sorted = len(k.entries)
	for i := range k.entries {
		if e := &k.entries[i]; e.is(sameConn) && !e.is(missing) {
			e.flags |= present
			k.previous++
		}
	}
	return k, nil
}

func (k *Known) compare(a, b knownEntry) int { return strings.Compare(k.ext(&a), k.ext(&b)) }

// sortAll sorts this file's new entries in with the rest (once the file's
// lookups are done).
func (k *Known) sortAll() {
	k.merge()
	if k.sorted == len(k.entries) {
		return
	}
	// The new entries are sorted on their own and merged with the sorted
	// rest: one pass, where sorting all of them again took as long as
	// the file's other lookups.
	old, added := k.entries[:k.sorted], k.entries[k.sorted:]
	slices.SortFunc(added, k.compare)
	if len(old) > 0 && k.compare(old[len(old)-1], added[0]) > 0 {
		out := make([]knownEntry, 0, len(k.entries))
		for len(old) > 0 && len(added) > 0 {
			if k.compare(old[0], added[0]) <= 0 {
				out, old = append(out, old[0]), old[1:]
			} else {
				out, added = append(out, added[0]), added[1:]
			}
		}
		k.entries = append(append(out, old...), added...)
	}
	k.sorted = len(k.entries)
}

func hashPrefix(hexHash string) uint64 {
	if len(hexHash) < 16 {
		return 0 // forces an update (e.g. a record terminated by absence)
	}
	var v uint64
	for i := 0; i < 16; i++ {
		c := hexHash[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			return 0
		}
		v = v<<4 | uint64(c)
	}
	return v
}

// find looks ext up among the employees stored before the file (this
// file's new ones are never looked up again: the parser rejects a
// repeated id).
//
// Exports list employees in the same order file after file, mostly by id:
// the entry after the last one found is tried before a binary search,
// which on a million employees costs some twenty cache misses.
func (k *Known) find(ext string) *knownEntry {
	for i := k.hint; i < k.hint+2 && i < k.sorted; i++ {
		if k.ext(&k.entries[i]) == ext {
			k.hint = i
			return &k.entries[i]
		}
	}
	i := sort.Search(k.sorted, func(i int) bool { return k.ext(&k.entries[i]) >= ext })
	if i < k.sorted && k.ext(&k.entries[i]) == ext {
		k.hint = i
		return &k.entries[i]
	}
	return nil
}

// Len is the number of stored employees.
func (k *Known) Len() int { return len(k.entries) + k.nAdded }

// Wrote records that e was stored (inserted when new, updated when
// changed) with content hash hash and raw-record hash source.
func (k *Known) Wrote(e *Employee, c Change, hash string, source uint64) error {
	if !k.track {
		return nil // nothing will read it after this file
	}
	k.changed = true
	if c == New {
		k.dirty++
		return k.add(e.ExternalID, k.conn, hashPrefix(hash), source, seen|dirty)
	}
	ent := k.find(e.ExternalID)
	if ent == nil {
		return fmt.Errorf("change index: %s was not stored", e.ExternalID)
	}
	ent.hash, ent.source, ent.conn = hashPrefix(hash), source, k.conn
	k.touch(ent)
	ent.flags = (ent.flags | sameConn) &^ missing
	return nil
}

// WroteSource records that an unchanged employee's source hash was set.
func (k *Known) WroteSource(ext string, source uint64) {
	if !k.track {
		return
	}
	if ent := k.find(ext); ent != nil {
		k.touch(ent)
		ent.source, k.changed = source, true
	}
}

// MarkedMissing records that the employees Unseen returned were flagged
// missing, and terminated (their content hash cleared) when terminate.
func (k *Known) MarkedMissing(terminate bool) {
	if !k.track {
		return
	}
	for i := range k.entries[:k.sorted] {
		if e := &k.entries[i]; e.gone() {
			k.touch(e)
			e.flags |= missing
			if terminate {
				e.hash = 0
			}
			k.changed = true
		}
	}
}

// touch marks an entry written by this file.
func (k *Known) touch(e *knownEntry) {
	if !e.is(dirty) {
		e.flags |= dirty
		k.dirty++
	}
}

// Stale reports whether the index differs from what the store keeps:
// a write was recorded, or it was read from the rows.
func (k *Known) Stale() bool { return k.changed || !k.kept }

// Classify says whether e is new, changed (content, source connection or
// missing flag) or unchanged, and remembers that it was seen.
func (k *Known) Classify(e *Employee, hash string) Change {
	ent := k.find(e.ExternalID)
	if ent == nil {
		return New
	}
	ent.flags |= seen
	if ent.hash != hashPrefix(hash) || ent.is(missing) || !ent.is(sameConn) {
		return Changed
	}
	return Unchanged
}

// Skip reports whether a row can be taken as unchanged without reading
// it: the employee is stored for this connection, present, not seen yet
// in this file, and was last written from the same raw record (sum). It
// marks the employee seen.
func (k *Known) Skip(ext string, sum uint64) bool {
	ent := k.find(ext)
	if ent == nil || ent.is(seen) || ent.is(missing) || !ent.is(sameConn) || ent.source == 0 || ent.source != sum {
		return false
	}
	ent.flags |= seen
	return true
}

// Seen reports whether a row of ext was taken (Skip) or classified
// (Classify) earlier in the file.
func (k *Known) Seen(ext string) bool {
	ent := k.find(ext)
	return ent != nil && ent.is(seen)
}

// SourceStale reports whether an employee Classify found unchanged was
// written from a different raw record than sum (or before source hashes).
func (k *Known) SourceStale(ext string, sum uint64) bool {
	ent := k.find(ext)
	return ent != nil && ent.source != sum
}

// SourceHash formats a raw-record hash for Encoded.Source.
func SourceHash(sum uint64) string {
	if sum == 0 {
		return ""
	}
	var b [8]byte
	var h [16]byte
	binary.BigEndian.PutUint64(b[:], sum)
	hex.Encode(h[:], b[:])
	return string(h[:])
}

// Unseen returns the external ids of this connection's employees that the
// file did not contain and that are not flagged missing already: who a full
// snapshot says is gone.
func (k *Known) Unseen() []string {
	var out []string
	for i := range k.entries[:k.sorted] {
		if e := &k.entries[i]; e.gone() {
			out = append(out, k.ext(e))
		}
	}
	return out
}

// Overlap returns how many of the employees Previous counts the file
// contained: a full snapshot of the same employer shares most of its ids
// with the last one, another employer's export shares none.
func (k *Known) Overlap() int {
	n := 0
	for i := range k.entries[:k.sorted] {
		if e := &k.entries[i]; e.is(present) && e.is(seen) {
			n++
		}
	}
	return n
}

// Previous returns how many of this connection's employees were present
// (not missing) before the file: the size of the last snapshot.
func (k *Known) Previous() int { return k.previous }
