package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Console passwords are hashed with argon2id at OWASP's minimum
// parameters (19 MiB, 2 passes, 1 lane): a login costs tens of
// milliseconds and a stolen hash an attacker's GPU time.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword hashes a console password in PHC form
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
func HashPassword(password string) (string, error) {
	if len(password) < 12 {
		return "", errors.New("a console password needs at least 12 characters")
	}
	salt := make([]byte, 16)
	rand.Read(salt) //nolint:errcheck // crypto/rand does not fail
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// checkPassword reports whether password matches a PHC argon2id hash,
// with the parameters the hash names.
func checkPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked for unknown e-mails, so that a login takes as long
// whether the account exists or not. It is made on first use: hashing
// takes 19 MiB, which a process that never serves a sign-in (every CLI
// command) should not pay.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("no such operator, never a password")
	return h
})

// NewToken returns a random URL-safe token (session cookies, magic links)
// and the SHA-256 hash under which it is stored.
func NewToken() (plain string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck
	plain = base64.RawURLEncoding.EncodeToString(b)
	return plain, tokenHash(plain)
}

func tokenHash(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// csrfToken derives a session's CSRF token from its secret cookie value:
// a page can carry it, a cross-site form cannot know it.
func csrfToken(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("hrisbridge console csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
