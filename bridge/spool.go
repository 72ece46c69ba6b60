package bridge

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// spooled is a received file on local disk with its content hash, and the
// id its files row takes when one was promised already (HTTP uploads).
type spooled struct {
	Path   string
	SHA256 string
	Size   int64
	ID     string
	Remote string // a pulled file's "path|size|mtime"
	// layout, when set, is read instead of the connection's: an API
	// connection's fetch names its connector and entity.
	layout string
	// durable waits until the bytes are on disk (nil when they were
	// already): the spool syncs in the background while the file is
	// ingested, and only keeping the bytes (replays, held files) needs
	// them durable.
	durable func() error
	// kept marks bytes already in the file store (read back from it, or
	// kept on receipt): keeping them again is not needed.
	kept bool
}

// sync waits for the spooled bytes to be on disk.
func (s spooled) sync() error {
	if s.durable == nil {
		return nil
	}
	return s.durable()
}

// hashFile hashes a file already on disk.
func hashFile(path string) (spooled, error) {
	f, err := os.Open(path)
	if err != nil {
		return spooled{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return spooled{Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, err
}

// spool copies r into a new file under dir, hashing as it goes.
func spool(dir string, r io.Reader) (spooled, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return spooled{}, fmt.Errorf("spool dir: %w", err)
	}
	f, err := os.CreateTemp(dir, tempPattern("drop"))
	if err != nil {
		return spooled{}, fmt.Errorf("spool: %w", err)
	}
	h := sha256.New()
	n, err := hashCopy(f, h, r)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return spooled{}, fmt.Errorf("spool: %w", err)
	}
	// Syncing a large drop took as long as hashing and writing it: it
	// runs beside the ingest, which reads the bytes from the page cache.
	synced := make(chan error, 1)
	go func() {
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			err = fmt.Errorf("spool: %w", err)
		}
		synced <- err
	}()
	return spooled{Path: f.Name(), SHA256: hex.EncodeToString(h.Sum(nil)), Size: n,
		durable: sync.OnceValue(func() error { return <-synced })}, nil
}

// hashCopy copies r to w and into h, a megabyte at a time (the default
// 32 KiB made a 1 GB drop 60,000 reads and writes), hashing each piece on
// another goroutine while it is written: hashing and writing one after
// the other were a sixth of a re-delivered file's ingest.
func hashCopy(w io.Writer, h hash.Hash, r io.Reader) (int64, error) {
	const pieces = 3 // one being read, one written, one hashed
	free := make(chan []byte, pieces)
	for range pieces {
		free <- make([]byte, 1<<20)
	}
	hashq := make(chan []byte, pieces)
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for b := range hashq {
			h.Write(b)
			free <- b[:cap(b)]
		}
	}()
	var n int64
	var err error
	for {
		buf := <-free
		k, rerr := io.ReadFull(r, buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				err = werr
				break
			}
			n += int64(k)
			hashq <- buf[:k]
		} else {
			free <- buf
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	close(hashq)
	<-hashed
	return n, err
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 64<<10) }

// tempPattern names a spool temporary after this process, so that a later
// process can tell the leftovers of a dead one (CleanSpool) from the files
// of one still running on the same spool (a CLI ingest beside the server).
func tempPattern(kind string) string { return fmt.Sprintf("%s-%d-*", kind, os.Getpid()) }

// CleanSpool removes the spooled and decoded temporaries that processes
// no longer running left behind (a killed ingest can leave gigabytes),
// and reports how many it removed.
func (b *Bridge) CleanSpool() (int, error) {
	entries, err := os.ReadDir(b.cfg.SpoolDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	n := 0
	for _, e := range entries {
		kind, rest, ok := strings.Cut(e.Name(), "-")
		if e.IsDir() || !ok || kind != "drop" && kind != "decoded" {
			continue
		}
		if pidText, _, tagged := strings.Cut(rest, "-"); tagged {
			if pid, err := strconv.Atoi(pidText); err == nil && processAlive(pid) {
				continue
			}
		}
		if err := os.Remove(filepath.Join(b.cfg.SpoolDir, e.Name())); err == nil {
			n++
		}
	}
	return n, nil
}

// processAlive reports whether a process with this id runs (signal 0
// checks without sending anything).
func processAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
