package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/schema"
)

const (
	keyCtx    = "api_key"
	tenantCtx = "tenant_id"
)

// authenticate resolves the bearer key.
func (s *Server) authenticate(c *gin.Context) {
	plain, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || plain == "" {
		c.Header("WWW-Authenticate", `Bearer realm="hrisbridge"`)
		problem(c, http.StatusUnauthorized, "unauthenticated", "send an API key as Authorization: Bearer hbk_...")
		return
	}
	key, err := s.lookupKey(c, strings.TrimSpace(plain))
	if err != nil {
		c.Header("WWW-Authenticate", `Bearer realm="hrisbridge", error="invalid_token"`)
		problem(c, http.StatusUnauthorized, "unauthenticated", "the API key is unknown, revoked or malformed")
		return
	}
	c.Set(keyCtx, key)
	c.Next()
}

// tenant resolves the tenant a request acts for. A tenant key acts for its
// tenant; an admin key without a tenant must name one with ?tenant=SLUG or
// the Hrisbridge-Tenant header.
func (s *Server) tenant(c *gin.Context) {
	key := apiKey(c)
	tenantID := key.TenantID
	if tenantID == "" {
		slug := cmpOr(c.Query("tenant"), c.GetHeader("Hrisbridge-Tenant"))
		if slug == "" {
			problem(c, http.StatusBadRequest, "tenant_required", "an admin key must name the tenant: ?tenant=SLUG or the Hrisbridge-Tenant header")
			return
		}
		t, err := s.cfg.Store.TenantBySlug(c.Request.Context(), slug)
		if err != nil {
			fail(c, err)
			return
		}
		tenantID = t.ID
	}
	c.Set(tenantCtx, tenantID)
	c.Next()
}

func (s *Server) lookupKey(c *gin.Context, plain string) (schema.APIKey, error) {
	prefix, err := keyPrefix(plain)
	if err != nil {
		return schema.APIKey{}, err
	}
	key, err := s.keys.get(c.Request.Context(), prefix, s.cfg.Store.APIKeyByPrefix)
	if err != nil {
		return key, err
	}
	if key.RevokedAt != nil || !keyMatches(plain, key.Hash) {
		return key, errors.New("key rejected")
	}
	return key, nil
}

// scope requires the key to hold scope.
func (s *Server) scope(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !apiKey(c).HasScope(scope) {
			problem(c, http.StatusForbidden, "insufficient_scope", "this API key lacks the "+scope+" scope")
			return
		}
		c.Next()
	}
}

func apiKey(c *gin.Context) schema.APIKey { return c.MustGet(keyCtx).(schema.APIKey) }
func tenantID(c *gin.Context) string      { return c.GetString(tenantCtx) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// keyCache keeps looked-up keys for a short while, so a busy client does
// not cost a database round trip per request. A revocation takes effect
// within the cache's TTL.
type keyCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cachedKey
}

type cachedKey struct {
	key     schema.APIKey
	expires time.Time
}

func (k *keyCache) get(ctx context.Context, prefix string, load func(context.Context, string) (schema.APIKey, error)) (schema.APIKey, error) {
	now := time.Now()
	k.mu.Lock()
	e, ok := k.entries[prefix]
	k.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.key, nil
	}
	key, err := load(ctx, prefix)
	if err != nil {
		return key, err // unknown keys are not cached: nothing to remember
	}
	k.mu.Lock()
	if len(k.entries) > 10000 {
		clear(k.entries)
	}
	k.entries[prefix] = cachedKey{key, now.Add(k.ttl)}
	k.mu.Unlock()
	return key, nil
}
