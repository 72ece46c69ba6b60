// Package mockhris is a local HRIS API for tests, the demo and
// benchmarks: one company's employees served in the shape of two real
// APIs, a BambooHR-shaped custom report (Basic auth with an API key,
// lastChanged filter) and a Gusto-shaped paged list (OAuth 2
// authorization code with rotating refresh tokens, page/per and
// X-Total-Pages, company benefits), with faults switchable per run:
// 429 storms, a 500 on a chosen page, a renamed field, access tokens that
// expire early, a revoked grant.
package mockhris

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Credentials the mock accepts.
const (
	APIKey       = "mock-bamboo-key"
	Company      = "acme"
	CompanyID    = "7c4f0c7e-1b2a-4c3d-9e8f-0a1b2c3d4e5f"
	ClientID     = "mock-client"
	ClientSecret = "mock-secret"
)

// Employee is one employee of the mock company, in neutral terms; the
// handlers render it in each provider's shape.
type Employee struct {
	ID, First, Last, Email, DOB, Hire, Term, Title, Dept, Status string
	Salary                                                       int
	Changed                                                      time.Time
}

// Faults are what the server does wrong, set per run.
type Faults struct {
	// RateLimited answers this many data requests with 429 first.
	RateLimited int `json:"rate_limited"`
	// FailPage answers this page (1-based, the Gusto shape) with 500.
	FailPage int `json:"fail_page"`
	// Rename renames a JSON key of every employee record (old: new).
	Rename map[string]string `json:"rename"`
	// AccessTTL is how long an issued access token works (default 2h).
	AccessTTL time.Duration `json:"access_ttl"`
	// ExpireAfter makes every access token stop working after this many
	// data requests (once): a token that dies in the middle of a sync.
	ExpireAfter int `json:"expire_after"`
}

// Server is the mock. Its handler serves both shapes.
type Server struct {
	mu        sync.Mutex
	employees []Employee
	faults    Faults
	limited   int
	access    map[string]time.Time // access token -> expiry
	refresh   map[string]bool      // live refresh tokens
	codes     map[string]bool      // unused authorization codes
	revoked   bool

	// Counters, read with Stats.
	requests, refreshes, reuses int
}

// Stats count what the server saw.
type Stats struct {
	Requests  int // data requests
	Refreshes int // refresh-token grants honoured
	Reuses    int // refresh tokens presented a second time (refused)
}

// New returns a mock company of n employees (ids E00001...).
func New(n int) *Server {
	s := &Server{access: map[string]time.Time{}, refresh: map[string]bool{}, codes: map[string]bool{}}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	depts := []string{"Engineering", "Sales", "Finance", "Operations"}
	for i := range n {
		s.employees = append(s.employees, Employee{
			ID: fmt.Sprintf("E%05d", i+1), First: fmt.Sprintf("First%d", i+1), Last: fmt.Sprintf("Last%d", i+1),
			Email: fmt.Sprintf("e%d@acme.example", i+1), DOB: fmt.Sprintf("19%02d-%02d-%02d", 60+i%40, 1+i%12, 1+i%28),
			Hire: fmt.Sprintf("20%02d-%02d-01", 10+i%15, 1+i%12), Title: "Analyst", Dept: depts[i%len(depts)],
			Status: "active", Salary: 50000 + 100*(i%500), Changed: base,
		})
	}
	return s
}

// SetFaults replaces the faults (also POST /mock/faults with their JSON).
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.limited = f, 0
}

// Update changes employee i (0-based) with fn and marks it changed now.
func (s *Server) Update(i int, fn func(*Employee)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.employees[i])
	s.employees[i].Changed = time.Now().UTC()
}

// Add appends an employee, changed now.
func (s *Server) Add(e Employee) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Changed = time.Now().UTC()
	s.employees = append(s.employees, e)
}

// ExpireTokens makes every issued access token stop working now.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.access {
		s.access[t] = time.Time{}
	}
}

// Revoke makes every refresh token invalid (the employer disconnected the
// app): refreshes answer invalid_grant.
func (s *Server) Revoke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = true
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Requests: s.requests, Refreshes: s.refreshes, Reuses: s.reuses}
}

// Grant issues a token pair directly, as a finished authorization-code
// flow would (for tests and the demo).
func (s *Server) Grant() (access, refresh string, expiry time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issue()
}

func (s *Server) issue() (string, string, time.Time) {
	ttl := s.faults.AccessTTL
	if ttl <= 0 {
		ttl = 2 * time.Hour
	}
	a, r := token(), token()
	exp := time.Now().Add(ttl)
	s.access[a], s.refresh[r] = exp, true
	return a, r, exp
}

