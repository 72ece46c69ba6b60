package api

import (
	"context"
	"errors"
	"log/slog"
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

// authenticate resolves the bearer key. A client address that presented
// too many unknown or revoked keys lately waits (429): keys are 256
// random bits, so this bounds noise and scanners rather than guessing.
func (s *Server) authenticate(c *gin.Context) {
	now := time.Now()
	if wait := s.badKeys.Blocked(c.ClientIP(), now); wait > 0 {
		c.Header("Retry-After", retryAfter(wait))
		problem(c, http.StatusTooManyRequests, "too_many_failures", "too many requests with an invalid API key from this address; try again later")
		return
	}
	plain, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || plain == "" {
		c.Header("WWW-Authenticate", `Bearer realm="hrisbridge"`)
		problem(c, http.StatusUnauthorized, "unauthenticated", "send an API key as Authorization: Bearer hbk_...")
		return
	}
	key, err := s.lookupKey(c, strings.TrimSpace(plain))
	if err != nil {
		s.badKeys.Fail(c.ClientIP(), now)
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

// lookupKey finds and checks a presented key. Keys are read from the
// store on every request, not cached: a revocation (or expiry) bites at
// once on every replica, for one indexed lookup per request.
func (s *Server) lookupKey(c *gin.Context, plain string) (schema.APIKey, error) {
	prefix, err := keyPrefix(plain)
	if err != nil {
		return schema.APIKey{}, err
	}
	key, err := s.cfg.Store.APIKeyByPrefix(c.Request.Context(), prefix)
	if err != nil {
		return key, err
	}
	if !key.Usable(time.Now()) || !keyMatches(plain, key.Hash) {
		return key, errors.New("key rejected")
	}
	s.used.touch(s.cfg.Store, s.cfg.Logger, key.ID)
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

// lastUse records when keys were last used, at most once a minute per
// key and off the request's path (the write must not hold up a read, nor
// fail it when the embedded store is busy with an ingest).
type lastUse struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// lastUseEvery is how stale a key's last_used_at may be.
const lastUseEvery = time.Minute

func (u *lastUse) touch(st schema.Store, log *slog.Logger, id string) {
	now := time.Now()
	u.mu.Lock()
	if now.Sub(u.seen[id]) < lastUseEvery {
		u.mu.Unlock()
		return
	}
	if len(u.seen) > 100000 {
		clear(u.seen)
	}
	u.seen[id] = now
	u.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := st.TouchAPIKey(ctx, id, now.UTC()); err != nil {
			log.Debug("api key last use not recorded", "key_id", id, "error", err)
		}
	}()
}
