package sftpd

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

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
	if h.acct.UploadOnly {
		return nil, sftp.ErrSSHFxPermissionDenied
	}
	f, err := h.root.Open(rel(r.Filepath))
	return f, mapErr(err)
}

func (h *handler) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	if h.acct.ReadOnly {
		return nil, sftp.ErrSSHFxPermissionDenied
	}
	flags := os.O_WRONLY | os.O_CREATE
	if pf := r.Pflags(); pf.Trunc {
		flags |= os.O_TRUNC
	}
	p := rel(r.Filepath)
	f, err := h.root.OpenFile(p, flags, 0o640)
	if err != nil {
		return nil, mapErr(err)
	}
	return &upload{File: f, h: h, path: p}, nil
}

// upload is a file being written; closing it completes the upload.
type upload struct {
	*os.File
	h    *handler
	path string
}

var errTooLarge = errors.New("file exceeds this account's size limit")

func (u *upload) WriteAt(b []byte, off int64) (int, error) {
	if max := u.h.acct.MaxBytes; max > 0 && off+int64(len(b)) > max {
		return 0, errTooLarge
	}
	return u.File.WriteAt(b, off)
}

func (u *upload) Close() error {
	err := u.File.Close()
	if err == nil {
		u.h.done(u.path)
	}
	return err
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
	if h.acct.UploadOnly && (r.Method == "Remove" || r.Method == "Rmdir") {
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
		if h.acct.UploadOnly {
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
