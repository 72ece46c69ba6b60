package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// limiter is a token bucket per API key, announced with the IETF
// RateLimit-Policy and RateLimit header fields
// (draft-ietf-httpapi-ratelimit-headers): quota q per window w seconds.
type limiter struct {
	quota  int
	window time.Duration
	mu     sync.Mutex
	keys   map[string]*rate.Limiter
}

func newLimiter(quota int, window time.Duration) *limiter {
	return &limiter{quota: quota, window: window, keys: map[string]*rate.Limiter{}}
}

func (l *limiter) get(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.keys[key]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(float64(l.quota)/l.window.Seconds()), l.quota)
		l.keys[key] = lim
	}
	return lim
}

// middleware spends one token per request of the authenticated key.
func (l *limiter) middleware(c *gin.Context) {
	lim := l.get(apiKey(c).ID)
	now := time.Now()
	allowed := lim.AllowN(now, 1)
	tokens := lim.TokensAt(now)
	perSec := float64(lim.Limit())
	reset := int(math.Ceil((float64(l.quota) - tokens) / perSec)) // seconds until the bucket is full
	c.Header("RateLimit-Policy", fmt.Sprintf(`"per-key";q=%d;w=%d`, l.quota, int(l.window.Seconds())))
	c.Header("RateLimit", fmt.Sprintf(`"per-key";r=%d;t=%d`, max(0, int(tokens)), max(0, reset)))
	if !allowed {
		retry := int(math.Ceil((1 - tokens) / perSec))
		c.Header("Retry-After", strconv.Itoa(max(1, retry)))
		p := Problem{Type: "https://iana.org/assignments/http-problem-types#quota-exceeded", Title: "Too Many Requests", Status: http.StatusTooManyRequests,
			Detail:   fmt.Sprintf("this key may make %d requests per %d seconds; retry after %d s", l.quota, int(l.window.Seconds()), max(1, retry)),
			Instance: c.Request.URL.Path, Code: "quota_exceeded", RequestID: c.GetString(requestIDKey)}
		c.Header("Content-Type", "application/problem+json")
		c.AbortWithStatusJSON(http.StatusTooManyRequests, p)
		return
	}
	c.Next()
}

// bodyLimit caps request bodies.
func bodyLimit(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			problem(c, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request bodies are limited to %d bytes", n))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}
