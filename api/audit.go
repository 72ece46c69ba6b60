package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/schema"
)

// listAudit serves the tenant's audit log: PII reads and every change made
// through the API or the CLI, newest first, filtered by action (or a
// family such as "key."), actor (a key id or "cli:USER") and time.
func (s *Server) listAudit(c *gin.Context) {
	limit, after, ok := pageParams(c)
	if !ok {
		return
	}
	before, ok := intCursor(c, after)
	if !ok {
		return
	}
	q := schema.AuditQuery{Action: c.Query("action"), Actor: c.Query("actor"), Limit: limit + 1, Before: before}
	for name, dst := range map[string]*time.Time{"since": &q.Since, "until": &q.Until} {
		if v := c.Query(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				problem(c, http.StatusBadRequest, "invalid_parameter", name+" must be an RFC 3339 time such as 2026-12-01T00:00:00Z")
				return
			}
			*dst = t
		}
	}
	es, err := s.cfg.Store.AuditLog(c.Request.Context(), tenantID(c), q)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageOf(es, limit, func(e schema.AuditEntry) string { return strconv.FormatInt(e.ID, 10) }))
}
