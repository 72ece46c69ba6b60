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

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)

	v1 := r.Group("/v1", s.authenticate)
	v1.GET("/employees", s.scope(schema.ScopeRead), s.listEmployees)
	v1.GET("/employees/:id", s.scope(schema.ScopeRead), s.getEmployee)
	v1.GET("/errors", s.listErrors)
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
