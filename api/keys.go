package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/schema"
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

// keyCreated is a new key as its creator sees it, the only time the key
// itself is shown.
type keyCreated struct {
	schema.APIKey
	Key string `json:"key"`
}

func (s *Server) listKeys(c *gin.Context) {
	keys, err := s.cfg.Store.APIKeys(c.Request.Context(), tenantID(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, all(keys))
}

// createKey makes a key for the request's tenant. Admin keys, which span
// tenants, are made on the CLI only.
func (s *Server) createKey(c *gin.Context) {
	var req KeyRequest
	if err := c.ShouldBindJSON(&req); err != nil || len(req.Scopes) == 0 {
		problem(c, http.StatusBadRequest, "invalid_body", `send {"name": "...", "scopes": ["read", "pii:read", "write"], "expires_at": "2027-01-01T00:00:00Z" (optional)}`)
		return
	}
	for _, sc := range req.Scopes {
		if !schema.HasScopeName(sc) || sc == schema.ScopeAdmin {
			problem(c, http.StatusUnprocessableEntity, "invalid_scope", fmt.Sprintf("scope %q is not one of read, pii:read, write (admin keys are made with the CLI)", sc))
			return
		}
	}
	if req.ExpiresAt != nil && !req.ExpiresAt.After(time.Now()) {
		problem(c, http.StatusUnprocessableEntity, "invalid_expiry", "expires_at must be in the future")
		return
	}
	plain, prefix, hash := NewKey()
	k := schema.APIKey{TenantID: tenantID(c), Name: req.Name, Prefix: prefix, Hash: hash, Scopes: req.Scopes, ExpiresAt: req.ExpiresAt}
	ctx := c.Request.Context()
	if err := s.cfg.Store.CreateAPIKey(ctx, &k); err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "key.create", k.ID)
	k.Hash = nil
	c.JSON(http.StatusCreated, keyCreated{APIKey: k, Key: plain})
}

func (s *Server) revokeKey(c *gin.Context) {
	k, err := s.cfg.Store.RevokeAPIKey(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "key.revoke", k.ID)
	c.Status(http.StatusNoContent)
}

// audit records a change made through the API, by the request's key.
// The change is done by then: a failure to record it is logged, and the
// answer stays the change's.
func (s *Server) audit(c *gin.Context, action, resource string) {
	err := s.cfg.Store.Audit(c.Request.Context(), schema.AuditEntry{TenantID: tenantID(c), KeyID: apiKey(c).ID, Action: action, Resource: resource})
	if err != nil {
		s.cfg.Logger.ErrorContext(c.Request.Context(), "audit entry not written", "action", action, "resource", resource, "error", err)
	}
}
