package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/api/webhook"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// person is one browser: its own cookies, redirects not followed.
type person struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (e *env) person() *person {
	jar, _ := cookiejar.New(nil)
	return &person{t: e.t, base: e.url, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// send does a request with a form body (nil: none) and extra headers,
// and returns the status, the Location and the body.
func (p *person) send(method, path string, form url.Values, header ...string) (int, string, string) {
	p.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, p.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := p.c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func (p *person) get(path string) (int, string, string) { return p.send("GET", path, nil) }

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token a page's forms carry.
func (p *person) csrf(path string) string {
	p.t.Helper()
	_, _, body := p.get(path)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		p.t.Fatalf("%s has no form token:\n%s", path, body)
	}
	return m[1]
}

func (p *person) cookie(name string) *http.Cookie {
	u, _ := url.Parse(p.base + "/console/")
	for _, c := range p.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signIn signs an operator in and returns the status.
func (p *person) signIn(email, password string) int {
	p.t.Helper()
	tok := p.csrf("/console/login")
	status, _, _ := p.send("POST", "/console/login", url.Values{"csrf": {tok}, "email": {email}, "password": {password}, "next": {"/console/"}})
	return status
}

func consoleEnv(t *testing.T, s schema.Store) *env {
	return newEnvWith(t, s, Config{Console: &ConsoleConfig{SpoolDir: t.TempDir()}})
}

func addOperator(t *testing.T, s schema.Store, email, password string, pii bool) {
	h, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOperator(context.Background(), &schema.Operator{Email: email, PasswordHash: h, PII: pii}); err != nil {
		t.Fatal(err)
	}
}

func TestConsolePasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash = %q %v", h, err)
	}
	if !checkPassword(h, "correct horse battery") || checkPassword(h, "correct horse batterx") || checkPassword("$bcrypt$x", "x") {
		t.Fatal("checkPassword")
	}
	if h2, _ := HashPassword("correct horse battery"); h2 == h {
		t.Fatal("two hashes of one password share a salt")
	}
	if _, err := HashPassword("short"); err == nil {
		t.Fatal("a short password was taken")
	}
}

// TestConsoleSignIn: operators sign in with a throttled password form;
// each sign-in starts a new session (the one the browser held before
// ends: no fixation); cookies are HttpOnly, SameSite and, behind TLS,
// Secure; signing out ends the session.
func TestConsoleSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		e := consoleEnv(t, s)
		e.tenant("acme", 1)
		addOperator(t, s, "ops@example.com", "a long operator password", false)
		p := e.person()
		if status, loc, _ := p.get("/console/t/acme"); status != 303 || loc != "/console/login?next=%2Fconsole%2Ft%2Facme" {
			t.Fatalf("signed out = %d %s", status, loc)
		}
		// The form's token must match its cookie.
		if status, _, _ := p.send("POST", "/console/login", url.Values{"csrf": {"forged"}, "email": {"ops@example.com"}, "password": {"a long operator password"}}); status != 403 {
			t.Fatalf("sign-in without the form's token = %d", status)
		}
		if status := p.signIn("ops@example.com", "wrong password!"); status != 401 {
			t.Fatalf("wrong password = %d", status)
		}
		if status := p.signIn("nobody@example.com", "wrong password!"); status != 401 {
			t.Fatalf("unknown operator = %d", status)
		}
		// A cookie planted before sign-in is not taken over.
		u, _ := url.Parse(e.url + "/console/")
		p.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "planted-by-an-attacker", Path: "/console"}})
		if status := p.signIn("ops@example.com", "a long operator password"); status != 303 {
			t.Fatalf("sign-in = %d", status)
		}
		first := p.cookie(sessionCookie).Value
		if first == "planted-by-an-attacker" {
			t.Fatal("the planted session id was kept")
		}
		if status, _, body := p.get("/console/"); status != 200 || !strings.Contains(body, "acme") {
			t.Fatalf("fleet = %d", status)
		}
		// Signing in again, from the same browser, ends the first session.
		p.signIn("ops@example.com", "a long operator password")
		if second := p.cookie(sessionCookie).Value; second == first {
			t.Fatal("a second sign-in kept the session id")
		}
		old := e.person()
		old.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: first, Path: "/console"}})
		if status, _, _ := old.get("/console/"); status != 303 {
			t.Fatalf("the replaced session still works: %d", status)
		}
		// Cookie attributes, read off the header.
		tok := p.csrf("/console/login")
		req, _ := http.NewRequest("POST", e.url+"/console/login", strings.NewReader(url.Values{"csrf": {tok}, "email": {"ops@example.com"}, "password": {"a long operator password"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.AddCookie(p.cookie(loginCookie))
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var set string
		for _, c := range resp.Header.Values("Set-Cookie") {
			if strings.HasPrefix(c, sessionCookie+"=") {
				set = c
			}
		}
		for _, attr := range []string{"Path=/console", "HttpOnly", "Secure", "SameSite=Lax"} {
			if !strings.Contains(set, attr) {
				t.Fatalf("session cookie %q lacks %s", set, attr)
			}
		}
		// Signing out ends the session on the server, not only the cookie.
		cur := p.cookie(sessionCookie).Value
		status, _, _ := p.send("POST", "/console/logout", url.Values{"csrf": {p.csrf("/console/")}})
		if status != 303 {
			t.Fatalf("sign out = %d", status)
		}
		again := e.person()
		again.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: cur, Path: "/console"}})
		if status, _, _ := again.get("/console/"); status != 303 {
			t.Fatalf("a signed-out session still works: %d", status)
		}
		// The audit log names the operator.
		log, _ := s.AuditLog(context.Background(), "", schema.AuditQuery{Action: "console.sign_in"})
		if len(log) != 3 || log[0].Actor != "operator:ops@example.com" {
			t.Fatalf("sign-ins audited = %+v", log)
		}
	})
}

