package sftpd

import (
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pkg/sftp"
)

// handler serves one session's requests inside its os.Root jail.
type handler struct {
	root     *os.Root
	acct     Account
	uploaded func(Account, string)
}

// rel turns the client's cleaned absolute path into a root-relative one.
func rel(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}
	return p
}

func (h *handler) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	if h.acct.UploadOnly || h.acct.NoRead {
		return nil, sftp.ErrSSHFxPermissionDenied
	}
	f, err := h.root.Open(rel(r.Filepath))
	return f, mapErr(err)
}

func (h *handler) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	if h.acct.ReadOnly {
		return nil, sftp.ErrSSHFxPermissionDenied
	}
	p := rel(r.Filepath)
	if TempName(p) && strings.HasPrefix(path.Base(p), uploadPrefix) {
		return nil, sftp.ErrSSHFxPermissionDenied // the server's own names
	}
	// The bytes go to a temporary name beside the target and take the
	// target's name only when the client closes the file after a
	// complete upload: a partial file (a dropped connection, a killed
	// server, a refused write) never looks like a finished drop.
	tmp := path.Join(path.Dir(p), uploadPrefix+rand.Text())
	f, err := h.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, mapErr(err)
	}
	return &upload{File: f, h: h, path: p, tmp: tmp}, nil
}

// uploadPrefix starts the temporary name of an upload in progress; what
// carries it at start-up is a leftover of an upload that never completed
// (RemoveLeftovers).
const uploadPrefix = ".hrisbridge-upload-"

// upload is a file being written; closing it after a complete transfer
// commits it under its name.
type upload struct {
	*os.File
	h         *handler
	path, tmp string
	mu        sync.Mutex
	failed    error
}

var errTooLarge = errors.New("file exceeds this account's size limit")

func (u *upload) WriteAt(b []byte, off int64) (int, error) {
	if max := u.h.acct.MaxBytes; max > 0 && off+int64(len(b)) > max {
		u.fail(errTooLarge)
		return 0, errTooLarge
	}
	n, err := u.File.WriteAt(b, off)
	if err != nil {
		u.fail(err)
	}
	return n, err
}

// TransferError is told by the SFTP server that the session ended with
// the file still open: the upload is incomplete.
func (u *upload) TransferError(err error) { u.fail(err) }

func (u *upload) fail(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failed == nil {
		u.failed = err
	}
}

func (u *upload) Close() error {
	err := u.File.Sync()
	if cerr := u.File.Close(); err == nil {
		err = cerr
	}
	u.mu.Lock()
	failed := u.failed
	u.mu.Unlock()
	if err == nil && failed != nil {
		err = failed
	}
	if err != nil {
		u.h.root.Remove(u.tmp) //nolint:errcheck // best effort: RemoveLeftovers takes what stays
		return err
	}
	if err := u.h.root.Rename(u.tmp, u.path); err != nil {
		u.h.root.Remove(u.tmp) //nolint:errcheck
		return mapErr(err)
	}
	u.h.done(u.path)
	return nil
}

// RemoveLeftovers deletes, under dir, the temporary files of uploads that
// never completed (the server was stopped or killed during them), and
// returns how many it removed. Call it before the server starts.
func RemoveLeftovers(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), uploadPrefix) {
			if err := os.Remove(p); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// done reports a completed file, unless its name marks it as still being
// written (the client renames it when done).
func (h *handler) done(p string) {
	if h.uploaded != nil && !TempName(p) {
		h.uploaded(h.acct, p)
	}
}

// TempName reports whether a file name marks an upload in progress.
func TempName(name string) bool {
	n := strings.ToLower(path.Base(name))
	for _, s := range []string{".tmp", ".part", ".filepart", ".partial"} {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return strings.HasPrefix(n, ".")
}

func (h *handler) Filecmd(r *sftp.Request) error {
	if h.acct.ReadOnly && r.Method != "Setstat" {
		return sftp.ErrSSHFxPermissionDenied
	}
	if (h.acct.UploadOnly || h.acct.NoDelete) && (r.Method == "Remove" || r.Method == "Rmdir") {
		return sftp.ErrSSHFxPermissionDenied // a drop box keeps what it got
	}
	p := rel(r.Filepath)
	switch r.Method {
	case "Setstat":
		return nil // times and modes are the server's to keep
	case "Rename", "PosixRename":
		if err := h.root.Rename(p, rel(r.Target)); err != nil {
			return mapErr(err)
		}
		h.done(rel(r.Target))
		return nil
	case "Remove":
		return mapErr(h.root.Remove(p))
	case "Mkdir":
		return mapErr(h.root.Mkdir(p, 0o750))
	case "Rmdir":
		return mapErr(h.root.Remove(p))
	}
	return sftp.ErrSSHFxOpUnsupported // links would open a way out of the jail
}

// listing is a ListerAt over a slice.
type listing []fs.FileInfo

func (l listing) ListAt(dst []fs.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[off:])
	if n < len(dst) {
		return n, io.EOF
	}
	return n, nil
}

func (h *handler) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	p := rel(r.Filepath)
	switch r.Method {
	case "List":
		if h.acct.UploadOnly || h.acct.NoList {
			return nil, sftp.ErrSSHFxPermissionDenied
		}
		d, err := h.root.Open(p)
		if err != nil {
			return nil, mapErr(err)
		}
		defer d.Close()
		entries, err := d.ReadDir(-1)
		if err != nil {
			return nil, mapErr(err)
		}
		out := make(listing, 0, len(entries))
		for _, e := range entries {
			if fi, err := e.Info(); err == nil {
				out = append(out, fi)
			}
		}
		return out, nil
	case "Stat", "Lstat":
		fi, err := h.root.Stat(p)
		if err != nil {
			return nil, mapErr(err)
		}
		return listing{fi}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// mapErr turns jail escapes and os errors into SFTP status codes.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case os.IsNotExist(err):
		return sftp.ErrSSHFxNoSuchFile
	case os.IsPermission(err), strings.Contains(err.Error(), "escapes from parent"), strings.Contains(err.Error(), "path escapes"):
		return sftp.ErrSSHFxPermissionDenied
	}
	return err
}
