package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/schema"
)

// routes registers every route of the API in one place.
func (s *Server) routes() {
	r := s.engine
	r.HandleMethodNotAllowed = true
	r.Use(s.requestID, s.recovery)
	r.NoRoute(func(c *gin.Context) { problem(c, http.StatusNotFound, "not_found", "no route "+c.Request.URL.Path) })
	r.NoMethod(func(c *gin.Context) {
		problem(c, http.StatusMethodNotAllowed, "method_not_allowed", c.Request.Method+" is not allowed on "+c.Request.URL.Path)
	})

	if s.cfg.Metrics != nil {
		r.GET("/metrics", gin.WrapH(s.cfg.Metrics))
	}
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/v1/errors", s.listErrors)

	// Admin routes span tenants.
	admin := r.Group("/v1", bodyLimit(s.cfg.MaxBody), s.authenticate, s.limits.middleware, s.scope(schema.ScopeAdmin))
	admin.GET("/tenants", s.listTenants)

	// Uploads stream large bodies to disk.
	up := r.Group("/v1", bodyLimit(s.cfg.MaxUpload), s.authenticate, s.limits.middleware, s.tenant)
	up.POST("/connections/:id/files", s.scope(schema.ScopeWrite), s.upload)

	// Everything else acts for one tenant.
	v1 := r.Group("/v1", bodyLimit(s.cfg.MaxBody), s.authenticate, s.limits.middleware, s.tenant)
	read, write := s.scope(schema.ScopeRead), s.scope(schema.ScopeWrite)
	v1.GET("/employees", read, s.listEmployees)
	v1.GET("/employees/:id", read, s.getEmployee)
	v1.GET("/dependents", read, s.listDependents)
	v1.GET("/benefit-plans", read, s.listPlans)
	v1.GET("/enrollments", read, s.listEnrollments)
	v1.GET("/connections", read, s.listConnections)
	v1.GET("/files", read, s.listFiles)
	v1.GET("/files/:id", read, s.getFile)
	v1.GET("/files/:id/errors", read, s.fileErrors)
	v1.POST("/files/:id/release", write, s.releaseFile)
	v1.POST("/files/:id/discard", write, s.discardFile)
	v1.GET("/sync-runs", read, s.listSyncRuns)
	v1.GET("/events", read, s.listEvents)
	v1.POST("/webhook-endpoints", write, s.createWebhookEndpoint)
	v1.GET("/webhook-endpoints", read, s.listWebhookEndpoints)
	v1.DELETE("/webhook-endpoints/:id", write, s.deleteWebhookEndpoint)
	v1.POST("/webhook-endpoints/:id/enable", write, s.enableWebhookEndpoint)
	v1.POST("/webhook-endpoints/:id/replay", write, s.replayWebhook)
	v1.GET("/webhook-deliveries", read, s.listWebhookDeliveries)
}

func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

func (s *Server) readyz(c *gin.Context) {
	if err := s.cfg.Store.Ready(c.Request.Context()); err != nil {
		problem(c, http.StatusServiceUnavailable, "not_ready", err.Error())
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// listErrors serves the error catalog.
func (s *Server) listErrors(c *gin.Context) {
	out := make([]schema.CatalogEntry, 0, len(schema.Catalog))
	for _, code := range schema.CatalogCodes() {
		out = append(out, schema.Catalog[code])
	}
	c.JSON(http.StatusOK, gin.H{"data": out})
}
