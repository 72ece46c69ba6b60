package schema

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
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
// hashes, and flags, in about 32 bytes per employee (the ids share one
// string). Classify then decides per record without touching the store,
// so unchanged records cost no writes.
type Known struct {
	connectionID string
	ids          string       // every external id, back to back
	entries      []knownEntry // sorted by external id
}

type knownEntry struct {
	off    uint32 // the id is ids[off : off+n]
	n      uint16
	flags  uint8
	hash   uint64
	source uint64 // raw-record hash it was last written from; 0 unknown
}

const (
	sameConn uint8 = 1 << iota
	missing
	seen
)

func (e *knownEntry) is(f uint8) bool { return e.flags&f != 0 }

func (k *Known) ext(e *knownEntry) string { return k.ids[e.off : e.off+uint32(e.n)] }

// LoadKnown reads the index of an ingest for a file of connectionID.
func LoadKnown(ctx context.Context, in Ingest, connectionID string) (*Known, error) {
	k := &Known{connectionID: connectionID}
	var ids []byte
	err := in.Index(ctx, func(e IndexEntry) error {
		if len(e.ExternalID) > 1<<16-1 || len(ids)+len(e.ExternalID) > 1<<32-1 {
			return fmt.Errorf("employee id %.20q...: too long for the change index", e.ExternalID)
		}
		ent := knownEntry{off: uint32(len(ids)), n: uint16(len(e.ExternalID)), hash: hashPrefix(e.ContentHash), source: hashPrefix(e.SourceHash)}
		if e.ConnectionID == connectionID {
			ent.flags |= sameConn
		}
		if e.Missing {
			ent.flags |= missing
		}
		ids = append(ids, e.ExternalID...)
		k.entries = append(k.entries, ent)
		return nil
	})
	k.ids = string(ids)
	slices.SortFunc(k.entries, func(a, b knownEntry) int { return strings.Compare(k.ext(&a), k.ext(&b)) })
	return k, err
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

func (k *Known) find(ext string) *knownEntry {
	i := sort.Search(len(k.entries), func(i int) bool { return k.ext(&k.entries[i]) >= ext })
	if i < len(k.entries) && k.ext(&k.entries[i]) == ext {
		return &k.entries[i]
	}
	return nil
}

// Len is the number of stored employees.
func (k *Known) Len() int { return len(k.entries) }

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
	return fmt.Sprintf("%016x", sum)
}

// Unseen returns the external ids of this connection's employees that the
// file did not contain and that are not flagged missing already: who a full
// snapshot says is gone.
func (k *Known) Unseen() []string {
	var out []string
	for i := range k.entries {
		if e := &k.entries[i]; !e.is(seen) && e.is(sameConn) && !e.is(missing) {
			out = append(out, k.ext(e))
		}
	}
	return out
}

// Previous returns how many of this connection's employees were present
// (not missing) before the file: the size of the last snapshot.
func (k *Known) Previous() int {
	n := 0
	for i := range k.entries {
		if e := &k.entries[i]; e.is(sameConn) && !e.is(missing) {
			n++
		}
	}
	return n
}