func TestConsoleSignInThrottled(t *testing.T) {
	e := consoleEnv(t, openSQLite(t))
	addOperator(t, e.store, "ops@example.com", "a long operator password", false)
	p := e.person()
	for range 5 {
		if status := p.signIn("ops@example.com", "guess"); status != 401 {
			t.Fatalf("wrong password = %d", status)
		}
	}
	// Past five failures the e-mail waits, even with the right password.
	tok := p.csrf("/console/login")
	req, _ := http.NewRequest("POST", e.url+"/console/login", strings.NewReader(url.Values{"csrf": {tok}, "email": {"ops@example.com"}, "password": {"a long operator password"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("sixth sign-in = %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// TestConsoleCSRF: every change needs the session's form token and a
// same-site origin.
func TestConsoleCSRF(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		e := consoleEnv(t, s)
		e.tenant("acme", 1)
		addOperator(t, s, "ops@example.com", "a long operator password", false)
		p := e.person()
		p.signIn("ops@example.com", "a long operator password")
		tok := p.csrf("/console/t/acme/keys")
		form := func(csrf string) url.Values { return url.Values{"csrf": {csrf}, "name": {"k"}, "scope": {"read"}} }
		for name, try := range map[string]func() int{
			"no token": func() int { st, _, _ := p.send("POST", "/console/t/acme/keys", form("")); return st },
			"wrong token": func() int {
				st, _, _ := p.send("POST", "/console/t/acme/keys", form(csrfToken("another session")))
				return st
			},
			"cross-site": func() int {
				st, _, _ := p.send("POST", "/console/t/acme/keys", form(tok), "Origin", "https://evil.example")
				return st
			},
			"file form without token": func() int { st, _, _ := p.send("POST", "/console/t/acme/upload", url.Values{}); return st },
		} {
			if st := try(); st != 403 {
				t.Errorf("%s = %d, want 403", name, st)
			}
		}
		keys, _ := s.APIKeys(context.Background(), "")
		if len(keys) != 1 { // the tenant's own from e.tenant
			t.Fatalf("a refused form made a key: %d keys", len(keys))
		}
		if st, _, body := p.send("POST", "/console/t/acme/keys", form(tok), "Origin", e.url); st != 201 || !strings.Contains(body, `id="new-key"`) {
			t.Fatalf("with the token = %d", st)
		}
		log, _ := s.AuditLog(context.Background(), "", schema.AuditQuery{Action: "key.create"})
		if len(log) != 1 || log[0].Actor != "operator:ops@example.com" {
			t.Fatalf("key creation audited = %+v", log)
		}
	})
}

// TestConsoleMagicLinks: a link signs an HR admin in to its tenant only,
// once, before it expires and unless revoked; its first GET spends
// nothing (mail scanners fetch links); revoking it ends its sessions.
func TestConsoleMagicLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		e := consoleEnv(t, s)
		acme, _ := e.tenant("acme", 2)
		e.tenant("globex", 1)
		link := func(ttl time.Duration) (string, schema.MagicLink) {
			l := schema.MagicLink{TenantID: acme.ID, Email: "hr@acme.example", Creator: "test", Expires: time.Now().Add(ttl)}
			path, err := NewMagicLink(ctx, s, &l)
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimPrefix(path, "/console/link/"), l
		}
		use := func(p *person, token string) (int, string) {
			_, _, body := p.get("/console/link/" + token)
			m := csrfField.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("link page has no form:\n%s", body)
			}
			st, loc, _ := p.send("POST", "/console/link", url.Values{"csrf": {m[1]}, "token": {token}})
			return st, loc
		}
		token, l := link(time.Hour)
		hr := e.person()
		hr.get("/console/link/" + token) // a scanner's fetch
		if st, loc := use(hr, token); st != 303 || loc != "/console/t/acme" {
			t.Fatalf("first use = %d %s", st, loc)
		}
		if st, _, body := hr.get("/console/t/acme"); st != 200 || !strings.Contains(body, "payroll") {
			t.Fatalf("HR admin's tenant page = %d", st)
		}
		// Another tenant, whether by slug or not, does not exist for them.
		for _, path := range []string{"/console/t/globex", "/console/t/globex/keys", "/console/t/nope"} {
			if st, _, _ := hr.get(path); st != 404 {
				t.Errorf("HR admin of acme at %s = %d, want 404", path, st)
			}
		}
		if st, loc, _ := hr.get("/console/"); st != 303 || loc != "/console/t/acme" {
			t.Fatalf("HR admin's home = %d %s", st, loc)
		}
		if st, _, _ := hr.get("/console/t/acme/links"); st != 403 {
			t.Fatalf("HR admin at the links page = %d", st)
		}
		// Used once: a second use fails, from any browser.
		if st, _ := use(e.person(), token); st != 410 {
			t.Fatalf("reused link = %d", st)
		}
		// Expired.
		expired, _ := link(time.Millisecond)
		time.Sleep(5 * time.Millisecond)
		if st, _ := use(e.person(), expired); st != 410 {
			t.Fatalf("expired link = %d", st)
		}
		// Revoked: unusable, and its session ends.
		if err := s.RevokeMagicLink(ctx, acme.ID, l.ID); err != nil {
			t.Fatal(err)
		}
		if st, _, _ := hr.get("/console/t/acme"); st != 303 {
			t.Fatalf("a revoked link's session = %d", st)
		}
		unused, l2 := link(time.Hour)
		if err := s.RevokeMagicLink(ctx, acme.ID, l2.ID); err != nil {
			t.Fatal(err)
		}
		if st, _ := use(e.person(), unused); st != 410 {
			t.Fatalf("revoked link = %d", st)
		}
		if err := s.RevokeMagicLink(ctx, "another tenant", l2.ID); err == nil {
			t.Fatal("a link was revoked through another tenant")
		}
		if st, _ := use(e.person(), "not-a-token"); st != 410 {
			t.Fatalf("made-up token = %d", st)
		}
		log, _ := s.AuditLog(ctx, acme.ID, schema.AuditQuery{Action: "console.link_used"})
		if len(log) != 1 || log[0].Actor != "link:hr@acme.example" {
			t.Fatalf("link use audited = %+v", log)
		}
	})
}

