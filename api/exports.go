package api

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/bridge"
)

type export834Params struct {
	ConnectionID string `query:"connection_id" description:"Only the employees last delivered by this connection."`
	ChangesSince string `query:"changes_since" description:"Only the employees the event feed changed after this seq, as a change file; without it, everyone as an audit (full) file."`
}

// export834 serves the tenant's people, dependents and coverages as an
// 834. It carries SSNs: the key needs pii:read, and the export is audited.
func (s *Server) export834(c *gin.Context) {
	ctx := c.Request.Context()
	full, since := true, int64(0)
	if v := c.Query("changes_since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			problem(c, http.StatusBadRequest, "invalid_parameter", "changes_since must be an event seq (a whole number)")
			return
		}
		full, since = false, n
	}
	ts, err := s.cfg.Store.Tenants(ctx)
	if err != nil {
		fail(c, err)
		return
	}
	for _, t := range ts {
		if t.ID != tenantID(c) {
			continue
		}
		var buf bytes.Buffer
		if _, err := bridge.Export834(ctx, s.cfg.Store, t, c.Query("connection_id"), full, since, &buf, time.Now().UTC()); err != nil {
			fail(c, err)
			return
		}
		s.audit(c, "export.834", t.ID)
		c.Data(http.StatusOK, "application/edi-x12", buf.Bytes())
		return
	}
	problem(c, http.StatusNotFound, "not_found", "no such tenant")
}
