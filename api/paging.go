package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	gojson "github.com/goccy/go-json"
)

// Page is a cursor-paginated list.
type Page[T any] struct {
	Data       []T     `json:"data" required:"true" nullable:"false"`
	NextCursor *string `json:"next_cursor" required:"true" description:"Pass as cursor for the next page; null on the last."`
}

const (
	defaultLimit = 50
	maxLimit     = 1000
)

// pageParams reads limit and cursor; it writes a problem and returns false
// when they are malformed. Cursors are opaque: the last row's key.
func pageParams(c *gin.Context) (limit int, after string, ok bool) {
	limit = defaultLimit
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			problem(c, http.StatusBadRequest, "invalid_parameter", "limit must be an integer from 1 to 1000")
			return 0, "", false
		}
		limit = n
	}
	if v := c.Query("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) == 0 {
			problem(c, http.StatusBadRequest, "invalid_cursor", "cursor is not one this API returned")
			return 0, "", false
		}
		after = string(b)
	}
	return limit, after, true
}

// intCursor reads a cursor that is a number (an event seq, an audit
// entry id): 0 without one; it writes a problem and returns false when
// the cursor is not one.
func intCursor(c *gin.Context, after string) (int64, bool) {
	if after == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(after, 10, 64)
	if err != nil {
		problem(c, http.StatusBadRequest, "invalid_cursor", "cursor is not one this API returned")
		return 0, false
	}
	return n, true
}

func cursorFor(key string) *string {
	s := base64.RawURLEncoding.EncodeToString([]byte(key))
	return &s
}

// pageOf trims a result fetched with limit+1 rows to a page.
func pageOf[T any](rows []T, limit int, key func(T) string) Page[T] {
	p := Page[T]{Data: rows}
	if len(rows) > limit {
		p.Data = rows[:limit]
		p.NextCursor = cursorFor(key(p.Data[limit-1]))
	}
	p.Data = nonNil(p.Data)
	return p
}

// all is a whole list as one page.
func all[T any](rows []T) Page[T] { return Page[T]{Data: nonNil(rows)} }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// single writes one resource with an ETag, answering 304 to a matching
// If-None-Match.
func (s *Server) single(c *gin.Context, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		fail(c, err)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	c.Header("ETag", etag)
	if c.GetHeader("If-None-Match") == etag {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

// writeJSON renders a large response with goccy/go-json (a faster
// encoding/json-compatible encoder already in the module graph via gin).
func writeJSON(c *gin.Context, status int, v any) {
	b, err := gojson.Marshal(v)
	if err != nil {
		fail(c, err)
		return
	}
	c.Data(status, "application/json; charset=utf-8", b)
}
