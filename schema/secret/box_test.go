package secret

import (
	"bytes"
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
