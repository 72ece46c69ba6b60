package schema

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"unsafe"
)

// IndexKeeper is an Ingest that keeps the change index between files
// (PostgreSQL). Reading a million employee rows to learn their hashes
// took longer than a plain COPY of the whole file; the kept index is
// about 30 bytes per employee in a few chunks. A store keeps it in the
// ingest's transaction and drops it whenever an ingest writes employees
// without keeping a new one, so it is the stored state or absent, never
// stale.
type IndexKeeper interface {
	// KeptIndex passes the kept index's chunks to fn in order, and
	// reports whether there was one.
	KeptIndex(ctx context.Context, fn func(chunk []byte) error) (bool, error)
	// KeepIndex stores the chunks chunks yields (each valid only until
	// yield returns): as the whole index when replace is set, else after
	// the chunks kept already, which KeptIndex then passes first.
	KeepIndex(ctx context.Context, chunks func(yield func([]byte) error) error, replace bool) error
}

// keptMagic versions the chunk format together with the content hash
// encoding ("e1" in ContentHashInto): a chunk of another version is not
// read, and the index is loaded from the rows instead. A delta chunk
// (deltaMagic) holds only the entries one file wrote, and overrides the
// chunks before it.
const (
	keptMagic  = "hbk1e1"
	deltaMagic = "hbk1d1"
)

// Keep stores the index with keeper if it changed: only this file's
// writes, as a delta after the kept chunks, when the index was read from
// them and all the deltas stay under an eighth of it (or minDelta
// entries); else the whole index. A re-delivered export with 1% of its
// rows changed rewrote the whole index, a seventh of that file's ingest.
func (k *Known) Keep(ctx context.Context, keeper IndexKeeper) error {
	if !k.Stale() {
		return nil
	}
	if k.kept && k.deltas+k.dirty <= max(k.Len()/8, minDelta) {
		return keeper.KeepIndex(ctx, k.deltaChunks, false)
	}
	return keeper.KeepIndex(ctx, k.Chunks, true)
}

// minDelta is how many entries the deltas may hold whatever the index's
// size: a small tenant's few changes are kept as deltas too.
const minDelta = 64

// deltaChunks encodes the entries this file wrote.
func (k *Known) deltaChunks(yield func([]byte) error) error {
	k.merge()
	return k.chunks(deltaMagic, dirty, yield)
}

// chunkSize is the size a chunk is cut at (an entry never spans two).
const chunkSize = 1 << 20

var errKeptIndex = errors.New("kept change index: unreadable chunk")

// Chunks encodes the index, sorted by external id, in chunks of about a
// megabyte: each one starts with the format tag, the index's entry and
// id byte totals and the connection ids its entries refer to, then per employee its id, connection, flags and
// the two hash prefixes.
func (k *Known) Chunks(yield func([]byte) error) error {
	k.sortAll()
	return k.chunks(keptMagic, 0, yield)
}

// chunks encodes the entries with all of the flags only (all entries for
// 0) as chunks tagged magic.
func (k *Known) chunks(magic string, only uint8, yield func([]byte) error) error {
	total, idBytes := 0, 0
	for i := range k.entries {
		if e := &k.entries[i]; e.flags&only == only {
			total, idBytes = total+1, idBytes+int(e.n)
		}
	}
	var b []byte
	start := func() {
		b = append(b[:0], magic...)
		b = binary.AppendUvarint(b, uint64(total)) // totals, to size the reader's arrays
		b = binary.AppendUvarint(b, uint64(idBytes))
		b = binary.AppendUvarint(b, uint64(len(k.conns)))
		for _, c := range k.conns {
			b = binary.AppendUvarint(b, uint64(len(c)))
			b = append(b, c...)
		}
	}
	start()
	head := len(b)
	for i := range k.entries {
		e := &k.entries[i]
		if e.flags&only != only {
			continue
		}
		b = binary.AppendUvarint(b, uint64(e.n))
		b = append(b, k.ext(e)...)
		b = binary.AppendUvarint(b, uint64(e.conn))
		b = append(b, e.flags&missing)
		b = binary.LittleEndian.AppendUint64(b, e.hash)
		b = binary.LittleEndian.AppendUint64(b, e.source)
		if len(b) >= chunkSize {
			if err := yield(b); err != nil {
				return err
			}
			start()
		}
	}
	if len(b) > head || total == 0 {
		return yield(b)
	}
	return nil
}

