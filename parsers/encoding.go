package parsers

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// decoderFor returns the decoder for a layout's encoding name. UTF-8 is the
// default; a UTF-8 (or UTF-16) byte order mark is honoured and removed.
// "auto" returns nil: the file decides (detectEncoding).
func decoderFor(name string) (encoding.Encoding, error) {
	switch strings.ToLower(strings.ReplaceAll(name, "_", "-")) {
	case "", "utf-8", "utf8", "auto":
		return nil, nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252, nil
	case "iso-8859-1", "latin1", "latin-1":
		return charmap.ISO8859_1, nil
	case "utf-16", "utf-16le":
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), nil
	case "utf-16be":
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM), nil
	}
	return nil, fmt.Errorf("%q is not one of auto, utf-8, utf-16le, utf-16be, windows-1252, iso-8859-1", name)
}

// decode wraps r so it yields UTF-8 without a BOM. UTF-8 input is not
// copied through a transformer: a leading BOM is just skipped.
func decode(r io.Reader, enc encoding.Encoding) io.Reader {
	if enc == nil {
		br := bufio.NewReaderSize(r, 64<<10)
		if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
			br.Discard(3) //nolint:errcheck // peeked
		}
		return br
	}
	return transform.NewReader(r, unicode.BOMOverride(enc.NewDecoder()))
}

// isAuto reports whether a layout leaves the encoding to the file.
func isAuto(name string) bool { return strings.EqualFold(name, "auto") }

// detectSample is how much of a file detection reads ahead.
const detectSample = 64 << 10

// detectEncoding decides a file's encoding from its first bytes: a byte
// order mark decides (UTF-8, UTF-16 LE or BE); else valid UTF-8 is UTF-8;
// else Windows-1252, the usual export of a Windows payroll system (its
// superset of ISO-8859-1 decodes every byte). It returns the decoder (nil
// for UTF-8), the encoding's name, and a reader that still has every byte.
func detectEncoding(src io.Reader) (encoding.Encoding, string, io.Reader) {
	br := bufio.NewReaderSize(src, detectSample)
	head, _ := br.Peek(detectSample)
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		return nil, "utf-8", br
	case bytes.HasPrefix(head, []byte("\xff\xfe")):
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), "utf-16le", br
	case bytes.HasPrefix(head, []byte("\xfe\xff")):
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM), "utf-16be", br
	}
	if validUTF8Prefix(head) {
		return nil, "utf-8", br
	}
	return charmap.Windows1252, "windows-1252", br
}

// validUTF8Prefix reports whether b is valid UTF-8 but for a character
// cut short at its end.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

// detectDelimiter picks the delimiter of a header line among comma,
// semicolon, tab and pipe: the one that occurs most often outside quotes;
// comma when none does.
func detectDelimiter(header []byte) rune {
	counts := map[rune]int{}
	quoted := false
	for _, c := range string(header) {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t' || c == '|'):
			counts[c]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t', '|'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}
