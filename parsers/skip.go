package parsers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Skipper decides, before a row is mapped, whether the consumer has that
// row already. Skip gets id, the raw value of the row's external_id
// column (trimmed), and sum, a 64-bit hash of the layout and the row's raw
// fields; returning true makes Next return the row with Skipped set,
// RecordID set to id and nothing mapped or checked: for a re-delivered
// snapshot most rows are unchanged, and reading them costs a field split
// and a hash. Seen reports whether a record with key id was taken (by
// Skip) earlier in the file: the reader's duplicate check asks it instead
// of remembering every skipped id itself.
type Skipper interface {
	Skip(id string, sum uint64) bool
	Seen(id string) bool
}

// skipVersion changes when mapping changes in a way a layout does not
// show, so that rows stored by an older mapper are read again.
const skipVersion = "parsers/2"

// rowKey derives the key a file's raw-record hashes are taken under: the
// caller's secret key (raw rows hold SSNs, so their hashes must not be
// searchable without it), bound to the layout as the mapper sees it and
// to the file's header, so that a layout or column change reads every row
// again instead of taking it as unchanged under another mapping.
func rowKey(key []byte, l *Layout, header []string) *schema.HashKey {
	m := hmac.New(sha256.New, key)
	b, _ := json.Marshal(l)
	m.Write([]byte(skipVersion))
	m.Write(b)
	for _, h := range header {
		m.Write([]byte{unitSep})
		m.Write([]byte(h))
	}
	return schema.NewHashKey(m.Sum(nil))
}

// rawSum hashes a record's fields, each followed by a unit separator:
// xxHash64, encrypted under the file's row key (schema.HashKey), so the
// stored value is keyed at the cost of one AES block; never 0, which
// means "no hash". The fields are joined in scratch and hashed in one
// write: many small writes per row cost more than the hashing.
func rawSum(key *schema.HashKey, rec []string, scratch *[]byte) uint64 {
	b := (*scratch)[:0]
	for _, f := range rec {
		b = append(append(b, f...), unitSep)
	}
	*scratch = b
	return key.Seal64(xxhash.Sum64(b)) | 1
}

const unitSep = 0x1f

// SkipWith installs a skipper, before the first Next. Every row Next
// returns then carries its raw hash, keyed by key, in Source. It reports
// false, installing nothing, when the layout has no external_id column to
// key on.
func (r *Delimited) SkipWith(f Skipper, key []byte) bool {
	r.idCol = -1
	for i := range r.slots {
		if r.slots[i].name == "external_id" && r.slots[i].col >= 0 {
			r.idCol = r.slots[i].col
		}
	}
	if r.idCol < 0 {
		return false
	}
	r.skip, r.rowKey = f, rowKey(key, r.layout, r.header)
	if r.ent == employeeEntity {
		r.recognised = f.Seen
	}
	return true
}

// SkipWith is not supported for fixed-width files (their trailers and
// control totals need every row mapped).
func (r *FixedWidth) SkipWith(Skipper, []byte) bool { return false }

// skipped returns the row for a record (of raw hash sum) the skipper
// recognises, or nil.
func (r *Delimited) skipped(line int, rec []string, sum uint64) *Row {
	if r.idCol >= len(rec) {
		return nil
	}
	id := strings.TrimSpace(rec[r.idCol])
	if id == "" || !r.skip.Skip(id, sum) {
		return nil
	}
	r.rows++
	row := r.newRow(line)
	row.RecordID, row.Skipped, row.Source = id, true, sum
	return row
}

// Close does nothing: fixed-width files are read on the caller's
// goroutine.
func (r *FixedWidth) Close() error { return nil }
