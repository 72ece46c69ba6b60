package schema

import (
	"context"
	"sort"
	"strconv"
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
// once per file: external id, a 64-bit prefix of the content hash, and
// flags, in about 50 bytes per employee. Classify then decides per record
// without touching the store, so unchanged records cost no writes.
type Known struct {
	connectionID string
	entries      []knownEntry // sorted by external id
}

type knownEntry struct {
	ext      string
	hash     uint64
	sameConn bool
	missing  bool
	seen     bool
}

// LoadKnown reads the index of an ingest for a file of connectionID.
func LoadKnown(ctx context.Context, in Ingest, connectionID string) (*Known, error) {
	k := &Known{connectionID: connectionID}
	err := in.Index(ctx, func(e IndexEntry) error {
		k.entries = append(k.entries, knownEntry{ext: e.ExternalID, hash: hashPrefix(e.ContentHash),
			sameConn: e.ConnectionID == connectionID, missing: e.Missing})
		return nil
	})
	sort.Slice(k.entries, func(i, j int) bool { return k.entries[i].ext < k.entries[j].ext })
	return k, err
}

func hashPrefix(hexHash string) uint64 {
	if len(hexHash) < 16 {
		return 0 // forces an update (e.g. a record terminated by absence)
	}
	v, _ := strconv.ParseUint(hexHash[:16], 16, 64)
	return v
}

func (k *Known) find(ext string) *knownEntry {
	i := sort.Search(len(k.entries), func(i int) bool { return k.entries[i].ext >= ext })
	if i < len(k.entries) && k.entries[i].ext == ext {
		return &k.entries[i]
	}
	return nil
}

// Len is the number of stored employees.
func (k *Known) Len() int { return len(k.entries) }

// Classify says whether e is new, changed (content, source connection or
// missing flag) or unchanged, and remembers that it was seen.
func (k *Known) Classify(e *Employee, enc Encoded) Change {
	ent := k.find(e.ExternalID)
	if ent == nil {
		return New
	}
	ent.seen = true
	if ent.hash != hashPrefix(enc.Hash) || ent.missing || !ent.sameConn {
		return Changed
	}
	return Unchanged
}

// Unseen returns the external ids of this connection's employees that the
// file did not contain and that are not flagged missing already: who a full
// snapshot says is gone.
func (k *Known) Unseen() []string {
	var out []string
	for _, e := range k.entries {
		if !e.seen && e.sameConn && !e.missing {
			out = append(out, e.ext)
		}
	}
	return out
}

// Previous returns how many of this connection's employees were present
// (not missing) before the file: the size of the last snapshot.
func (k *Known) Previous() int {
	n := 0
	for _, e := range k.entries {
		if e.sameConn && !e.missing {
			n++
		}
	}
	return n
}
