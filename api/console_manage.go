package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/api/webhook"
	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/bridge/connector"
	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/scheduler"
	"github.com/hrisbridge/hrisbridge/schema"
)

type layoutData struct {
	Connections []schema.Connection
	Builtins    []string
	Name        string
	Connection  string // id, "" for the tenant's own override
	Effective   string
	Override    string
	Proposal    *inferred
}

// layoutPage shows a layout as it applies (built-in merged with the
// tenant's and the connection's overrides) and the override to edit.
func (cs *consoleServer) layoutPage(c *gin.Context) {
	d, ok := cs.layoutData(c, c.Query("name"), c.Query("connection"))
	if !ok {
		return
	}
	cs.render(c, http.StatusOK, "layouts", page{Title: "Layouts", Nav: "layouts", Data: d})
}

func (cs *consoleServer) layoutData(c *gin.Context, name, connID string) (layoutData, bool) {
	ctx := c.Request.Context()
	conns, err := cs.s.cfg.Store.Connections(ctx, tenantID(c))
	if err != nil {
		cs.fail(c, err)
		return layoutData{}, false
	}
	d := layoutData{Connections: conns, Builtins: parsers.Builtins(), Name: name, Connection: connID}
	if d.Name == "" {
		d.Name = "census-csv"
		for _, conn := range conns {
			if conn.ID == connID || (connID == "" && conn.Kind != schema.ConnAPI) {
				d.Name = conn.Layout
				break
			}
		}
	}
	if d.Name == bridge.X12834 {
		d.Effective = "The X12 834 reader needs no layout: its loops map to the model by the standard."
		return d, true
	}
	l, err := bridge.EffectiveLayout(ctx, cs.s.cfg.Store, tenantID(c), connID, d.Name)
	if err != nil {
		d.Effective = "This layout does not load: " + err.Error()
	} else if y, err := l.YAML(); err == nil {
		d.Effective = string(y)
	}
	o, err := cs.s.cfg.Store.Layout(ctx, tenantID(c), connID, d.Name)
	if err != nil && !errors.Is(err, schema.ErrNotFound) {
		cs.fail(c, err)
		return d, false
	}
	d.Override = string(o)
	return d, true
}

// inferLayout proposes a layout from a sample, with its coverage and the
// sample's dry run; the proposal fills the override box to be reviewed
// and saved.
func (cs *consoleServer) inferLayout(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 16<<20+1<<16)
	file, hdr, err := c.Request.FormFile("file")
	if err != nil {
		cs.errorPage(c, http.StatusBadRequest, "Choose a sample file (at most 16 MiB: the first few thousand rows are enough).")
		return
	}
	defer file.Close()
	sample, err := io.ReadAll(file)
	if err != nil {
		cs.fail(c, err)
		return
	}
	entity := cmpOr(c.PostForm("entity"), "employee")
	p, err := parsers.Infer(strings.NewReader(string(sample)), entity, 1000)
	if err != nil {
		cs.errorPage(c, http.StatusUnprocessableEntity, "No layout could be proposed from this sample: "+err.Error())
		return
	}
	y, err := p.Layout.YAML()
	if err != nil {
		cs.fail(c, err)
		return
	}
	rep := parsers.Validate(strings.NewReader(string(sample)), cleanName(hdr.Filename), p.Layout, parsers.ValidateOptions{})
	d, ok := cs.layoutData(c, p.Layout.Name, c.PostForm("connection"))
	if !ok {
		return
	}
	d.Name = p.Layout.Name
	d.Proposal = &inferred{Proposal: p, Layout: p.Layout, LayoutYAML: string(y), Validation: rep}
	d.Override = string(y)
	cs.render(c, http.StatusOK, "layouts", page{Title: "Layouts", Nav: "layouts", Data: d})
}

