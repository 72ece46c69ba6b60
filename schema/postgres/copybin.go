package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hrisbridge/hrisbridge/schema/internal/codec"
)

// copyBuf builds a COPY ... FROM STDIN (FORMAT binary) stream by hand for
// the ingest's bulk writes. pgx's CopyFrom plans and encodes every value
// through interfaces, which cost as much CPU as parsing the file; here
// each column's type is known, so a row is a few appends.
//
// The format: a signature, flags and header extension length; per row
// the field count, then per field its length (-1 for NULL) and bytes in
// the type's binary form (text and bytea as they are; uuid its 16
// bytes; timestamptz microseconds since 2000-01-01 UTC); a -1 trailer.
type copyBuf struct {
	b     []byte
	nrows int
}

const copySignature = "PGCOPY\n\xff\r\n\x00"

func (c *copyBuf) reset() {
	c.b = append(c.b[:0], copySignature...)
	c.b = binary.BigEndian.AppendUint32(c.b, 0) // flags
	c.b = binary.BigEndian.AppendUint32(c.b, 0) // header extension
	c.nrows = 0
}

func (c *copyBuf) row(fields int) {
	if len(c.b) == 0 {
		c.reset()
	}
	c.b = binary.BigEndian.AppendUint16(c.b, uint16(fields))
	c.nrows++
}

func (c *copyBuf) text(s string) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(s)))
	c.b = append(c.b, s...)
}

// uuid writes a uuid column: its 16 bytes.
func (c *copyBuf) uuid(u [16]byte) {
	c.b = binary.BigEndian.AppendUint32(c.b, 16)
	c.b = append(c.b, u[:]...)
}

// hexBytes writes a bytea column from hex digits. Hashes are all it
// takes; it stops at an odd last digit or a byte that is not a digit.
func (c *copyBuf) hexBytes(h string) {
	var v [64]byte
	n := 0
	for ; n < len(v) && 2*n+1 < len(h); n++ {
		hi, lo := codec.HexValue(h[2*n]), codec.HexValue(h[2*n+1])
		if hi|lo > 15 {
			break
		}
		v[n] = hi<<4 | lo
	}
	c.bytes(v[:n])
}

func (c *copyBuf) bytes(p []byte) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(p)))
	c.b = append(c.b, p...)
}

func (c *copyBuf) bytesOrNull(p []byte) {
	if p == nil {
		c.null()
		return
	}
	c.bytes(p)
}

func (c *copyBuf) int4(v int32) {
	c.b = binary.BigEndian.AppendUint32(c.b, 4)
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(v))
}

func (c *copyBuf) null() { c.b = binary.BigEndian.AppendUint32(c.b, 0xffffffff) }

// pgEpochMicros is timestamptz's zero (2000-01-01 UTC) in Unix
// microseconds.
const pgEpochMicros = 946_684_800_000_000

func (c *copyBuf) time(t time.Time) {
	c.b = binary.BigEndian.AppendUint32(c.b, 8)
	c.b = binary.BigEndian.AppendUint64(c.b, uint64(t.UnixMicro()-pgEpochMicros))
}

// appended writes a field whose bytes fn appends (JSON built in place).
func (c *copyBuf) appended(fn func([]byte) []byte) {
	at := len(c.b)
	c.b = append(c.b, 0, 0, 0, 0)
	c.b = fn(c.b)
	binary.BigEndian.PutUint32(c.b[at:], uint32(len(c.b)-at-4))
}

// send copies the buffered rows into table's columns and empties the
// buffer.
func (c *copyBuf) send(ctx context.Context, tx pgx.Tx, table string, columns string) error {
	if c.nrows == 0 {
		return nil
	}
	c.b = binary.BigEndian.AppendUint16(c.b, 0xffff)
	_, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(c.b), "COPY "+table+" ("+columns+") FROM STDIN (FORMAT binary)")
	c.b, c.nrows = c.b[:0], 0
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, interpret(err))
	}
	return nil
}
