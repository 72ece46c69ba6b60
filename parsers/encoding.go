package parsers

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// decoderFor returns the decoder for a layout's encoding name. UTF-8 is the
// default; a UTF-8 (or UTF-16) byte order mark is honoured and removed.
func decoderFor(name string) (encoding.Encoding, error) {
	switch strings.ToLower(strings.ReplaceAll(name, "_", "-")) {
	case "", "utf-8", "utf8":
		return nil, nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252, nil
	case "iso-8859-1", "latin1", "latin-1":
		return charmap.ISO8859_1, nil
	}
	return nil, fmt.Errorf("%q is not one of utf-8, windows-1252, iso-8859-1", name)
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