// saveLayout stores an override after checking that it merges into a
// valid layout.
func (cs *consoleServer) saveLayout(c *gin.Context) {
	ctx, name, connID := c.Request.Context(), c.PostForm("name"), c.PostForm("connection")
	body := []byte(c.PostForm("override"))
	if connID != "" {
		conn, ok := cs.connection(withParam(c, "id", connID))
		if !ok {
			return
		}
		connID = conn.ID
	}
	tenantBody, connBody := body, []byte(nil)
	if connID != "" {
		var err error
		if tenantBody, err = cs.s.cfg.Store.Layout(ctx, tenantID(c), "", name); err != nil && !errors.Is(err, schema.ErrNotFound) {
			cs.fail(c, err)
			return
		}
		connBody = body
	}
	if _, err := parsers.Resolve(name, tenantBody, connBody); err != nil {
		d, ok := cs.layoutData(c, name, connID)
		if !ok {
			return
		}
		d.Override = string(body)
		cs.render(c, http.StatusUnprocessableEntity, "layouts", page{Title: "Layouts", Nav: "layouts", Problem: "Not saved: " + err.Error(), Data: d})
		return
	}
	if err := cs.s.cfg.Store.PutLayout(ctx, tenantID(c), connID, name, body); err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, tenantID(c), "layout.set", name)
	done(c, tenantURL(c, "/layouts?name="+name+"&connection="+connID), "Layout override saved; replay a rejected file to read it again with it.")
}

// withParam sets a route parameter for a helper that reads one.
func withParam(c *gin.Context, key, value string) *gin.Context {
	c.Params = append(c.Params, gin.Param{Key: key, Value: value})
	return c
}

type schedulesData struct {
	Connections []connectionRow
	Windows     []schema.Window
	Names       map[string]string
}

func (cs *consoleServer) schedulesPage(c *gin.Context) {
	ctx := c.Request.Context()
	conns, err := cs.s.cfg.Store.Connections(ctx, tenantID(c))
	if err != nil {
		cs.fail(c, err)
		return
	}
	ws, err := cs.s.cfg.Store.Windows(ctx, tenantID(c))
	if err != nil {
		cs.fail(c, err)
		return
	}
	d := schedulesData{Windows: ws, Names: map[string]string{}}
	for _, conn := range conns {
		row := connectionRow{Connection: conn}
		p := scheduler.PreviewOf(conn, ws, time.Now(), 1)
		if len(p.NextSyncs) > 0 {
			row.Next = &p.NextSyncs[0]
		}
		row.Window = p.ActiveWindow
		d.Connections = append(d.Connections, row)
		d.Names[conn.ID] = conn.Name
	}
	cs.render(c, http.StatusOK, "schedules", page{Title: "Schedules", Nav: "schedules", Data: d})
}

func (cs *consoleServer) setSchedule(c *gin.Context) {
	conn, ok := cs.connection(c)
	if !ok {
		return
	}
	sched, tz, catch := strings.TrimSpace(c.PostForm("schedule")), cmpOr(c.PostForm("time_zone"), "UTC"), cmpOr(c.PostForm("catch_up"), schema.CatchUpOnce)
	if err := scheduler.CheckSchedule(sched, tz, catch); err != nil {
		cs.errorPage(c, http.StatusUnprocessableEntity, "Not saved: "+err.Error())
		return
	}
	if err := cs.s.cfg.Store.UpdateConnectionSchedule(c.Request.Context(), conn.TenantID, conn.ID, sched, tz, catch); err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, conn.TenantID, "connection.schedule", conn.ID)
	done(c, tenantURL(c, "/schedules"), "Schedule of "+conn.Name+" saved.")
}

func (cs *consoleServer) createWindow(c *gin.Context) {
	w := schema.Window{TenantID: tenantID(c), Name: strings.TrimSpace(c.PostForm("name")), StartsOn: c.PostForm("starts_on"), EndsOn: c.PostForm("ends_on"),
		Schedule: strings.TrimSpace(c.PostForm("schedule")), FinalPull: c.PostForm("final_pull") == "on"}
	tz := "UTC"
	if id := c.PostForm("connection"); id != "" {
		conn, ok := cs.connection(withParam(c, "id", id))
		if !ok {
			return
		}
		w.ConnectionID, tz = conn.ID, conn.TimeZone
	}
	if err := scheduler.CheckWindow(w, tz); err != nil {
		cs.errorPage(c, http.StatusUnprocessableEntity, "Not saved: "+err.Error())
		return
	}
	if err := cs.s.cfg.Store.CreateWindow(c.Request.Context(), &w); err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, w.TenantID, "window.create", w.ID)
	done(c, tenantURL(c, "/schedules"), "Enrollment window "+w.Name+" added.")
}

