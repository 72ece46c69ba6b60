package bridge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// TestSpool: the spooled file holds exactly the bytes read, with their
// SHA-256, whatever the size and however the reader splits them, and is
// synced once sync returns; a read error leaves no file behind.
func TestSpool(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 1<<20 - 1, 1 << 20, 1<<20 + 1, 3<<20 + 12345} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		sum := sha256.Sum256(data)
		for name, r := range map[string]io.Reader{
			"whole":    bytes.NewReader(data),
			"half":     iotest.HalfReader(bytes.NewReader(data)),
			"data+EOF": iotest.DataErrReader(bytes.NewReader(data)),
		} {
			dir := t.TempDir()
			sp, err := spool(dir, r)
			if err != nil {
				t.Fatalf("%d bytes, %s reader: %v", size, name, err)
			}
			if err := sp.sync(); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(sp.Path)
			if !bytes.Equal(got, data) || sp.Size != int64(size) || sp.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("%d bytes, %s reader: spooled %d bytes, size %d, sha %s", size, name, len(got), sp.Size, sp.SHA256)
			}
		}
	}
	dir := t.TempDir()
	broken := io.MultiReader(bytes.NewReader(make([]byte, 3<<20)), iotest.ErrReader(errors.New("connection reset")))
	if _, err := spool(dir, broken); err == nil {
		t.Fatal("a read error spooled a file")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("a failed spool left %v", left)
	}
}

// BenchmarkSpool: a 64 MB drop spooled to disk (written, hashed, synced).
func BenchmarkSpool(b *testing.B) {
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	dir := b.TempDir()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		sp, err := spool(dir, bytes.NewReader(data))
		if err == nil {
			err = sp.sync()
		}
		if err != nil {
			b.Fatal(err)
		}
		os.Remove(sp.Path)
	}
}
