package parsers

import (
	"strings"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

// dateFormat is a date layout compiled for allocation-free parsing of the
// numeric layouts exports use (2006-01-02, 01/02/2006, 1/2/06, 20060102,
// ...). Layouts with other elements (month names, times) fall back to
// time.Parse.
type dateFormat struct {
	layout   string
	parts    []datePart
	fallback bool
}

type datePart struct {
	kind byte // 'Y' 4-digit year, 'y' 2-digit year, 'M'/'D' 2 digits, 'm'/'d' 1-2 digits, 0 literal
	lit  byte
}

// compileDate compiles a Go reference-time layout.
func compileDate(layout string) dateFormat {
	f := dateFormat{layout: layout}
	for s := layout; s != ""; {
		switch {
		case strings.HasPrefix(s, "2006"):
			f.parts, s = append(f.parts, datePart{kind: 'Y'}), s[4:]
		case strings.HasPrefix(s, "06"):
			f.parts, s = append(f.parts, datePart{kind: 'y'}), s[2:]
		case strings.HasPrefix(s, "01"):
			f.parts, s = append(f.parts, datePart{kind: 'M'}), s[2:]
		case strings.HasPrefix(s, "02"):
			f.parts, s = append(f.parts, datePart{kind: 'D'}), s[2:]
		case s[0] == '1':
			f.parts, s = append(f.parts, datePart{kind: 'm'}), s[1:]
		case s[0] == '2':
			f.parts, s = append(f.parts, datePart{kind: 'd'}), s[1:]
		case s[0] == '/' || s[0] == '-' || s[0] == '.' || s[0] == ' ':
			f.parts, s = append(f.parts, datePart{lit: s[0]}), s[1:]
		default:
			f.fallback = true
			return f
		}
	}
	return f
}

// parse returns v as YYYY-MM-DD, or false when v does not fit the layout
// or is not a calendar date (no 02-30 rollover).
func (f *dateFormat) parse(v string) (string, bool) {
	if f.fallback {
		t, err := time.Parse(f.layout, v)
		if err != nil {
			return "", false
		}
		return t.Format("2006-01-02"), true
	}
	y, m, d := -1, -1, -1
	i := 0
	for _, p := range f.parts {
		if p.kind == 0 {
			if i >= len(v) || v[i] != p.lit {
				return "", false
			}
			i++
			continue
		}
		width := 2
		switch p.kind {
		case 'Y':
			width = 4
		case 'm', 'd':
			if i+1 >= len(v) || v[i+1] < '0' || v[i+1] > '9' {
				width = 1
			}
		}
		n, ok := digits(v, i, width)
		if !ok {
			return "", false
		}
		i += width
		switch p.kind {
		case 'Y':
			y = n
		case 'y':
			y = 1900 + n
			if n < 69 {
				y = 2000 + n
			}
		case 'M', 'm':
			m = n
		case 'D', 'd':
			d = n
		}
	}
	if i != len(v) || y < 0 || m < 1 || m > 12 || d < 1 || d > schema.DaysIn(y, m) {
		return "", false
	}
	b := [10]byte{byte('0' + y/1000%10), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + m/10), byte('0' + m%10), '-', byte('0' + d/10), byte('0' + d%10)}
	return string(b[:]), true
}

func digits(s string, at, n int) (int, bool) {
	if at+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[at : at+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}