func (cs *consoleServer) deleteWindow(c *gin.Context) {
	if err := cs.s.cfg.Store.DeleteWindow(c.Request.Context(), tenantID(c), c.Param("id")); err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, tenantID(c), "window.delete", c.Param("id"))
	done(c, tenantURL(c, "/schedules"), "Enrollment window removed.")
}

type webhooksData struct {
	Endpoints  []schema.WebhookEndpoint
	Deliveries []schema.WebhookDelivery
	URLs       map[string]string
	// Secret is a new endpoint's signing secret, shown once.
	Secret string
}

func (cs *consoleServer) webhooksPage(c *gin.Context) {
	cs.renderWebhooks(c, http.StatusOK, "")
}

func (cs *consoleServer) renderWebhooks(c *gin.Context, status int, secret string) {
	ctx := c.Request.Context()
	eps, err := cs.s.cfg.Store.WebhookEndpoints(ctx, tenantID(c))
	if err != nil {
		cs.fail(c, err)
		return
	}
	ds, err := cs.s.cfg.Store.WebhookDeliveries(ctx, tenantID(c), schema.ListQuery{Limit: 50})
	if err != nil {
		cs.fail(c, err)
		return
	}
	d := webhooksData{Endpoints: eps, Deliveries: ds, URLs: map[string]string{}, Secret: secret}
	for i := range d.Endpoints {
		d.Endpoints[i].Secret = ""
		d.URLs[d.Endpoints[i].ID] = d.Endpoints[i].URL
	}
	cs.render(c, status, "webhooks", page{Title: "Webhooks", Nav: "webhooks", Data: d})
}

func (cs *consoleServer) createEndpoint(c *gin.Context) {
	raw := strings.TrimSpace(c.PostForm("url"))
	if !strings.HasPrefix(raw, "https://") && !strings.HasPrefix(raw, "http://") {
		cs.errorPage(c, http.StatusUnprocessableEntity, "The URL must start with https://.")
		return
	}
	if cs.s.cfg.Webhooks != nil {
		if err := cs.s.cfg.Webhooks.CheckURL(c.Request.Context(), raw); err != nil {
			cs.errorPage(c, http.StatusUnprocessableEntity, "Not added: "+err.Error())
			return
		}
	}
	var types []string
	for _, t := range strings.Split(c.PostForm("event_types"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, t)
		}
	}
	ep := schema.WebhookEndpoint{TenantID: tenantID(c), URL: raw, EventTypes: types, Secret: webhook.NewSecret()}
	if err := cs.s.cfg.Store.CreateWebhookEndpoint(c.Request.Context(), &ep); err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, ep.TenantID, "webhook.create", ep.ID)
	cs.renderWebhooks(c, http.StatusCreated, ep.Secret)
}

// redeliver sends one event to an endpoint again, now.
func (cs *consoleServer) redeliver(c *gin.Context) {
	ctx := c.Request.Context()
	if cs.s.cfg.Webhooks == nil {
		cs.errorPage(c, http.StatusNotImplemented, "This server does not deliver webhooks.")
		return
	}
	eps, err := cs.s.cfg.Store.WebhookEndpoints(ctx, tenantID(c))
	if err != nil {
		cs.fail(c, err)
		return
	}
	var ep *schema.WebhookEndpoint
	for i := range eps {
		if eps[i].ID == c.Param("id") {
			ep = &eps[i]
		}
	}
	if ep == nil {
		cs.fail(c, schema.ErrNotFound)
		return
	}
	ev, err := cs.s.cfg.Store.EventByID(ctx, tenantID(c), c.PostForm("event_id"))
	if err != nil {
		cs.fail(c, err)
		return
	}
	del, err := cs.s.cfg.Webhooks.Replay(ctx, *ep, ev)
	if err != nil && del.ID == "" {
		cs.fail(c, err)
		return
	}
	cs.audit(c, ep.TenantID, "webhook.replay", ep.ID)
	msg := fmt.Sprintf("Redelivered: the receiver answered %d.", del.ResponseStatus)
	if del.Status != "succeeded" {
		msg = "Redelivery failed: " + cmpOr(del.Error, fmt.Sprintf("HTTP %d", del.ResponseStatus))
	}
	done(c, tenantURL(c, "/webhooks"), msg)
}