// TestConsolePII: SSNs show masked; only someone allowed reveals one,
// and each reveal is audited with who did it.
func TestConsolePII(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		e := consoleEnv(t, s)
		acme, _ := e.tenant("acme", 1)
		emps, _ := s.Employees(ctx, acme.ID, schema.EmployeeQuery{Limit: 1})
		l := schema.MagicLink{TenantID: acme.ID, Email: "hr@acme.example", Expires: time.Now().Add(time.Hour)}
		path, _ := NewMagicLink(ctx, s, &l)
		hr := e.person()
		_, _, body := hr.get(path)
		hr.send("POST", "/console/link", url.Values{"csrf": {csrfField.FindStringSubmatch(body)[1]}, "token": {strings.TrimPrefix(path, "/console/link/")}})
		_, _, body = hr.get("/console/t/acme/people")
		if strings.Contains(body, "123450001") || !strings.Contains(body, "***-**-0001") || strings.Contains(body, "Reveal") {
			t.Fatalf("HR admin without PII sees:\n%s", body)
		}
		if st, _, _ := hr.send("POST", "/console/t/acme/people/"+emps[0].ID+"/reveal", url.Values{"csrf": {hr.csrf("/console/t/acme/people")}}); st != 403 {
			t.Fatalf("reveal without PII = %d", st)
		}
		addOperator(t, s, "pii@example.com", "a long operator password", true)
		op := e.person()
		op.signIn("pii@example.com", "a long operator password")
		st, _, body := op.send("POST", "/console/t/acme/people/"+emps[0].ID+"/reveal", url.Values{"csrf": {op.csrf("/console/t/acme/people")}})
		if st != 200 || !strings.Contains(body, "123450001") {
			t.Fatalf("reveal = %d", st)
		}
		log, _ := s.AuditLog(ctx, acme.ID, schema.AuditQuery{Action: "pii.reveal"})
		if len(log) != 1 || log[0].Actor != "operator:pii@example.com" || log[0].Resource != emps[0].ID {
			t.Fatalf("reveal audited = %+v", log)
		}
	})
}

