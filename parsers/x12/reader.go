// Package x12 reads ANSI X12 interchanges as a stream of segments and
// 834 benefit enrollment transactions (005010X220A1) as a stream of
// members. It is its own code: no maintained Go library reads 834.
//
// The delimiters come from the ISA segment, which is fixed at 106 bytes:
// the element separator is its 4th byte, the repetition separator ISA11,
// the component separator ISA16 and the segment terminator the byte after
// it (any of them: "~", a newline, ...). Line breaks after a terminator
// are skipped, so files with one segment per line read the same as files
// on one line; segments are never split on newlines themselves.
package x12

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Delimiters are an interchange's separators.
type Delimiters struct {
	Element, Component, Repetition, Segment byte // Repetition 0: none
}

// Segment is one segment: its id and elements (Elements[0] is the id, so
// Elements[i] is element i as the implementation guides number them).
type Segment struct {
	ID       string
	Elements []string
	// Number is the segment's position in the interchange, ISA being 1.
	Number int
}

// E returns element i, or "" when the segment has fewer.
func (s Segment) E(i int) string {
	if i < len(s.Elements) {
		return s.Elements[i]
	}
	return ""
}

// Error is a problem at a position of an interchange.
type Error struct {
	Segment int    // segment number, 0 when not known
	ID      string // segment id
	Loop    string // the 834 loop (2000, 2300, ...), when known
	Element int    // element position, 0 for the whole segment
	Code    string // catalog code
	Err     error
}

func (e *Error) Error() string {
	var where []string
	if e.Segment > 0 {
		where = append(where, fmt.Sprintf("segment %d", e.Segment))
	}
	if e.ID != "" {
		id := e.ID
		if e.Element > 0 {
			id = fmt.Sprintf("%s%02d", e.ID, e.Element)
		}
		where = append(where, id)
	}
	if e.Loop != "" {
		where = append(where, "loop "+e.Loop)
	}
	if len(where) == 0 {
		return fmt.Sprintf("%v (%s)", e.Err, e.Code)
	}
	return fmt.Sprintf("%s: %v (%s)", strings.Join(where, ", "), e.Err, e.Code)
}

func (e *Error) Unwrap() error { return e.Err }

// Catalog codes of X12 problems (schema's catalog has their fixes).
const (
	CodeSyntax   = "E_X12_SYNTAX"   // no ISA, or an ISA whose separators disagree
	CodeEnvelope = "E_X12_ENVELOPE" // control numbers or counts of ISA/IEA, GS/GE, ST/SE disagree, or an envelope is missing
	CodeSegment  = "E_X12_SEGMENT"  // a segment required by the transaction is missing or out of place
	CodeValue    = "E_X12_VALUE"    // an element holds a code or date the guide does not allow
)

// isaLen is the fixed length of an ISA segment with its terminator.
const isaLen = 106

// Reader reads segments from an interchange.
type Reader struct {
	rd     *bufio.Reader
	d      Delimiters
	n      int // segments read
	isa    []byte
	max    int  // longest segment accepted
	peeked bool // the ISA is returned by the first Next
}

