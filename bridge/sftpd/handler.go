package sftpd

import (
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
	readOnly bool
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
	f, err := h.root.Open(rel(r.Filepath))
	return f, mapErr(err)
}

func (h *handler) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	if h.readOnly {
		return nil, sftp.ErrSSHFxPermissionDenied
	}
	flags := os.O_WRONLY | os.O_CREATE
	if pf := r.Pflags(); pf.Trunc {
		flags |= os.O_TRUNC
	}
	f, err := h.root.OpenFile(rel(r.Filepath), flags, 0o640)
	return f, mapErr(err)
}

func (h *handler) Filecmd(r *sftp.Request) error {
	if h.readOnly && r.Method != "Setstat" {
		return sftp.ErrSSHFxPermissionDenied
	}
	p := rel(r.Filepath)
	switch r.Method {
	case "Setstat":
		return nil // times and modes are the server's to keep
	case "Rename", "PosixRename":
		return mapErr(h.root.Rename(p, rel(r.Target)))
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