func token() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck
	return hex.EncodeToString(b)
}

// ServeHTTP routes the two shapes, the OAuth endpoints and /mock/faults.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/mock/faults" && r.Method == http.MethodPost:
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.SetFaults(f)
		w.WriteHeader(http.StatusNoContent)
	case p == "/mock/notify" && r.Method == http.MethodPost:
		var n struct{ URL, Secret string }
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := Notify(n.URL, n.Secret); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case p == "/oauth/authorize":
		s.authorize(w, r)
	case p == "/oauth/token" && r.Method == http.MethodPost:
		s.token(w, r)
	case p == "/api/gateway.php/"+Company+"/v1/reports/custom" && r.Method == http.MethodPost:
		s.bamboo(w, r)
	case p == "/api/gateway.php/"+Company+"/v1/employeedependents/" && r.Method == http.MethodGet:
		s.bambooDependents(w, r)
	case p == "/v1/companies/"+CompanyID+"/employees" && r.Method == http.MethodGet:
		s.gustoEmployees(w, r)
	case p == "/v1/companies/"+CompanyID+"/company_benefits" && r.Method == http.MethodGet:
		s.gustoBenefits(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Truncate keeps only the first n employees (a provider that lost or
// filtered people).
func (s *Server) Truncate(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.employees = s.employees[:n]
}

// gate counts a data request and plays the rate-limit fault.
func (s *Server) gate(w http.ResponseWriter) bool {
	s.requests++
	if s.faults.ExpireAfter > 0 && s.requests == s.faults.ExpireAfter {
		for t := range s.access {
			s.access[t] = time.Time{}
		}
	}
	if s.limited < s.faults.RateLimited {
		s.limited++
		w.Header().Set("Retry-After", "0")
		w.Header().Set("RateLimit", `"default";r=0;t=0`)
		http.Error(w, `{"error":"rate limited"}`, http.StatusTooManyRequests)
		return false
	}
	return true
}

func (s *Server) bamboo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if user, _, ok := r.BasicAuth(); !ok || user != APIKey {
		w.Header().Set("WWW-Authenticate", `Basic realm="api"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if !s.gate(w) {
		return
	}
	var req struct {
		Filters struct {
			LastChanged struct {
				Value string `json:"value"`
			} `json:"lastChanged"`
		} `json:"filters"`
	}
	json.NewDecoder(r.Body).Decode(&req) //nolint:errcheck // an empty body is a full report
	var since time.Time
	if v := req.Filters.LastChanged.Value; v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			http.Error(w, "bad lastChanged", http.StatusBadRequest)
			return
		}
		since = t
	}
	out := []map[string]any{}
	for i, e := range s.employees {
		if !since.IsZero() && !e.Changed.After(since) {
			continue
		}
		status, hist, term := "Active", "Full-Time", "0000-00-00"
		if e.Status == "terminated" {
			status, hist, term = "Inactive", "Terminated", e.Term
		}
		out = append(out, s.rename(map[string]any{
			"id": strconv.Itoa(i + 1), "employeeNumber": e.ID, "firstName": e.First, "middleName": nil, "lastName": e.Last,
			"dateOfBirth": e.DOB, "gender": "Female", "workEmail": e.Email, "status": status, "employmentHistoryStatus": hist,
			"hireDate": e.Hire, "terminationDate": term, "jobTitle": e.Title, "department": e.Dept, "location": "HQ", "division": "North",
			"payRate": fmt.Sprintf("%d.00 USD", e.Salary), "payPer": "Year", "payFrequency": "Every other week",
			"lastChanged": e.Changed.Format(time.RFC3339),
		}))
	}
	writeJSON(w, map[string]any{"title": "hrisbridge", "fields": []any{}, "employees": out})
}

// bambooDependents lists every employee's dependents: a spouse for every
// third employee, a child for every fifth.
func (s *Server) bambooDependents(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if user, _, ok := r.BasicAuth(); !ok || user != APIKey {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if !s.gate(w) {
		return
	}
	out := []map[string]any{}
	for i, e := range s.employees {
		if i%3 == 0 {
			out = append(out, map[string]any{"id": fmt.Sprintf("%d01", i+1), "employeeId": strconv.Itoa(i + 1), "employeeNumber": e.ID,
				"firstName": "Spouse" + strconv.Itoa(i+1), "lastName": e.Last, "relationship": "spouse", "gender": "male", "dateOfBirth": "1980-02-03", "isStudent": "no"})
		}
		if i%5 == 0 {
			out = append(out, map[string]any{"id": fmt.Sprintf("%d02", i+1), "employeeId": strconv.Itoa(i + 1), "employeeNumber": e.ID,
				"firstName": "Child" + strconv.Itoa(i+1), "lastName": e.Last, "relationship": "child", "gender": "female", "dateOfBirth": "2015-06-07", "isStudent": "yes"})
		}
	}
	writeJSON(w, map[string]any{"Employee Dependents": out})
}

func (s *Server) rename(m map[string]any) map[string]any {
	for old, nw := range s.faults.Rename {
		if v, ok := m[old]; ok {
			delete(m, old)
			m[nw] = v
		}
	}
	return m
}

func (s *Server) bearer(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if exp, live := s.access[tok]; !ok || !live || time.Now().After(exp) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, `{"errors":[{"message":"invalid or expired token"}]}`, http.StatusUnauthorized)
		return false
	}
	return true
}

func (s *Server) gustoEmployees(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.bearer(w, r) || !s.gate(w) {
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	per, _ := strconv.Atoi(r.URL.Query().Get("per"))
	page, per = max(page, 1), min(max(per, 1), 100)
	if page == s.faults.FailPage {
		http.Error(w, `{"errors":[{"message":"internal error"}]}`, http.StatusInternalServerError)
		return
	}
	total := (len(s.employees) + per - 1) / per
	w.Header().Set("X-Page", strconv.Itoa(page))
	w.Header().Set("X-Per-Page", strconv.Itoa(per))
	w.Header().Set("X-Total-Count", strconv.Itoa(len(s.employees)))
	w.Header().Set("X-Total-Pages", strconv.Itoa(total))
	out := []map[string]any{}
	for i := (page - 1) * per; i < min(page*per, len(s.employees)); i++ {
		e := s.employees[i]
		var terms []any
		if e.Status == "terminated" {
			terms = append(terms, map[string]any{"effective_date": e.Term, "active": true})
		}
		out = append(out, s.rename(map[string]any{
			"uuid": GustoID(e.ID), "first_name": e.First, "middle_initial": nil, "last_name": e.Last, "email": e.Email,
			"work_email": e.Email, "date_of_birth": e.DOB, "department": e.Dept, "terminated": e.Status == "terminated",
			"onboarded": true, "terminations": terms, "employee_code": e.ID, "pay_schedule_frequency": "Every other week",
			"jobs": []any{map[string]any{"title": e.Title, "hire_date": e.Hire, "primary": true,
				"compensations": []any{map[string]any{"rate": fmt.Sprintf("%d.00", e.Salary), "payment_unit": "Year", "flsa_status": "Exempt"}}}},
		}))
	}
	writeJSON(w, out)
}

func (s *Server) gustoBenefits(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.bearer(w, r) || !s.gate(w) {
		return
	}
	writeJSON(w, []any{
		map[string]any{"uuid": "b-medical", "benefit_type": 1, "description": "Medical PPO", "active": true},
		map[string]any{"uuid": "b-dental", "benefit_type": 2, "description": "Dental", "active": true},
	})
}

// GustoID makes a stable UUID-looking id of an employee id.
func GustoID(id string) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", []byte(id)[1:])[:36]
}

// authorize is the consent screen: it approves at once and redirects
// back with a code.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != ClientID || q.Get("redirect_uri") == "" {
		http.Error(w, "unknown client or no redirect_uri", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	code := token()
	s.codes[code] = true
	s.mu.Unlock()
	u, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := u.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// token is the token endpoint: authorization_code and refresh_token
// grants. A refresh token works once; presenting a used one is refused
// (invalid_grant), as providers with rotating refresh tokens do.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != ClientID || secret != ClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		code := r.PostForm.Get("code")
		if !s.codes[code] {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		delete(s.codes, code)
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if s.revoked || !s.refresh[rt] {
			if !s.revoked {
				s.reuses++
			}
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		delete(s.refresh, rt)
		s.refreshes++
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	a, rt, exp := s.issue()
	writeJSON(w, map[string]any{"access_token": a, "refresh_token": rt, "token_type": "bearer", "expires_in": int(time.Until(exp).Seconds())})
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q}`, code)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v) //nolint:errcheck
}

// IDs returns the employee ids, sorted.
func (s *Server) IDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.employees {
		out = append(out, e.ID)
	}
	sort.Strings(out)
	return out
}

// Notify posts a Gusto-shaped change notification to url, signed as Gusto
// signs them (X-Gusto-Signature: hex HMAC-SHA256 of the body under the
// webhook secret); also POST /mock/notify {"url", "secret"}.
func Notify(url, secret string) error {
	body := []byte(`{"event_type":"employee.updated","entity_type":"Employee","resource_uuid":"` + CompanyID + `"}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gusto-Signature", hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("notify %s: %s", url, resp.Status)
	}
	return nil
}