type keysData struct {
	Keys []schema.APIKey
	// New is a key just made, shown once.
	New string
}

func (cs *consoleServer) keysPage(c *gin.Context) { cs.renderKeys(c, http.StatusOK, "") }

func (cs *consoleServer) renderKeys(c *gin.Context, status int, plain string) {
	keys, err := cs.s.cfg.Store.APIKeys(c.Request.Context(), tenantID(c))
	if err != nil {
		cs.fail(c, err)
		return
	}
	cs.render(c, status, "keys", page{Title: "API keys", Nav: "keys", Data: keysData{Keys: keys, New: plain}})
}

// createKey makes a tenant key (read, pii:read, write); pii:read only by
// someone who may see PII.
func (cs *consoleServer) createKey(c *gin.Context) {
	scopes := c.PostFormArray("scope")
	if len(scopes) == 0 {
		cs.errorPage(c, http.StatusUnprocessableEntity, "Choose at least one scope.")
		return
	}
	for _, sc := range scopes {
		if !schema.HasScopeName(sc) || sc == schema.ScopeAdmin {
			cs.errorPage(c, http.StatusUnprocessableEntity, "Unknown scope "+sc+".")
			return
		}
		if sc == schema.ScopePIIRead && !session(c).PII {
			cs.errorPage(c, http.StatusForbidden, "Only someone allowed to see SSNs may make a pii:read key.")
			return
		}
	}
	plain, prefix, hash := NewKey()
	k := schema.APIKey{TenantID: tenantID(c), Name: strings.TrimSpace(c.PostForm("name")), Prefix: prefix, Hash: hash, Scopes: scopes}
	if err := cs.s.cfg.Store.CreateAPIKey(c.Request.Context(), &k); err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, k.TenantID, "key.create", k.ID)
	cs.renderKeys(c, http.StatusCreated, plain)
}

func (cs *consoleServer) revokeKey(c *gin.Context) {
	k, err := cs.s.cfg.Store.RevokeAPIKey(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, k.TenantID, "key.revoke", k.ID)
	done(c, tenantURL(c, "/keys"), "Key "+k.Prefix+" revoked; it stops working at once.")
}

type peopleData struct {
	People   []schema.Employee
	Next     string
	Search   string
	Revealed map[string]string
}

// peoplePage lists employees with SSNs masked; a person allowed to may
// reveal one at a time, and each reveal is audited.
func (cs *consoleServer) peoplePage(c *gin.Context) {
	q := schema.EmployeeQuery{Limit: 50, AfterID: c.Query("after"), ExternalID: strings.TrimSpace(c.Query("external_id"))}
	es, err := cs.s.cfg.Store.Employees(c.Request.Context(), tenantID(c), q)
	if err != nil {
		cs.fail(c, err)
		return
	}
	d := peopleData{Search: q.ExternalID}
	for _, e := range es {
		e.SSN, e.DateOfBirth = schema.MaskSSN(e.SSN), ""
		d.People = append(d.People, e)
	}
	if len(es) == q.Limit {
		d.Next = es[len(es)-1].ID
	}
	cs.render(c, http.StatusOK, "people", page{Title: "People", Nav: "people", Data: d})
}

func (cs *consoleServer) reveal(c *gin.Context) {
	if !session(c).PII {
		cs.errorPage(c, http.StatusForbidden, "Your sign-in may not see SSNs.")
		return
	}
	e, err := cs.s.cfg.Store.Employee(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, e.TenantID, "pii.reveal", e.ID)
	e.DateOfBirth = ""
	cs.render(c, http.StatusOK, "people", page{Title: "People", Nav: "people", Data: peopleData{People: []schema.Employee{e}, Search: e.ExternalID,
		Revealed: map[string]string{e.ID: e.SSN}}})
}