// TestConsoleErrorsCSV: a file's rejected rows download as CSV with the
// catalog's fix.
func TestConsoleErrorsCSV(t *testing.T) {
	s := openSQLite(t)
	l := load(t, s, Config{Console: &ConsoleConfig{SpoolDir: t.TempDir()}})
	// One row in three is invalid: the file is rejected, its errors kept.
	l.b.IngestReader(context.Background(), l.conns["census-csv"], "bad.csv", strings.NewReader("Employee ID,First Name,Last Name,DOB,SSN,Status,FT/PT,Department,Location,Hire Date,Term Date\n"+
		"E9,Ed,Y,,,A,,,,,\nE10,,Z,,,A,,,,,\nE11,Fay,Q,,,A,,,,,\n")) //nolint:errcheck
	files, _ := s.Files(context.Background(), l.tenant.ID, schema.ListQuery{Limit: 1})
	addOperator(t, s, "ops@example.com", "a long operator password", false)
	op := l.person()
	op.signIn("ops@example.com", "a long operator password")
	st, _, body := op.get("/console/t/acme/files/" + files[0].ID + "/errors.csv")
	if st != 200 || !strings.HasPrefix(body, "file,line,record,field,code,message,fix\n") || !strings.Contains(body, ",3,E10,first_name,E_REQUIRED,") ||
		!strings.Contains(body, schema.Catalog["E_REQUIRED"].Fix) {
		t.Fatalf("errors.csv = %d\n%s", st, body)
	}
}