// NewReader reads the ISA and returns a reader of the interchange's
// segments. maxSegment bounds one segment (0: 1 MiB).
func NewReader(r io.Reader, maxSegment int) (*Reader, error) {
	if maxSegment <= 0 {
		maxSegment = 1 << 20
	}
	br := bufio.NewReaderSize(r, 64<<10)
	// Leading blank lines and a UTF-8 byte-order mark are tolerated.
	for {
		b, err := br.Peek(1)
		if err != nil {
			return nil, &Error{Code: CodeSyntax, Err: errors.New("empty file: an X12 interchange starts with ISA")}
		}
		if b[0] != '\r' && b[0] != '\n' && b[0] != ' ' && b[0] != '\t' && b[0] != 0xEF && b[0] != 0xBB && b[0] != 0xBF {
			break
		}
		br.ReadByte() //nolint:errcheck
	}
	isa := make([]byte, isaLen)
	if n, err := io.ReadFull(br, isa); err != nil {
		return nil, &Error{Segment: 1, ID: "ISA", Code: CodeSyntax, Err: fmt.Errorf("the file ends %d bytes into the ISA, which is %d bytes long", n, isaLen)}
	}
	if string(isa[:3]) != "ISA" {
		return nil, &Error{Segment: 1, Code: CodeSyntax, Err: fmt.Errorf("the file starts with %q, not ISA: not an X12 interchange", printable(isa[:3]))}
	}
	d := Delimiters{Element: isa[3], Component: isa[104], Segment: isa[105]}
	// Every ISA element has a fixed width, so its separators sit at fixed
	// places: all must be the element separator.
	for _, i := range []int{6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103} {
		if isa[i] != d.Element {
			return nil, &Error{Segment: 1, ID: "ISA", Code: CodeSyntax,
				Err: fmt.Errorf("byte %d is %q where the element separator %q belongs: the ISA's elements are not padded to their fixed widths", i, printable(isa[i:i+1]), printable(isa[3:4]))}
		}
	}
	if rep := isa[82]; !isAlnum(rep) && rep != d.Element && rep != ' ' {
		d.Repetition = rep // a letter (4010's "U") means none
	}
	if isAlnum(d.Segment) || d.Segment == d.Element || d.Component == d.Element {
		return nil, &Error{Segment: 1, ID: "ISA", Code: CodeSyntax, Err: fmt.Errorf("the ISA's delimiters are not usable: element %q, component %q, segment %q",
			printable([]byte{d.Element}), printable([]byte{d.Component}), printable([]byte{d.Segment}))}
	}
	return &Reader{rd: br, d: d, isa: isa[:isaLen-1], max: maxSegment, peeked: true}, nil
}

// Delimiters returns the interchange's separators.
func (r *Reader) Delimiters() Delimiters { return r.d }

// Next returns the next segment, or io.EOF after the last.
func (r *Reader) Next() (Segment, error) {
	if r.peeked {
		r.peeked = false
		r.n = 1
		return r.split(r.isa), nil
	}
	for {
		raw, err := r.readSegment()
		if err == io.EOF && len(bytes.TrimSpace(raw)) == 0 {
			return Segment{}, io.EOF
		}
		if err != nil && err != io.EOF {
			return Segment{}, err
		}
		raw = bytes.TrimLeft(raw, "\r\n")
		if len(bytes.TrimSpace(raw)) == 0 {
			if err == io.EOF {
				return Segment{}, io.EOF
			}
			continue // a terminator followed by line breaks, or a stray one
		}
		r.n++
		if err == io.EOF {
			// The last segment without its terminator: carriers do it.
			raw = bytes.TrimRight(raw, "\r\n")
		}
		return r.split(raw), nil
	}
}

// readSegment returns the bytes up to the next terminator (without it).
func (r *Reader) readSegment() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.rd.ReadSlice(r.d.Segment)
		buf = append(buf, chunk...)
		if len(buf) > r.max {
			return nil, &Error{Segment: r.n + 1, Code: CodeSyntax, Err: fmt.Errorf("a segment longer than %d bytes: is the segment terminator %q right?", r.max, printable([]byte{r.d.Segment}))}
		}
		switch {
		case err == nil:
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return buf, err
		}
	}
}

func (r *Reader) split(raw []byte) Segment {
	parts := bytes.Split(raw, []byte{r.d.Element})
	s := Segment{Number: r.n, Elements: make([]string, len(parts))}
	for i, p := range parts {
		s.Elements[i] = string(p)
	}
	s.ID = strings.TrimSpace(s.Elements[0])
	// Trailing empty elements carry nothing; some carriers send them.
	for len(s.Elements) > 1 && s.Elements[len(s.Elements)-1] == "" {
		s.Elements = s.Elements[:len(s.Elements)-1]
	}
	return s
}

// Components splits a composite element by the component separator.
func (r *Reader) Components(e string) []string { return strings.Split(e, string(r.d.Component)) }

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z'
}

func printable(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		switch {
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\r':
			s.WriteString(`\r`)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&s, `\x%02x`, c)
		default:
			s.WriteByte(c)
		}
	}
	return s.String()
}
