package bridge

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// spooled is a received file on local disk with its content hash, and the
// id its files row takes when one was promised already (HTTP uploads).
type spooled struct {
	Path   string
	SHA256 string
	Size   int64
	ID     string
	Remote string // a pulled file's "path|size|mtime"
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
	f, err := os.CreateTemp(dir, "drop-*")
	if err != nil {
		return spooled{}, fmt.Errorf("spool: %w", err)
	}
	h := sha256.New()
	// 1 MiB at a time: the default 32 KiB made a 1 GB drop 60,000 reads
	// and writes.
	n, err := io.CopyBuffer(f, io.TeeReader(r, h), make([]byte, 1<<20))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return spooled{}, fmt.Errorf("spool: %w", err)
	}
	return spooled{Path: f.Name(), SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 64<<10) }