// TestConsolePages: every page renders for an operator, and the forms of
// schedules, windows, layouts and webhooks change what they say, audited.
func TestConsolePages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		e := consoleEnv(t, s)
		acme, _ := e.tenant("acme", 3)
		addOperator(t, s, "ops@example.com", "a long operator password", true)
		op := e.person()
		op.signIn("ops@example.com", "a long operator password")
		for _, path := range []string{"/console/", "/console/t/acme", "/console/t/acme/upload", "/console/t/acme/connect", "/console/t/acme/layouts",
			"/console/t/acme/layouts?name=census-fixed", "/console/t/acme/schedules", "/console/t/acme/webhooks", "/console/t/acme/keys",
			"/console/t/acme/people", "/console/t/acme/audit", "/console/t/acme/links", "/console/login", "/console/static/console.css",
			"/console/static/htmx-2.0.11.min.js"} {
			if st, _, body := op.get(path); st != 200 || strings.Contains(body, "page error") {
				t.Errorf("GET %s = %d\n%s", path, st, body)
			}
		}
		conns, _ := s.Connections(ctx, acme.ID)
		post := func(path string, form url.Values) (int, string) {
			form.Set("csrf", op.csrf("/console/t/acme"))
			st, loc, _ := op.send("POST", path, form)
			return st, loc
		}
		if st, _ := post("/console/t/acme/connections/"+conns[0].ID+"/schedule", url.Values{"schedule": {"0 3 * * *"}, "time_zone": {"America/Chicago"}, "catch_up": {"skip"}}); st != 303 {
			t.Fatalf("schedule = %d", st)
		}
		if c, _ := s.Connection(ctx, acme.ID, conns[0].ID); c.Schedule != "0 3 * * *" || c.TimeZone != "America/Chicago" || c.CatchUp != "skip" {
			t.Fatalf("schedule stored = %+v", c)
		}
		if st, _ := post("/console/t/acme/connections/"+conns[0].ID+"/schedule", url.Values{"schedule": {"not cron"}}); st != 422 {
			t.Fatalf("bad schedule = %d", st)
		}
		if st, _ := post("/console/t/acme/windows", url.Values{"name": {"OE 2027"}, "starts_on": {"2027-11-01"}, "ends_on": {"2027-11-30"}, "schedule": {"0 * * * *"}}); st != 303 {
			t.Fatalf("window = %d", st)
		}
		if ws, _ := s.Windows(ctx, acme.ID); len(ws) != 1 || ws[0].Name != "OE 2027" {
			t.Fatalf("windows = %+v", ws)
		}
		if st, _ := post("/console/t/acme/layouts", url.Values{"name": {"census-csv"}, "override": {"fields:\n  department:\n    columns: [Dept Name]\n"}}); st != 303 {
			t.Fatalf("layout = %d", st)
		}
		if st, _ := post("/console/t/acme/layouts", url.Values{"name": {"census-csv"}, "override": {"fields: [not, a, map"}}); st != 422 {
			t.Fatalf("broken layout = %d", st)
		}
		if b, err := s.Layout(ctx, acme.ID, "", "census-csv"); err != nil || !strings.Contains(string(b), "Dept Name") {
			t.Fatalf("override stored = %q %v", b, err)
		}
		if st, _, body := op.send("POST", "/console/t/acme/webhooks", url.Values{"csrf": {op.csrf("/console/t/acme")}, "url": {"https://hooks.example.com/x"}, "event_types": {"employee.*"}}); st != 201 || !strings.Contains(body, "whsec_") {
			t.Fatalf("webhook endpoint = %d", st)
		}
		if st, _, body := op.get("/console/t/acme/schedules"); st != 200 || !strings.Contains(body, "OE 2027") {
			t.Fatalf("schedules page = %d", st)
		}
		log, _ := s.AuditLog(ctx, acme.ID, schema.AuditQuery{})
		var actions []string
		for _, a := range log {
			if a.Actor == "operator:ops@example.com" {
				actions = append(actions, a.Action)
			}
		}
		if strings.Join(actions, ",") != "webhook.create,layout.set,window.create,connection.schedule" {
			t.Fatalf("audited = %v", actions)
		}
	})
}

