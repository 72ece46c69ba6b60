package postgres

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// copyRows builds a COPY ... FROM STDIN stream in PostgreSQL's text
// format: a line per row, fields split by tabs, \N for NULL, backslash
// escapes for backslash, tab, newline and carriage return. The server
// parses each field as its column's type (date, numeric, jsonb), so rows
// go out as the strings the ingest already holds. pgx's CopyFrom would
// encode every value through interfaces, at a CPU cost close to parsing
// the file.
// It is the PostgreSQL store's storeutil.Columns.
type copyRows struct {
	b    []byte
	n    int
	next bool // a field was written on the current line
}

func (c *copyRows) sep() {
	if c.next {
		c.b = append(c.b, '\t')
	}
	c.next = true
}

// Text writes a text field.
func (c *copyRows) Text(s string) {
	c.sep()
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\\':
			c.b = append(c.b, '\\', '\\')
		case '\t':
			c.b = append(c.b, '\\', 't')
		case '\n':
			c.b = append(c.b, '\\', 'n')
		case '\r':
			c.b = append(c.b, '\\', 'r')
		default:
			c.b = append(c.b, ch)
		}
	}
}

// Opt writes s, or NULL when it is empty (dates and numbers).
func (c *copyRows) Opt(s string) {
	if s == "" {
		c.null()
		return
	}
	c.Text(s)
}

func (c *copyRows) null() {
	c.sep()
	c.b = append(c.b, '\\', 'N')
}

// Bytes writes a bytea field in hex form, NULL for nil.
func (c *copyRows) Bytes(p []byte) {
	if p == nil {
		c.null()
		return
	}
	c.sep()
	c.b = append(c.b, '\\', '\\', 'x')
	c.b = hex.AppendEncode(c.b, p)
}

func (c *copyRows) Int(v int64) {
	c.sep()
	c.b = strconv.AppendInt(c.b, v, 10)
}

func (c *copyRows) Bool(v bool) {
	c.sep()
	if v {
		c.b = append(c.b, 't')
	} else {
		c.b = append(c.b, 'f')
	}
}

func (c *copyRows) time(t time.Time) {
	c.sep()
	c.b = t.AppendFormat(c.b, time.RFC3339Nano)
}

// end ends the current row.
func (c *copyRows) end() {
	c.b = append(c.b, '\n')
	c.n++
	c.next = false
}

// send copies the rows into table's columns and empties the buffer.
func (c *copyRows) send(ctx context.Context, tx pgx.Tx, table, columns string) error {
	if c.n == 0 {
		return nil
	}
	_, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(c.b), "COPY "+table+" ("+columns+") FROM STDIN")
	c.b, c.n = c.b[:0], 0
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, interpret(err))
	}
	return nil
}
