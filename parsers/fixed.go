package parsers

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math/big"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"

	"github.com/hrisbridge/hrisbridge/schema"
)

// FixedWidth streams a fixed-width file through a layout. Records are
// lines; a type code at a fixed position tells header, detail and trailer
// apart. Fields are sliced by byte position (or by character with
// fixed.runes) and then decoded, so single-byte charsets keep their
// positions. CR, trailing NULs and a final Ctrl-Z are ignored.
type FixedWidth struct {
	*mapper
	in      *bufio.Reader
	enc     encoding.Encoding
	line    int
	vals    []string
	buf     []byte // the line being read
	encName string
	trailer bool
	header  bool
}

func openFixed(src io.Reader, l *Layout, m *mapper) (*FixedWidth, error) {
	enc, err := decoderFor(l.Encoding)
	if err != nil {
		return nil, err
	}
	name := cmp.Or(l.Encoding, "utf-8")
	if isAuto(l.Encoding) {
		enc, name, src = detectEncoding(src)
		m.checkU8 = enc == nil
		if strings.HasPrefix(name, "utf-16") {
			return nil, &ParseError{Line: 1, Code: schema.ECodeEncoding, Err: fmt.Errorf("the file is %s: fixed-width files are read as bytes; export it as UTF-8 or Windows-1252", name)}
		}
	}
	r := &FixedWidth{mapper: m, in: bufio.NewReaderSize(src, 64<<10), enc: enc, encName: name}
	for i, name := range l.FieldNames() {
		r.addSlot(name, i)
	}
	r.vals = make([]string, len(r.slots))
	return r, nil
}

// Header returns nil: fixed-width files have no header row of names.
func (r *FixedWidth) Header() []string { return nil }

// Drift returns nil: fixed-width layouts are positional.
func (r *FixedWidth) Drift() []string { return nil }

// Detected is the encoding the file is read with.
func (r *FixedWidth) Detected() Detected { return Detected{Encoding: r.encName} }

// Mapped returns nil: fixed-width layouts are positional.
func (r *FixedWidth) Mapped() []string { return nil }