type auditData struct{ Entries []schema.AuditEntry }

func (cs *consoleServer) auditPage(c *gin.Context) {
	es, err := cs.s.cfg.Store.AuditLog(c.Request.Context(), tenantID(c), schema.AuditQuery{Limit: 100})
	if err != nil {
		cs.fail(c, err)
		return
	}
	cs.render(c, http.StatusOK, "audit", page{Title: "Audit log", Nav: "audit", Data: auditData{es}})
}

type connectData struct {
	Connections []schema.Connection
	Layouts     []string
	Dropbox     string
	HostKey     string
	// Created is what to hand the employer after a connection is made.
	Created *connectCreated
	// Confirm asks to confirm an SFTP server's host key.
	Confirm *bridge.ErrHostKeyUnconfirmed
	Form    map[string]string
	// Connectors are the built-in API connector definitions.
	Connectors []string
}

type connectCreated struct {
	Connection schema.Connection
	Username   string
	Password   string
	// Authorize is the link to the HRIS's consent page (OAuth).
	Authorize string
}

func (cs *consoleServer) connectData(c *gin.Context) (connectData, bool) {
	conns, err := cs.s.cfg.Store.Connections(c.Request.Context(), tenantID(c))
	if err != nil {
		cs.fail(c, err)
		return connectData{}, false
	}
	return connectData{Connections: conns, Layouts: parsers.Builtins(), Dropbox: cs.cfg.DropboxAddr, HostKey: cs.cfg.DropboxHostKey, Form: map[string]string{},
		Connectors: connector.Builtins()}, true
}

// connectPage is the employer's first page: choose how data comes, see
// what to configure, test, finish.
func (cs *consoleServer) connectPage(c *gin.Context) {
	d, ok := cs.connectData(c)
	if !ok {
		return
	}
	cs.render(c, http.StatusOK, "connect", page{Title: "Connect your HR data", Nav: "connect", Data: d})
}

func (cs *consoleServer) createConnection(c *gin.Context, nc bridge.NewConnection) (schema.Connection, error) {
	if cs.s.cfg.Connections == nil {
		return schema.Connection{}, fmt.Errorf("%w: this server does not manage connections", schema.ErrState)
	}
	if err := scheduler.CheckSchedule(nc.Schedule, "UTC", schema.CatchUpOnce); err != nil {
		return schema.Connection{}, fmt.Errorf("%w: %v", schema.ErrInvalid, err)
	}
	conn, err := cs.s.cfg.Connections.CreateConnection(c.Request.Context(), tenantID(c), nc)
	if err == nil {
		cs.audit(c, conn.TenantID, "connection.create", conn.ID)
	}
	return conn, err
}

// connectDropbox makes a drop box connection and its SFTP login with a
// generated password, shown once.
func (cs *consoleServer) connectDropbox(c *gin.Context) {
	nc := bridge.NewConnection{Name: strings.TrimSpace(c.PostForm("name")), Kind: schema.ConnDropbox, Layout: c.PostForm("layout")}
	conn, err := cs.createConnection(c, nc)
	if err != nil {
		cs.fail(c, err)
		return
	}
	pw, _ := NewToken()
	pw = pw[:24]
	hash, err := sftpd.HashPassword(pw)
	if err != nil {
		cs.fail(c, err)
		return
	}
	user := consoleTenant(c).Slug + "-" + conn.Name
	acct := schema.DropboxAccount{TenantID: conn.TenantID, ConnectionID: conn.ID, Username: user, PasswordHash: hash, Rights: []string{"list"}}
	if err := cs.s.cfg.Store.CreateDropboxAccount(c.Request.Context(), &acct); err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, conn.TenantID, "dropbox.create", user)
	d, ok := cs.connectData(c)
	if !ok {
		return
	}
	d.Created = &connectCreated{Connection: conn, Username: user, Password: pw}
	cs.render(c, http.StatusCreated, "connect", page{Title: "Connect your HR data", Nav: "connect", Data: d})
}

