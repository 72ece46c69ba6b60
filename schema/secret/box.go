// Package secret seals secrets and PII at rest with AES-256-GCM under a
// master key from configuration.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
)

// KeySize is the master key's length in bytes.
const KeySize = 32

// Box seals and opens values with one master key. The sealed form is a
// version byte, the nonce and the GCM ciphertext.
type Box struct {
	aead cipher.AEAD
	key  []byte

	// Nonces are random (96 bits, as GCM expects), drawn from
	// crypto/rand a few kilobytes at a time: one system random read per
	// SSN cost more than the encryption itself.
	mu     sync.Mutex
	nonces [nonceBuffer]byte
	used   int
}

const version = 1

// nonceBuffer is how many random bytes Box reads at a time for nonces.
const nonceBuffer = 4096

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead, key: append([]byte(nil), key...), used: nonceBuffer}, nil
}

// ParseKey decodes a base64 (standard or URL alphabet) 32-byte master key.
func ParseKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, errors.New("master key must be 32 random bytes in base64 (generate one with: head -c32 /dev/urandom | base64)")
}

// NewKey returns a fresh random master key in base64.
func NewKey() string {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// Seal encrypts plain.
func (b *Box) Seal(plain []byte) ([]byte, error) {
	// One allocation: version, nonce, then the ciphertext sealed after
	// them (it does not overlap the nonce it reads).
	n := b.aead.NonceSize()
	out := make([]byte, 1+n, 1+n+len(plain)+b.aead.Overhead())
	out[0] = version
	if err := b.nonce(out[1:]); err != nil {
		return nil, err
	}
	return b.aead.Seal(out, out[1:], plain, nil), nil
}

// nonce fills p with random bytes no other nonce has used.
func (b *Box) nonce(p []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+len(p) > len(b.nonces) {
		if _, err := rand.Read(b.nonces[:]); err != nil {
			return err
		}
		b.used = 0
	}
	b.used += copy(p, b.nonces[b.used:])
	return nil
}

// Derive returns a 32-byte key for one purpose, derived from the master
// key (HMAC-SHA256 of the purpose's name under it): keyed hashes of PII
// use one, so that they are worthless without the master key, and a
// derived key never reveals the master key or another derived key.
func (b *Box) Derive(purpose string) []byte {
	m := hmac.New(sha256.New, b.key)
	m.Write([]byte("hrisbridge/" + purpose))
	return m.Sum(nil)
}

// Open decrypts what Seal produced.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != version {
		return nil, errors.New("secret: not a sealed value")
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], nil)
	if err != nil {
		return nil, errors.New("secret: cannot open sealed value (wrong master key?)")
	}
	return plain, nil
}
