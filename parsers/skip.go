package parsers

import (
	"encoding/json"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Skipper decides, before a row is mapped, whether the consumer has that
// row already: id is the raw value of the row's external_id column
// (trimmed), sum a 64-bit hash of the layout and the row's raw fields.
// Returning true makes Next return the row with Skipped set, RecordID set
// to id and nothing mapped or checked: for a re-delivered snapshot most
// rows are unchanged, and reading them costs a field split and a hash.
type Skipper func(id string, sum uint64) bool

// skipVersion changes when mapping changes in a way a layout does not
// show, so that rows stored by an older mapper are read again.
const skipVersion = "parsers/1"

// fingerprint hashes the layout as the mapper sees it.
func fingerprint(l *Layout) uint64 {
	b, _ := json.Marshal(l)
	return fnv64(fnvOffset, skipVersion+string(b))
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnv64(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// rawSum hashes a record's fields (xxHash64, seeded with the layout's
// fingerprint), each followed by a unit separator. The fields are joined
// in scratch and hashed in one write: 44 small writes per row cost more
// than the hashing.
func rawSum(d *xxhash.Digest, seed uint64, rec []string, scratch *[]byte) uint64 {
	b := (*scratch)[:0]
	for _, f := range rec {
		b = append(append(b, f...), unitSep)
	}
	*scratch = b
	d.ResetWithSeed(seed)
	d.Write(b) //nolint:errcheck // cannot fail
	return d.Sum64()
}

const unitSep = 0x1f

// SkipWith installs a skipper. Every row Next returns then carries its
// raw hash in Source. It reports false, installing nothing, when the
// layout has no external_id column to key on.
func (r *Delimited) SkipWith(f Skipper) bool {
	r.idCol = -1
	for i := range r.slots {
		if r.slots[i].name == "external_id" && r.slots[i].col >= 0 {
			r.idCol = r.slots[i].col
		}
	}
	if r.idCol < 0 {
		return false
	}
	r.skip, r.seed, r.digest = f, fingerprint(r.layout), xxhash.New()
	return true
}

// SkipWith is not supported for fixed-width files (their trailers and
// control totals need every row mapped).
func (r *FixedWidth) SkipWith(Skipper) bool { return false }

// skipped returns the row for a record the skipper recognises, or nil.
func (r *Delimited) skipped(line int, rec []string) (*Row, uint64) {
	sum := rawSum(r.digest, r.seed, rec, &r.sumBuf)
	if r.idCol >= len(rec) {
		return nil, sum
	}
	id := strings.TrimSpace(rec[r.idCol])
	if id == "" || !r.skip(id, sum) {
		return nil, sum
	}
	r.rows++
	if r.ent == employeeEntity {
		// Keep the duplicate check whole: a later row with this id is
		// still reported.
		r.seen.add(id)
	}
	row := r.newRow(line)
	row.RecordID, row.Skipped, row.Source = id, true, sum
	return row, sum
}
