package parsers

import "hash/maphash"

// idSet remembers the record keys of a file to find duplicates, in 8 bytes
// per record: it stores 64-bit hashes in an open-addressing table rather
// than the keys, so a file of millions of rows stays within a few tens of
// megabytes. A false duplicate needs a 64-bit collision: with five million
// rows about one chance in three million.
type idSet struct {
	seed  maphash.Seed
	slots []uint64 // 0 marks an empty slot
	n     int
}

func newIDSet() *idSet { return &idSet{seed: maphash.MakeSeed(), slots: make([]uint64, 1024)} }

// add inserts key and reports whether it was already present.
func (s *idSet) add(key string) bool {
	h := maphash.String(s.seed, key) | 1 // never 0
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			s.n++
			return false
		case h:
			return true
		}
	}
}

func (s *idSet) grow() {
	old := s.slots
	s.slots = make([]uint64, len(old)*2)
	mask := uint64(len(s.slots) - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h
	}
}