// readLine returns the next line without its line ending, or io.EOF.
func (r *FixedWidth) readLine() ([]byte, error) {
	line, err := r.readBounded()
	if err == io.EOF && len(line) == 0 {
		return nil, io.EOF
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	r.line++
	line = bytes.TrimRight(line, "\r\n\x00\x1a")
	if r.line == 1 {
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	return line, nil
}

// readBounded reads up to and including the next newline, failing with
// E_TOO_LARGE once a line passes the line limit instead of buffering it
// whole.
func (r *FixedWidth) readBounded() ([]byte, error) {
	r.buf = r.buf[:0]
	for {
		part, err := r.in.ReadSlice('\n')
		r.buf = append(r.buf, part...)
		if len(r.buf) > r.lim.MaxLine {
			return nil, &ParseError{Line: r.line + 1, Code: schema.ECodeTooLarge,
				Err: fmt.Errorf("the line is longer than the %d-byte limit (max_line_bytes)", r.lim.MaxLine)}
		}
		switch err {
		case bufio.ErrBufferFull:
			continue
		case nil, io.EOF:
			return r.buf, err
		}
		return nil, &ParseError{Line: r.line + 1, Code: schema.ECodeRead, Err: err}
	}
}

// Next returns the next detail row, or io.EOF after the last.
func (r *FixedWidth) Next() (*Row, error) {
	fx := &r.layout.Fixed
	for {
		line, err := r.readLine()
		if err == io.EOF {
			return nil, r.end()
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		code := ""
		if fx.TypeStart > 0 {
			code = string(bytes.TrimSpace(slice(line, fx.TypeStart, fx.TypeLength, false)))
		}
		if r.trailer {
			return nil, &ParseError{Line: r.line, Code: schema.ECodeTrailer, Err: fmt.Errorf("record after the trailer")}
		}
		switch {
		case fx.TypeStart == 0 || code == fx.Detail:
			if fx.Header != "" && !r.header {
				return nil, &ParseError{Line: r.line, Code: schema.ECodeHeader, Err: fmt.Errorf("file does not start with a header record (%q)", fx.Header)}
			}
			return r.detail(line), nil
		case code == fx.Header && fx.Header != "":
			if r.header || r.rows > 0 {
				return nil, &ParseError{Line: r.line, Code: schema.ECodeHeader, Err: fmt.Errorf("a second header record")}
			}
			r.header = true
		case code == fx.Trailer && fx.Trailer != "":
			if err := r.checkTrailer(line); err != nil {
				return nil, err
			}
			r.trailer = true
		case oneOf(code, fx.Skip):
		default:
			return &Row{Line: r.line, Errors: []schema.FieldError{{Line: r.line, Code: schema.ECodeRecordType,
				Message: fmt.Sprintf("record type %q is not one the layout knows", code)}}}, nil
		}
	}
}

func (r *FixedWidth) detail(line []byte) *Row {
	for i := range r.slots {
		f := r.slots[i].field
		r.vals[i] = r.decode(slice(line, f.Start, f.Length, r.layout.Fixed.Runes))
	}
	row := r.row(r.line, r.vals)
	if n := r.layout.Fixed.RecordLength; n > 0 && r.length(line) > n {
		row.Errors = append(row.Errors, schema.FieldError{Line: r.line, RecordID: row.RecordID, Code: schema.ECodeColumns,
			Message: fmt.Sprintf("record is %d long, the layout's records are %d", r.length(line), n)})
	}
	return row
}

func (r *FixedWidth) length(line []byte) int {
	if r.layout.Fixed.Runes {
		return utf8.RuneCount(line)
	}
	return len(line)
}

// decode turns a field's bytes into UTF-8.
func (r *FixedWidth) decode(b []byte) string {
	if r.enc == nil || isASCII(b) {
		return string(b)
	}
	s, err := r.enc.NewDecoder().Bytes(b)
	if err != nil {
		return string(b)
	}
	return string(s)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// slice returns the field at 1-based start of length n, clipped to the line.
func slice(line []byte, start, n int, runes bool) []byte {
	if start < 1 {
		return nil
	}
	if runes {
		from := byteOffset(line, start-1)
		to := byteOffset(line, start-1+n)
		return line[from:to]
	}
	from, to := min(start-1, len(line)), min(start-1+n, len(line))
	return line[from:to]
}

// byteOffset returns the byte offset of the n-th rune (or len(line)).
func byteOffset(line []byte, n int) int {
	off := 0
	for i := 0; i < n && off < len(line); i++ {
		_, size := utf8.DecodeRune(line[off:])
		off += size
	}
	return off
}

// checkTrailer compares the trailer's count and totals with what was read.
func (r *FixedWidth) checkTrailer(line []byte) error {
	fields := r.layout.Fixed.TrailerFields
	value := func(name string) (string, error) {
		f := fields[name]
		v, fe := f.convert(name, r.decode(slice(line, f.Start, f.Length, r.layout.Fixed.Runes)))
		if fe != nil {
			return "", &ParseError{Line: r.line, Code: schema.ECodeTrailer, Err: fmt.Errorf("trailer %s", fe.Message)}
		}
		return v, nil
	}
	if name := r.layout.Checks.TrailerCount; name != "" {
		v, err := value(name)
		if err != nil {
			return err
		}
		if v != fmt.Sprint(r.rows) {
			return &ParseError{Line: r.line, Code: schema.ECodeTrailerCount,
				Err: fmt.Errorf("trailer says %s detail records, the file has %d", v, r.rows)}
		}
	}
	for _, ct := range r.layout.Checks.ControlTotals {
		v, err := value(ct.Trailer)
		if err != nil {
			return err
		}
		var want big.Rat
		want.SetString(v)
		for _, s := range r.slots {
			if s.name == ct.Field && s.total.Cmp(&want) != 0 {
				return &ParseError{Line: r.line, Code: schema.ECodeControlTotal,
					Err: fmt.Errorf("trailer total of %s is %s, the detail records add up to %s", ct.Field, v, s.total.FloatString(2))}
			}
		}
	}
	return nil
}

// end runs the end-of-file checks.
func (r *FixedWidth) end() error {
	if r.layout.Fixed.Trailer != "" && !r.trailer {
		return &ParseError{Line: r.line, Code: schema.ECodeTruncated,
			Err: fmt.Errorf("file ended without its trailer record (%q): it was cut short", r.layout.Fixed.Trailer)}
	}
	if r.line == 0 {
		return &ParseError{Line: 1, Code: schema.ECodeEmpty, Err: fmt.Errorf("file is empty")}
	}
	if err := r.finish(); err != nil {
		return err
	}
	return io.EOF
}
