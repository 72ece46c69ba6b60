package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/schema"
)

// employeeQuery reads the list filters; it writes a problem and returns
// false when one is malformed.
func employeeQuery(c *gin.Context, limit int, after string) (schema.EmployeeQuery, bool) {
	q := schema.EmployeeQuery{AfterID: after, Limit: limit, EmploymentStatus: c.Query("employment_status"),
		EmploymentType: c.Query("employment_type"), Department: c.Query("department"), Location: c.Query("location"),
		ExternalID: c.Query("external_id"), ConnectionID: c.Query("connection_id")}
	for name, allowed := range map[string][]string{"employment_status": schema.EmploymentStatuses, "employment_type": schema.EmploymentTypes} {
		if v := c.Query(name); v != "" && !slices.Contains(allowed, v) {
			problem(c, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("%s %q is not one of %s", name, v, strings.Join(allowed, ", ")))
			return q, false
		}
	}
	switch c.DefaultQuery("sort", "id") {
	case "id":
		if strings.HasPrefix(after, updatedCursor) {
			problem(c, http.StatusBadRequest, "invalid_cursor", "this cursor belongs to sort=updated_at")
			return q, false
		}
	case "updated_at":
		q.ByUpdated = true
		if after != "" {
			nanos, id, ok := strings.Cut(strings.TrimPrefix(after, updatedCursor), ":")
			n, err := strconv.ParseInt(nanos, 10, 64)
			if !strings.HasPrefix(after, updatedCursor) || !ok || err != nil {
				problem(c, http.StatusBadRequest, "invalid_cursor", "this cursor does not belong to sort=updated_at")
				return q, false
			}
			q.AfterID, q.AfterUpdated = id, time.Unix(0, n).UTC()
		}
	default:
		problem(c, http.StatusBadRequest, "invalid_parameter", "sort must be id or updated_at")
		return q, false
	}
	if v := c.Query("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			problem(c, http.StatusBadRequest, "invalid_parameter", "updated_since must be an RFC 3339 time such as 2026-11-01T00:00:00Z")
			return q, false
		}
		q.UpdatedSince = t
	}
	for name, dst := range map[string]*string{"hired_after": &q.HiredAfter, "terminated_after": &q.TerminatedAfter} {
		if v := c.Query(name); v != "" {
			if _, err := time.Parse(schema.DateLayout, v); err != nil {
				problem(c, http.StatusBadRequest, "invalid_parameter", name+" must be a date YYYY-MM-DD")
				return q, false
			}
			*dst = v
		}
	}
	return q, true
}

func (s *Server) listEmployees(c *gin.Context) {
	limit, after, ok := pageParams(c)
	if !ok {
		return
	}
	q, ok := employeeQuery(c, limit+1, after)
	if !ok {
		return
	}
	if wantsCSV(c) {
		s.exportEmployees(c, q)
		return
	}
	es, err := s.cfg.Store.Employees(c.Request.Context(), tenantID(c), q)
	if err != nil {
		fail(c, err)
		return
	}
	page := pageOf(es, limit, func(e schema.Employee) string { return employeeCursor(q, &e) })
	if !s.protect(c, page.Data) {
		return
	}
	writeJSON(c, http.StatusOK, page)
}

// updatedCursor marks a cursor of sort=updated_at: the last row's
// updated_at (Unix nanoseconds) and id.
const updatedCursor = "u:"

func employeeCursor(q schema.EmployeeQuery, e *schema.Employee) string {
	if q.ByUpdated {
		return updatedCursor + strconv.FormatInt(e.UpdatedAt.UnixNano(), 10) + ":" + e.ID
	}
	return e.ID
}

// employeeView is an employee with its included relations: an included
// relation is always there, an empty array when there is nothing (the
// pointers tell "not asked for" from "none").
type employeeView struct {
	schema.Employee
	Dependents  *[]schema.Dependent  `json:"dependents,omitempty"`
	Enrollments *[]schema.Enrollment `json:"enrollments,omitempty"`
}

func (s *Server) getEmployee(c *gin.Context) {
	ctx := c.Request.Context()
	e, err := s.cfg.Store.Employee(ctx, tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	one := []schema.Employee{e}
	if !s.protect(c, one) {
		return
	}
	view := employeeView{Employee: one[0]}
	for _, inc := range strings.Split(c.Query("include"), ",") {
		q := schema.ListQuery{Limit: maxLimit, EmployeeID: e.ID}
		switch strings.TrimSpace(inc) {
		case "":
		case "dependents":
			var ds []schema.Dependent
			if ds, err = s.cfg.Store.Dependents(ctx, tenantID(c), q); err == nil {
				s.protectDependents(c, ds)
			}
			ds = nonNil(ds)
			view.Dependents = &ds
		case "enrollments":
			var ns []schema.Enrollment
			ns, err = s.cfg.Store.Enrollments(ctx, tenantID(c), q)
			ns = nonNil(ns)
			view.Enrollments = &ns
		default:
			problem(c, http.StatusBadRequest, "invalid_parameter", "include may list dependents and enrollments")
			return
		}
		if err != nil {
			fail(c, err)
			return
		}
	}
	s.single(c, view)
}

// protect masks SSN and date of birth for keys without pii:read. For keys
// with it, unmasked PII leaves only once the read is in the audit log: when
// the audit write fails, the request fails (false, problem written).
func (s *Server) protect(c *gin.Context, es []schema.Employee) bool {
	return protectPII(s, c, es, func(e *schema.Employee) (*string, *string) { return &e.SSN, &e.DateOfBirth })
}

// protectDependents masks dependents' SSN and date of birth likewise.
func (s *Server) protectDependents(c *gin.Context, ds []schema.Dependent) bool {
	return protectPII(s, c, ds, func(d *schema.Dependent) (*string, *string) { return &d.SSN, &d.DateOfBirth })
}

// protectPII masks or audits the SSN and birth date that pii picks out of
// each record.
func protectPII[T any](s *Server, c *gin.Context, recs []T, pii func(*T) (ssn, dob *string)) bool {
	masked := !apiKey(c).HasScope(schema.ScopePIIRead)
	for i := range recs {
		ssn, dob := pii(&recs[i])
		switch {
		case masked:
			*ssn, *dob = schema.MaskSSN(*ssn), ""
		case *ssn != "" || *dob != "":
			return s.auditPII(c)
		}
	}
	return true
}

func (s *Server) auditPII(c *gin.Context) bool {
	err := s.cfg.Store.Audit(c.Request.Context(), schema.AuditEntry{TenantID: tenantID(c), KeyID: apiKey(c).ID,
		Action: "pii.read", Resource: c.Request.URL.RequestURI()})
	if err != nil {
		fail(c, err)
		return false
	}
	return true
}
