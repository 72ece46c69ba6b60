package api

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/schema"
)

// layoutSummary is a built-in layout and whether the tenant (or the
// connection asked for) overrides it.
type layoutSummary struct {
	Name       string `json:"name"`
	Entity     string `json:"entity"`
	Mode       string `json:"mode"`
	Format     string `json:"format"`
	Overridden bool   `json:"overridden"`
}

// connectionScope reads ?connection_id= (an id or name of the tenant's),
// "" for the tenant itself; it writes a problem and returns false when
// the connection does not exist.
func (s *Server) connectionScope(c *gin.Context) (string, bool) {
	v := c.Query("connection_id")
	if v == "" {
		return "", true
	}
	conn, err := s.cfg.Store.Connection(c.Request.Context(), tenantID(c), v)
	if err != nil {
		fail(c, err)
		return "", false
	}
	return conn.ID, true
}

func (s *Server) listLayouts(c *gin.Context) {
	connID, ok := s.connectionScope(c)
	if !ok {
		return
	}
	var out []layoutSummary
	for _, name := range parsers.Builtins() {
		l, err := parsers.Builtin(name)
		if err != nil {
			fail(c, err)
			return
		}
		_, err = s.cfg.Store.Layout(c.Request.Context(), tenantID(c), connID, name)
		if err != nil && !errors.Is(err, schema.ErrNotFound) {
			fail(c, err)
			return
		}
		out = append(out, layoutSummary{l.Name, l.Entity, l.Mode, l.Format, err == nil})
	}
	c.JSON(http.StatusOK, all(out))
}

// getLayout serves the effective layout: the built-in deep-merged with
// the tenant's override and the connection's.
func (s *Server) getLayout(c *gin.Context) {
	connID, ok := s.connectionScope(c)
	if !ok {
		return
	}
	l, err := bridge.EffectiveLayout(c.Request.Context(), s.cfg.Store, tenantID(c), connID, c.Param("name"))
	if errors.Is(err, parsers.ErrUnknownLayout) {
		fail(c, schema.ErrNotFound)
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	s.single(c, l)
}

// putLayout stores an override (YAML, or JSON, which is YAML too) of the
// tenant's or a connection's, after checking the merged result is a
// valid layout.
func (s *Server) putLayout(c *gin.Context) {
	connID, ok := s.connectionScope(c)
	if !ok {
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil || len(strings.TrimSpace(string(body))) == 0 {
		problem(c, http.StatusBadRequest, "invalid_body", "send the override as YAML or JSON: the parts of the layout to change")
		return
	}
	ctx, name := c.Request.Context(), c.Param("name")
	tenantBody, connBody := body, []byte(nil)
	if connID != "" {
		// A connection's override merges over the tenant's.
		if tenantBody, err = s.cfg.Store.Layout(ctx, tenantID(c), "", name); err != nil && !errors.Is(err, schema.ErrNotFound) {
			fail(c, err)
			return
		}
		connBody = body
	}
	l, err := parsers.Resolve(name, tenantBody, connBody)
	if err != nil {
		problem(c, http.StatusUnprocessableEntity, "invalid_layout", err.Error())
		return
	}
	if err := s.cfg.Store.PutLayout(ctx, tenantID(c), connID, name, body); err != nil {
		fail(c, err)
		return
	}
	s.audit(c, "layout.set", name)
	c.JSON(http.StatusOK, l)
}

// dryRunBody reads a dry run's upload: a raw body, or a multipart form
// whose optional "layout" part (YAML) comes before its "file" part.
func dryRunBody(c *gin.Context) (name string, layout []byte, r io.Reader, err error) {
	if !strings.HasPrefix(c.ContentType(), "multipart/form-data") {
		name, r, err = uploadBody(c)
		return name, nil, r, err
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return "", nil, nil, err
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return "", nil, nil, errMissingFile
		}
		switch part.FormName() {
		case "layout":
			if layout, err = io.ReadAll(io.LimitReader(part, 1<<20)); err != nil {
				return "", nil, nil, err
			}
		case "file":
			return cleanName(part.FileName()), layout, part, nil
		}
	}
}

// validateFile is a dry run: the file read and validated as the daemon
// would, with ?layout=NAME (effective for the tenant or ?connection_id)
// or an inline layout part; nothing is stored.
func (s *Server) validateFile(c *gin.Context) {
	connID, ok := s.connectionScope(c)
	if !ok {
		return
	}
	name, inline, body, err := dryRunBody(c)
	if err != nil {
		problem(c, http.StatusBadRequest, "invalid_upload", err.Error())
		return
	}
	var l *parsers.Layout
	switch {
	case inline == nil && c.Query("layout") == bridge.X12834:
		// An 834 is read twice (its reporting categories first): it is
		// spooled, bounded by the upload limit.
		f, err := os.CreateTemp("", "hrisbridge-validate-*.834")
		if err != nil {
			fail(c, err)
			return
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if _, err := io.Copy(f, body); err != nil {
			problem(c, http.StatusBadRequest, "invalid_upload", err.Error())
			return
		}
		rep := bridge.Validate834(f.Name(), parsers.ValidateOptions{})
		rep.File = name
		c.JSON(http.StatusOK, rep)
		return
	case inline != nil:
		l, err = parsers.ParseLayout(inline)
	case c.Query("layout") != "":
		l, err = bridge.EffectiveLayout(c.Request.Context(), s.cfg.Store, tenantID(c), connID, c.Query("layout"))
	default:
		problem(c, http.StatusBadRequest, "layout_required", "name a layout (?layout=census-csv) or send one as a multipart \"layout\" part before the \"file\" part")
		return
	}
	if err != nil {
		problem(c, http.StatusUnprocessableEntity, "invalid_layout", err.Error())
		return
	}
	c.JSON(http.StatusOK, parsers.Validate(body, name, l, parsers.ValidateOptions{}))
}

// inferred is a proposed layout with how it covers the sample and the
// sample's dry run under it.
type inferred struct {
	*parsers.Proposal
	Layout     *parsers.Layout `json:"layout"`
	LayoutYAML string          `json:"layout_yaml"`
	Validation parsers.Report  `json:"validation"`
}

// inferLayout proposes a layout from a sample upload (?entity=employee by
// default) and dry-runs the sample with it. The sample is kept in memory
// (up to 16 MiB): the proposal reads it twice.
func (s *Server) inferLayout(c *gin.Context) {
	name, body, err := uploadBody(c)
	if err != nil {
		problem(c, http.StatusBadRequest, "invalid_upload", err.Error())
		return
	}
	sample, err := io.ReadAll(io.LimitReader(body, 16<<20+1))
	if err != nil {
		fail(c, err)
		return
	}
	if len(sample) > 16<<20 {
		problem(c, http.StatusRequestEntityTooLarge, "body_too_large", "a sample is at most 16 MiB: send the first few thousand rows")
		return
	}
	entity := c.DefaultQuery("entity", "employee")
	p, err := parsers.Infer(strings.NewReader(string(sample)), entity, 1000)
	if err != nil {
		problem(c, http.StatusUnprocessableEntity, "cannot_infer", err.Error())
		return
	}
	y, err := p.Layout.YAML()
	if err != nil {
		fail(c, err)
		return
	}
	rep := parsers.Validate(strings.NewReader(string(sample)), name, p.Layout, parsers.ValidateOptions{})
	c.JSON(http.StatusOK, inferred{Proposal: p, Layout: p.Layout, LayoutYAML: string(y), Validation: rep})
}