// applyDeltas resolves the delta entries read after the base: each
// overrides the base's entry of its id, or is a new one; a later delta
// overrides an earlier one.
func (k *Known) applyDeltas() {
	k.merge()
	base, delta := k.entries[:k.baseLen], k.entries[k.baseLen:]
	slices.SortStableFunc(delta, k.compare)
	out := make([]knownEntry, 0, len(base)+len(delta))
	i, j := 0, 0
	for i < len(base) || j < len(delta) {
		// The last of a run of equal ids in delta wins.
		for j+1 < len(delta) && k.ext(&delta[j]) == k.ext(&delta[j+1]) {
			j++
		}
		switch {
		case j == len(delta):
			out = append(out, base[i])
			i++
		case i == len(base):
			out = append(out, delta[j])
			j++
		default:
			switch c := k.compare(base[i], delta[j]); {
			case c < 0:
				out = append(out, base[i])
				i++
			case c > 0:
				out = append(out, delta[j])
				j++
			default:
				out = append(out, delta[j])
				i, j = i+1, j+1
			}
		}
	}
	k.entries, k.inDelta = out, false
}

// decodeChunk appends a kept chunk's entries.
func (k *Known) decodeChunk(b []byte) error {
	if len(b) < len(keptMagic) {
		return errKeptIndex
	}
	switch string(b[:len(keptMagic)]) {
	case keptMagic:
		if k.inDelta {
			return errKeptIndex // the base comes before every delta
		}
	case deltaMagic:
		if !k.inDelta {
			// The base is complete (and sorted, as written): the
			// deltas' entries are merged into it at the end.
			k.merge()
			if !slices.IsSortedFunc(k.entries, k.compare) {
				return errKeptIndex
			}
			k.baseLen, k.inDelta = len(k.entries), true
		}
	default:
		return errKeptIndex
	}
	delta := k.inDelta
	b = b[len(keptMagic):]
	uvarint := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	total, ok1 := uvarint()
	idBytes, ok2 := uvarint()
	if !ok1 || !ok2 {
		return errKeptIndex
	}
	// Trust the totals for sizing only as far as the chunk could be one
	// of a few hundred (a damaged header must not allocate gigabytes).
	if limit := uint64(len(b)) * 256; k.entries == nil && total <= limit && idBytes <= limit {
		k.entries = make([]knownEntry, 0, total)
	}
	nconns, ok := uvarint()
	if !ok || nconns > overflowConn {
		return errKeptIndex
	}
	conns := make([]uint8, nconns)
	for i := range conns {
		n, ok := uvarint()
		if !ok || n > uint64(len(b)) {
			return errKeptIndex
		}
		conns[i] = k.connIndex(string(b[:n]))
		b = b[n:]
	}
	for len(b) > 0 {
		n, ok := uvarint()
		if !ok || n > uint64(len(b)) {
			return errKeptIndex
		}
		ext := b[:n]
		b = b[n:]
		c, ok := uvarint()
		if !ok || (c >= nconns && c != overflowConn) || len(b) < 17 {
			return errKeptIndex
		}
		conn := uint8(overflowConn)
		if c < nconns {
			conn = conns[c]
		}
		// add copies the id into the arena: no string is made for it.
		id := unsafe.String(unsafe.SliceData(ext), len(ext))
		err := k.add(id, conn, binary.LittleEndian.Uint64(b[1:]), binary.LittleEndian.Uint64(b[9:]), b[0]&missing)
		if err != nil {
			return errKeptIndex
		}
		if delta {
			k.deltas++
		}
		b = b[17:]
	}
	return nil
}

// Kept reports whether the index was read from the store's kept index.
func (k *Known) Kept() bool { return k.kept }

// Each calls fn for every employee in the index, in external id order
// (diagnostics and tests).
func (k *Known) Each(fn func(ext, conn string, hash, source uint64, missing bool)) {
	k.sortAll()
	for i := range k.entries {
		e := &k.entries[i]
		conn := "(overflow)"
		if int(e.conn) < len(k.conns) {
			conn = k.conns[e.conn]
		}
		fn(k.ext(e), conn, e.hash, e.source, e.is(missing))
	}
}
