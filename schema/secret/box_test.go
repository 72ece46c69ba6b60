package secret

import (
	"bytes"
	"sync"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, err := ParseKey(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(k)
	s1, _ := b.Seal([]byte("123456789"))
	s2, _ := b.Seal([]byte("123456789"))
	if bytes.Equal(s1, s2) || bytes.Contains(s1, []byte("123456789")) {
		t.Fatal("sealing is deterministic or leaks the plaintext")
	}
	if p, err := b.Open(s1); err != nil || string(p) != "123456789" {
		t.Fatalf("Open = %q, %v", p, err)
	}
	s1[len(s1)-1] ^= 1
	if _, err := b.Open(s1); err == nil {
		t.Fatal("tampered value opened")
	}
	k2, _ := ParseKey(NewKey())
	other, _ := New(k2)
	if _, err := other.Open(s2); err == nil {
		t.Fatal("opened with the wrong key")
	}
	for _, bad := range []string{"", "c2hvcnQ=", "not base64!"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

// TestNoncesNeverRepeat seals from several goroutines across many refills
// of the nonce buffer: every nonce is new, every value opens.
func TestNoncesNeverRepeat(t *testing.T) {
	k, _ := ParseKey(NewKey())
	b, _ := New(k)
	const workers, each = 4, 3 * nonceBuffer / 12
	out := make(chan []byte, workers*each)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				s, err := b.Seal([]byte("123456789"))
				if err != nil {
					t.Error(err)
					return
				}
				out <- s
			}
		}()
	}
	wg.Wait()
	close(out)
	seen := map[string]bool{}
	n := b.aead.NonceSize()
	for s := range out {
		nonce := string(s[1 : 1+n])
		if seen[nonce] {
			t.Fatalf("nonce %x used twice", nonce)
		}
		seen[nonce] = true
		if p, err := b.Open(s); err != nil || string(p) != "123456789" {
			t.Fatalf("Open = %q, %v", p, err)
		}
	}
	if len(seen) != workers*each {
		t.Fatalf("%d sealed values, want %d", len(seen), workers*each)
	}
}