// connectSFTP makes a connection that pulls from the employer's SFTP
// server. The first submit fetches the server's host key and asks to
// confirm its fingerprint; the second, with it, stores the connection.
func (cs *consoleServer) connectSFTP(c *gin.Context) {
	form := map[string]string{}
	for _, k := range []string{"name", "layout", "host", "port", "user", "dir", "pattern", "host_key", "schedule"} {
		form[k] = strings.TrimSpace(c.PostForm(k))
	}
	cfg := map[string]any{"host": form["host"], "user": form["user"]}
	if form["port"] != "" {
		port, err := strconv.Atoi(form["port"])
		if err != nil {
			cs.errorPage(c, http.StatusUnprocessableEntity, "The port must be a number.")
			return
		}
		cfg["port"] = float64(port) // as JSON numbers decode
	}
	for _, k := range []string{"dir", "host_key"} {
		if form[k] != "" {
			cfg[k] = form[k]
		}
	}
	if form["pattern"] != "" {
		cfg["patterns"] = []string{form["pattern"]}
	}
	secret := map[string]string{}
	if pw := c.PostForm("password"); pw != "" {
		secret["password"] = pw
	}
	if key := c.PostForm("private_key"); key != "" {
		secret["private_key"] = key
	}
	nc := bridge.NewConnection{Name: form["name"], Kind: schema.ConnSFTP, Layout: form["layout"], Config: cfg, Secret: secret, Schedule: form["schedule"]}
	conn, err := cs.createConnection(c, nc)
	d, ok := cs.connectData(c)
	if !ok {
		return
	}
	d.Form = form
	var unconfirmed *bridge.ErrHostKeyUnconfirmed
	var se *bridge.SyncError
	switch {
	case errors.As(err, &unconfirmed):
		d.Confirm = unconfirmed
		cs.render(c, http.StatusOK, "connect", page{Title: "Connect your HR data", Nav: "connect", Data: d})
	case errors.As(err, &se):
		cs.render(c, http.StatusBadGateway, "connect", page{Title: "Connect your HR data", Nav: "connect", Data: d,
			Problem: fmt.Sprintf("Could not reach the server (%s): %s. %s", se.Code, se.Error(), se.Fix())})
	case err != nil:
		cs.fail(c, err)
	default:
		d.Created = &connectCreated{Connection: conn}
		cs.render(c, http.StatusCreated, "connect", page{Title: "Connect your HR data", Nav: "connect", Data: d})
	}
}

// connectAPI makes a connection to the employer's HRIS API with a
// built-in connector: parameters and credentials as key=value lines. A
// connector that signs in with OAuth answers with the consent link for
// the employer's HRIS admin.
func (cs *consoleServer) connectAPI(c *gin.Context) {
	params, err1 := keyValues(c.PostForm("params"))
	secret, err2 := keyValues(c.PostForm("credentials"))
	if err := errors.Join(err1, err2); err != nil {
		cs.errorPage(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	cfg := map[string]any{}
	if len(params) > 0 {
		cfg["params"] = params
	}
	if u := strings.TrimSpace(c.PostForm("base_url")); u != "" {
		cfg["base_url"] = u
	}
	nc := bridge.NewConnection{Name: strings.TrimSpace(c.PostForm("name")), Kind: schema.ConnAPI, Layout: c.PostForm("connector"),
		Config: cfg, Secret: secret, Schedule: strings.TrimSpace(c.PostForm("schedule"))}
	conn, err := cs.createConnection(c, nc)
	if err != nil {
		cs.fail(c, err)
		return
	}
	d, ok := cs.connectData(c)
	if !ok {
		return
	}
	d.Created = &connectCreated{Connection: conn}
	if u, err := cs.s.cfg.Connections.AuthorizeURL(c.Request.Context(), conn, callbackURL(c)); err == nil {
		d.Created.Authorize = u
		cs.audit(c, conn.TenantID, "connection.authorize", conn.ID)
	}
	cs.render(c, http.StatusCreated, "connect", page{Title: "Connect your HR data", Nav: "connect", Data: d})
}

// keyValues reads "key=value" lines.
func keyValues(text string) (map[string]string, error) {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("write each setting as key=value, not %q", line)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}
