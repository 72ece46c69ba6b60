package bridge

import (
	"errors"
	"io/fs"
	"net"
	"strings"

	"github.com/pkg/sftp"

	"github.com/hrisbridge/hrisbridge/schema"
)

// SyncError is a pull failure with its catalog code. Transient errors
// (network) are worth retrying; the others need a person.
type SyncError struct {
	Code      string
	Transient bool
	Err       error
}

func (e *SyncError) Error() string { return e.Err.Error() + " (" + e.Code + ")" }
func (e *SyncError) Unwrap() error { return e.Err }

// Fix is the catalog's resolution.
func (e *SyncError) Fix() string { return schema.Catalog[e.Code].Fix }

// classify wraps a connection error with its code.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *SyncError
	if errors.As(err, &se) {
		return err
	}
	switch {
	case errors.Is(err, ErrHostKeyMismatch):
		return &SyncError{Code: schema.ECodeSFTPHostKey, Err: err}
	case strings.Contains(err.Error(), "unable to authenticate"):
		return &SyncError{Code: schema.ECodeSFTPAuth, Err: err}
	case errors.Is(err, fs.ErrPermission):
		return &SyncError{Code: schema.ECodeSFTPPermission, Err: err}
	case errors.Is(err, fs.ErrNotExist):
		return &SyncError{Code: schema.ECodeSFTPNotFound, Err: err}
	case errors.Is(err, sftp.ErrSSHFxConnectionLost), unavailable(err):
		return &SyncError{Code: schema.ECodeSFTPDial, Transient: true, Err: err}
	}
	return err
}

// unavailable reports whether err is the network failing (refused, reset,
// cut, timed out) rather than a peer's answer.
func unavailable(err error) bool {
	var ne net.Error
	msg := err.Error()
	return errors.As(err, &ne) || strings.Contains(msg, "connection refused") ||
		strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF") ||
		strings.Contains(msg, "closed network connection")
}

// storeErr marks the store's network failures (the database restarted or
// unreachable) as E_STORE_UNAVAILABLE, transient: told apart from the
// source's, since they happen after a file is downloaded.
func storeErr(err error) error {
	var se *SyncError
	if err == nil || errors.As(err, &se) || !unavailable(err) {
		return err
	}
	return &SyncError{Code: schema.ECodeStore, Transient: true, Err: err}
}