// TestConsoleLinkByMail: with mail configured, a link is sent to the HR
// admin; the page still shows it once to the operator.
func TestConsoleLinkByMail(t *testing.T) {
	var to, body string
	s := openSQLite(t)
	e := newEnvWith(t, s, Config{Console: &ConsoleConfig{SpoolDir: t.TempDir(), BaseURL: "https://bridge.example.com/",
		Mail: func(_ context.Context, rcpt, _, text string) error { to, body = rcpt, text; return nil }}})
	e.tenant("acme", 1)
	addOperator(t, s, "ops@example.com", "a long operator password", false)
	op := e.person()
	op.signIn("ops@example.com", "a long operator password")
	st, _, page := op.send("POST", "/console/t/acme/links", url.Values{"csrf": {op.csrf("/console/t/acme/links")}, "email": {"hr@acme.example"}, "send": {"on"}, "hours": {"24"}})
	link := regexp.MustCompile(`https://bridge\.example\.com/console/link/[A-Za-z0-9_-]+`).FindString(page)
	if st != 201 || link == "" || !strings.Contains(page, "Sent to hr@acme.example") {
		t.Fatalf("create link = %d\n%s", st, page)
	}
	if to != "hr@acme.example" || !strings.Contains(body, link) {
		t.Fatalf("mail to %q: %q", to, body)
	}
}

// TestConsoleRedeliver: an HR admin adds an endpoint (its secret shown
// once) and redelivers an event to it from the console.
func TestConsoleRedeliver(t *testing.T) {
	s := openSQLite(t)
	got := make(chan string, 4)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("webhook-id") }))
	defer rcv.Close()
	d, _ := webhook.New(webhook.Config{Store: s, AllowPrivate: true})
	l := load(t, s, Config{})
	l.env = newEnvWith(t, s, Config{Webhooks: d, Console: &ConsoleConfig{SpoolDir: t.TempDir()}})
	addOperator(t, s, "ops@example.com", "a long operator password", false)
	op := l.person()
	op.signIn("ops@example.com", "a long operator password")
	st, _, page := op.send("POST", "/console/t/acme/webhooks", url.Values{"csrf": {op.csrf("/console/t/acme/webhooks")}, "url": {rcv.URL}})
	if st != 201 || !strings.Contains(page, `id="secret">whsec_`) {
		t.Fatalf("add endpoint = %d\n%s", st, page)
	}
	if _, _, page := op.get("/console/t/acme/webhooks"); strings.Contains(page, "whsec_") {
		t.Fatal("the secret is shown again")
	}
	eps, _ := s.WebhookEndpoints(context.Background(), l.tenant.ID)
	evs, _ := s.Events(context.Background(), l.tenant.ID, 0, 1)
	st, loc, _ := op.send("POST", "/console/t/acme/webhooks/"+eps[0].ID+"/redeliver", url.Values{"csrf": {op.csrf("/console/t/acme/webhooks")}, "event_id": {evs[0].ID}})
	if st != 303 || !strings.Contains(loc, "Redelivered") {
		t.Fatalf("redeliver = %d %s", st, loc)
	}
	if id := <-got; id != evs[0].ID {
		t.Fatalf("the receiver got %q, want %q", id, evs[0].ID)
	}
	if _, _, page := op.get("/console/t/acme/webhooks"); !strings.Contains(page, evs[0].ID) || !strings.Contains(page, "succeeded") {
		t.Fatalf("the delivery is not listed:\n%s", page)
	}
}

