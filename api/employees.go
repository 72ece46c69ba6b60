package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Page is a cursor-paginated list.
type Page[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

const (
	defaultLimit = 50
	maxLimit     = 1000
)

// pageParams reads limit and cursor; it writes a problem and returns false
// when they are malformed.
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

func cursorFor(id string) *string {
	s := base64.RawURLEncoding.EncodeToString([]byte(id))
	return &s
}

func (s *Server) listEmployees(c *gin.Context) {
	limit, after, ok := pageParams(c)
	if !ok {
		return
	}
	q := schema.EmployeeQuery{AfterID: after, Limit: limit + 1, EmploymentStatus: c.Query("employment_status")}
	if v := c.Query("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			problem(c, http.StatusBadRequest, "invalid_parameter", "updated_since must be an RFC 3339 time such as 2026-11-01T00:00:00Z")
			return
		}
		q.UpdatedSince = t
	}
	es, err := s.cfg.Store.Employees(c.Request.Context(), tenantID(c), q)
	if err != nil {
		fail(c, err)
		return
	}
	page := Page[schema.Employee]{Data: es}
	if len(es) > limit {
		page.Data = es[:limit]
		page.NextCursor = cursorFor(page.Data[limit-1].ID)
	}
	if page.Data == nil {
		page.Data = []schema.Employee{}
	}
	if !s.protect(c, page.Data) {
		return
	}
	c.JSON(http.StatusOK, page)
}

func (s *Server) getEmployee(c *gin.Context) {
	e, err := s.cfg.Store.Employee(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	one := []schema.Employee{e}
	if !s.protect(c, one) {
		return
	}
	c.JSON(http.StatusOK, one[0])
}

// protect masks SSN and date of birth for keys without pii:read. For keys
// with it, unmasked PII leaves only once the read is in the audit log: when
// the audit write fails, the request fails (false, problem written).
func (s *Server) protect(c *gin.Context, es []schema.Employee) bool {
	key := apiKey(c)
	if !key.HasScope(schema.ScopePIIRead) {
		for i := range es {
			es[i].SSN = schema.MaskSSN(es[i].SSN)
			es[i].DateOfBirth = ""
		}
		return true
	}
	for _, e := range es {
		if e.SSN != "" || e.DateOfBirth != "" {
			err := s.cfg.Store.Audit(c.Request.Context(), schema.AuditEntry{TenantID: tenantID(c), KeyID: key.ID,
				Action: "pii.read", Resource: c.Request.URL.RequestURI()})
			if err != nil {
				fail(c, err)
				return false
			}
			return true
		}
	}
	return true
}
