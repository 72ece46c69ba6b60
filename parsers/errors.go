package parsers

import (
	"errors"
	"fmt"
)

// Errors returned by layout lookup and parsing.
var (
	ErrUnknownLayout = errors.New("unknown layout")
	ErrUnknownFormat = errors.New("unknown format")
)

// ParseError is a file-level error that stops reading, positioned like
// encoding/csv.ParseError.
type ParseError struct {
	Line int
	Code string
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %v (%s)", e.Line, e.Err, e.Code)
	}
	return fmt.Sprintf("%v (%s)", e.Err, e.Code)
}

func (e *ParseError) Unwrap() error { return e.Err }
