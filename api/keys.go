package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
)

// API keys look like hbk_<12 hex prefix>_<64 hex secret>. The prefix finds
// the key; only the SHA-256 of the whole key is stored. A 256-bit random
// secret needs no slow hash: nobody can guess it offline either.
const keyScheme = "hbk_"

// NewKey returns a new key, its prefix and the hash to store.
func NewKey() (plain, prefix string, hash []byte) {
	p, s := make([]byte, 6), make([]byte, 32)
	rand.Read(p) //nolint:errcheck // crypto/rand.Read never fails
	rand.Read(s) //nolint:errcheck
	prefix = hex.EncodeToString(p)
	plain = keyScheme + prefix + "_" + hex.EncodeToString(s)
	return plain, prefix, HashKey(plain)
}

// HashKey is what is stored for a key.
func HashKey(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

var errMalformedKey = errors.New("malformed API key")

// keyPrefix extracts the lookup prefix of a presented key.
func keyPrefix(plain string) (string, error) {
	rest, ok := strings.CutPrefix(plain, keyScheme)
	prefix, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(prefix) != 12 || len(secret) != 64 {
		return "", errMalformedKey
	}
	return prefix, nil
}

// keyMatches compares a presented key with a stored hash in constant time.
func keyMatches(plain string, hash []byte) bool {
	return subtle.ConstantTimeCompare(HashKey(plain), hash) == 1
}