// TestAPILogsHoldNoSecrets: API requests with good and bad keys, console
// sign-ins with right and wrong passwords, a magic link and a PII reveal,
// all logged at debug level: no key, password, token or SSN is in the
// logs.
func TestAPILogsHoldNoSecrets(t *testing.T) {
	s := openSQLite(t)
	var logs storetest.Buffer
	srv, err := New(Config{Store: s, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Console: &ConsoleConfig{SpoolDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	e := &env{t: t, store: s, url: ts.URL}
	acme, key := e.tenant("acme", 2, "read", "pii:read")
	e.get("/v1/employees", key, nil)
	e.get("/v1/employees", "hbk_"+strings.Repeat("z", 43), nil)
	addOperator(t, s, "ops@example.com", "the operator's long password", true)
	op := e.person()
	op.signIn("ops@example.com", "a wrong but long password")
	op.signIn("ops@example.com", "the operator's long password")
	emps, _ := s.Employees(context.Background(), acme.ID, schema.EmployeeQuery{Limit: 1})
	op.send("POST", "/console/t/acme/people/"+emps[0].ID+"/reveal", url.Values{"csrf": {op.csrf("/console/t/acme/people")}})
	l := schema.MagicLink{TenantID: acme.ID, Expires: time.Now().Add(time.Hour)}
	path, _ := NewMagicLink(context.Background(), s, &l)
	e.person().get(path)
	out := logs.String()
	if !strings.Contains(out, "console sign-in refused") || !strings.Contains(out, "/v1/employees") {
		t.Fatalf("too little was logged to mean anything:\n%s", out)
	}
	for _, secret := range []string{key, "hbk_" + strings.Repeat("z", 43), "the operator's long password", "a wrong but long password",
		strings.TrimPrefix(path, "/console/link/"), op.cookie(sessionCookie).Value, "123450001"} {
		if strings.Contains(out, secret) {
			t.Errorf("the logs hold %q", secret)
		}
	}
}

// TestConsolePreviewsExpire: a checked upload older than an hour is not
// applied, and the cleanup removes it.
func TestConsolePreviewsExpire(t *testing.T) {
	dir := t.TempDir()
	e := newEnvWith(t, openSQLite(t), Config{Uploads: refuseUploads{t}, Console: &ConsoleConfig{SpoolDir: dir}})
	acme, _ := e.tenant("acme", 1)
	addOperator(t, e.store, "ops@example.com", "a long operator password", false)
	op := e.person()
	op.signIn("ops@example.com", "a long operator password")
	srv, _ := New(Config{Store: e.store, Console: &ConsoleConfig{SpoolDir: dir}})
	conns, _ := e.store.Connections(context.Background(), acme.ID)
	path := srv.console.spoolPath(acme.ID, "oldtoken")
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, []byte("Employee ID\nE1\n"), 0o600)
	os.WriteFile(path+".meta", []byte(conns[0].ID+"\ncensus.csv"), 0o600)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(path, old, old)
	os.Chtimes(path+".meta", old, old)
	if st, _, _ := op.send("POST", "/console/t/acme/upload/apply", url.Values{"csrf": {op.csrf("/console/t/acme/upload")}, "token": {"oldtoken"}}); st != 410 {
		t.Fatalf("applying a two-hour-old preview = %d", st)
	}
	os.WriteFile(path, []byte("x"), 0o600) // an old preview, as the refused apply left it
	os.Chtimes(path, old, old)
	srv.console.cleanPreviews()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("an old preview survived the cleanup: %v", err)
	}
}

// refuseUploads fails a test that hands a file to the inbox.
type refuseUploads struct{ t *testing.T }

func (u refuseUploads) Upload(context.Context, schema.Connection, string, io.Reader, bool) (schema.File, error) {
	u.t.Error("an expired preview was uploaded")
	return schema.File{}, nil
}
