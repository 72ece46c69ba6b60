package parsers

import "hash/maphash"

// idSet remembers the record keys of a file to find duplicates in about 12
// bytes per record: it keeps 64-bit hashes, not keys, in an extendible hash
// table of small segments. A segment splits on its own when full, so the
// table never copies itself whole and memory grows smoothly with the number
// of records (about 70 MB for a 1 GB, 5.6 million-row census). A false
// duplicate needs a 64-bit collision: for five million rows about one
// chance in a million.
type idSet struct {
	seed  maphash.Seed
	dir   []*segment // indexed by the hash's top depth bits
	depth uint
}

const (
	segSlots = 1 << 13          // 64 KiB of hashes
	segMax   = segSlots * 3 / 4 // linear probing: ~8 probes for a new id at 3/4 full, ~32 at 7/8
)

type segment struct {
	depth uint
	n     int
	slots [segSlots]uint64 // 0 marks an empty slot
}

func newIDSet() *idSet {
	return &idSet{seed: maphash.MakeSeed(), dir: []*segment{{}}}
}

// add inserts key and reports whether it was already present.
func (s *idSet) add(key string) bool {
	h := maphash.String(s.seed, key) | 1 // never 0
	for {
		seg := s.dir[s.index(h)]
		found, room := seg.add(h)
		if found || room {
			return found
		}
		s.split(seg)
	}
}

func (s *idSet) index(h uint64) uint64 {
	if s.depth == 0 {
		return 0
	}
	return h >> (64 - s.depth)
}

func (g *segment) home(h uint64) uint64 { return (h >> 7) & (segSlots - 1) }

// add looks h up and, when absent and the segment has room, inserts it
// in the empty slot that ended the search: one probe sequence for both.
// found reports h was there; room is false when it was not and the
// segment is full (the caller splits it and tries again).
func (g *segment) add(h uint64) (found, room bool) {
	for i := g.home(h); ; i = (i + 1) & (segSlots - 1) {
		switch g.slots[i] {
		case 0:
			if g.n >= segMax {
				return false, false
			}
			g.slots[i] = h
			g.n++
			return false, true
		case h:
			return true, true
		}
	}
}

func (g *segment) insert(h uint64) {
	i := g.home(h)
	for g.slots[i] != 0 {
		i = (i + 1) & (segSlots - 1)
	}
	g.slots[i] = h
	g.n++
}

// split divides a full segment in two by the next hash bit, doubling the
// directory (pointers only) when the segment is as deep as it.
func (s *idSet) split(g *segment) {
	if g.depth == s.depth {
		dir := make([]*segment, len(s.dir)*2)
		for i, p := range s.dir {
			dir[2*i], dir[2*i+1] = p, p
		}
		s.dir, s.depth = dir, s.depth+1
	}
	lo, hi := &segment{depth: g.depth + 1}, &segment{depth: g.depth + 1}
	bit := uint64(1) << (63 - g.depth)
	for _, h := range g.slots {
		switch {
		case h == 0:
		case h&bit == 0:
			lo.insert(h)
		default:
			hi.insert(h)
		}
	}
	for i, p := range s.dir {
		if p == g {
			if (uint64(i)<<(64-s.depth))&bit == 0 {
				s.dir[i] = lo
			} else {
				s.dir[i] = hi
			}
		}
	}
}
