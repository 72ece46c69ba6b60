package parsers

import (
	"errors"
	"fmt"
	"io"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Report is a dry run's outcome for one file: what `hrisbridge validate
// --json` prints and POST /v1/validate answers. Nothing is stored.
type Report struct {
	File          string              `json:"file"`
	Layout        string              `json:"layout"`
	Rows          int                 `json:"rows"`
	Valid         int                 `json:"valid"`
	Invalid       int                 `json:"invalid"`
	Errors        []schema.FieldError `json:"errors"`
	ErrorsOmitted int                 `json:"errors_omitted"`
	Drift         []string            `json:"drift,omitempty"`
	Detected      *Detected           `json:"detected,omitempty"`
	FileError     *schema.FieldError  `json:"file_error,omitempty"`
	// Verdict is accept, accept_with_errors or reject.
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
}

// ValidateOptions tune a dry run; zero values take the defaults.
type ValidateOptions struct {
	// MaxInvalid rejects above this share of invalid rows; default 0.05.
	MaxInvalid float64
	// MaxErrors is how many row errors the report keeps; default 100.
	MaxErrors int
	// Each, when set, is given every row error (the report keeps only
	// the first MaxErrors).
	Each   func(schema.FieldError)
	Limits Limits
}

// Validate reads src with l as the daemon would, without storing
// anything, and reports the verdict the daemon would reach.
func Validate(src io.Reader, name string, l *Layout, o ValidateOptions) Report {
	if o.MaxInvalid == 0 {
		o.MaxInvalid = 0.05
	}
	if o.MaxErrors == 0 {
		o.MaxErrors = 100
	}
	rep := Report{File: name, Layout: l.Name, Errors: []schema.FieldError{}}
	reject := func(code, msg string, line int) Report {
		rep.FileError = &schema.FieldError{Line: line, Code: code, Message: msg}
		rep.Verdict, rep.Reason = "reject", msg
		return rep
	}
	r, err := o.Limits.OpenReusing(src, l)
	var pe *ParseError
	if errors.As(err, &pe) {
		return reject(pe.Code, pe.Err.Error(), pe.Line)
	} else if err != nil {
		return reject(schema.ECodeRead, err.Error(), 0)
	}
	defer r.Close()
	rep.Drift = r.Drift()
	d := r.Detected()
	rep.Detected = &d
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if errors.As(err, &pe) {
			return reject(pe.Code, pe.Err.Error(), pe.Line)
		} else if err != nil {
			return reject(schema.ECodeRead, err.Error(), 0)
		}
		rep.Rows++
		if row.Valid() {
			rep.Valid++
			continue
		}
		rep.Invalid++
		for _, fe := range row.Errors {
			if len(rep.Errors) < o.MaxErrors {
				rep.Errors = append(rep.Errors, fe)
			} else {
				rep.ErrorsOmitted++
			}
			if o.Each != nil {
				o.Each(fe)
			}
		}
	}
	switch {
	case rep.Rows > 0 && float64(rep.Invalid)/float64(rep.Rows) > o.MaxInvalid:
		rep.Verdict = "reject"
		rep.Reason = fmt.Sprintf("%d of %d rows are invalid, above the limit of %g%% (%s)", rep.Invalid, rep.Rows, o.MaxInvalid*100, schema.ECodeInvalidMax)
	case len(rep.Drift) > 0:
		rep.Verdict = "reject"
		rep.Reason = "the header differs from the layout's expected header; the daemon would hold this file for approval"
	case rep.Invalid > 0:
		rep.Verdict = "accept_with_errors"
	default:
		rep.Verdict = "accept"
	}
	return rep
}
