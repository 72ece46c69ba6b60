// Package connector pulls records from modern HRIS APIs, described by
// declarative definitions (YAML: requests, authentication, pagination,
// incremental sync and a field mapping in the layouts' vocabulary, with
// jq expressions where a field needs more than a path). The runtime is
// generic: no code branches on a provider.
//
// A fetch writes what it read as a CSV whose columns are the mapped
// fields, and Layout describes that CSV; the bridge ingests it as it
// ingests a file drop, so an API record goes through the same validation,
// change detection, guards, events and storage as a file row.
package connector

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/itchyny/gojq"
	"gopkg.in/yaml.v3"

	"github.com/hrisbridge/hrisbridge/parsers"
)

//go:embed definitions/*.yaml
var builtins embed.FS

// Definition describes one provider's API.
type Definition struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
	// BaseURL may use {name} for a connection parameter
	// (config.params), e.g. https://api.bamboohr.com/api/gateway.php/{company}/v1.
	BaseURL string `yaml:"base_url"`
	Auth    Auth   `yaml:"auth"`
	// FullSyncEvery forces a full sync (which catches deletions) when the
	// last one is older; the syncs between are incremental. Default 24h.
	FullSyncEvery Duration `yaml:"full_sync_every,omitempty"`
	// RequestsPerSecond caps this connection's request rate (default 5).
	RequestsPerSecond float64 `yaml:"requests_per_second,omitempty"`
	// Webhook, when set, lets the provider announce changes: a verified
	// call queues an incremental sync.
	Webhook *Webhook `yaml:"webhook,omitempty"`
	// Entities: employee (required), and dependent, enrollment,
	// benefit_plan where the API has them.
	Entities map[string]*Entity `yaml:"entities"`
}

// Auth is how requests authenticate. Values may use {secret.NAME} and
// {NAME} (connection parameters).
type Auth struct {
	// Type is api_key, basic, oauth2_client_credentials or
	// oauth2_authorization_code.
	Type string `yaml:"type"`
	// In (header or query) and Name place an api_key; Value is its value.
	In    string `yaml:"in,omitempty"`
	Name  string `yaml:"name,omitempty"`
	Value string `yaml:"value,omitempty"`
	// Username and Password of basic auth.
	Username string `yaml:"username,omitempty"`
	Password string `yaml:"password,omitempty"`
	// AuthURL, TokenURL and Scopes of OAuth 2 (a URL that starts with /
	// is on the base URL's host); the client id and secret are the
	// connection's secret client_id and client_secret.
	AuthURL  string   `yaml:"auth_url,omitempty"`
	TokenURL string   `yaml:"token_url,omitempty"`
	Scopes   []string `yaml:"scopes,omitempty"`
}

// Webhook is a provider's signed change notification.
type Webhook struct {
	// Header carries the signature: hex (or base64 with Encoding
	// base64) HMAC-SHA256 of the body under the connection's secret
	// webhook_secret, optionally after Prefix ("sha256=").
	Header   string `yaml:"header"`
	Prefix   string `yaml:"prefix,omitempty"`
	Encoding string `yaml:"encoding,omitempty"`
}

// Entity is how one kind of record is read.
type Entity struct {
	Request Request `yaml:"request"`
	// Records is a jq expression yielding the records of a response
	// body, one by one (".employees[]").
	Records    string     `yaml:"records"`
	Pagination Pagination `yaml:"pagination,omitempty"`
	// Incremental, when set, asks only for records changed since the last
	// successful sync.
	Incremental *Incremental `yaml:"incremental,omitempty"`
	// Fields map normalized fields to the record: each has jq (an
	// expression over one record) and the layouts' type, formats, codes,
	// default, case and required.
	Fields map[string]*Field `yaml:"fields"`
	// Custom maps custom field names to jq expressions.
	Custom map[string]string `yaml:"custom,omitempty"`
}

// Request is one page's request. Path, Query values and Body may use
// {name} for connection parameters.
type Request struct {
	Method string            `yaml:"method,omitempty"` // default GET
	Path   string            `yaml:"path"`
	Query  map[string]string `yaml:"query,omitempty"`
	// Body is a JSON body (a POST report request).
	Body string `yaml:"body,omitempty"`
}

// Pagination is one of: none, offset (OffsetParam, LimitParam, Size),
// page (PageParam, SizeParam, Size; the last page is short, or
// TotalPagesHeader says), cursor (CursorParam and the next cursor from
// the body, CursorPath, or a header, CursorHeader), link (the Link header's
// rel="next").
type Pagination struct {
	Type             string `yaml:"type,omitempty"`
	Size             int    `yaml:"size,omitempty"`
	OffsetParam      string `yaml:"offset_param,omitempty"`
	LimitParam       string `yaml:"limit_param,omitempty"`
	PageParam        string `yaml:"page_param,omitempty"`
	SizeParam        string `yaml:"size_param,omitempty"`
	FirstPage        int    `yaml:"first_page,omitempty"` // default 1
	TotalPagesHeader string `yaml:"total_pages_header,omitempty"`
	CursorParam      string `yaml:"cursor_param,omitempty"`
	CursorPath       string `yaml:"cursor_path,omitempty"`
	CursorHeader     string `yaml:"cursor_header,omitempty"`
}

// Incremental names the query parameter that carries the time of the
// last successful sync, in Format (a Go time layout; default RFC 3339);
// or Body, a request body used instead of the full sync's, where {since}
// stands for that time.
type Incremental struct {
	Param  string `yaml:"param,omitempty"`
	Format string `yaml:"format,omitempty"`
	Body   string `yaml:"body,omitempty"`
}

// Field is a layout field read from a record by a jq expression.
type Field struct {
	JQ            string `yaml:"jq"`
	parsers.Field `yaml:",inline"`
	code          *gojq.Code
}

// Duration is a time.Duration in YAML ("168h").
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 24h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes a duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Builtins lists the built-in definitions.
func Builtins() []string {
	es, _ := builtins.ReadDir("definitions")
	var out []string
	for _, e := range es {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// BuiltinYAML returns a built-in definition's YAML.
func BuiltinYAML(name string) ([]byte, error) {
	b, err := builtins.ReadFile("definitions/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no built-in connector %q (built in: %s)", name, strings.Join(Builtins(), ", "))
	}
	return b, nil
}

// Resolve builds the effective definition name from the built-in one and
// the tenant's and connection's overrides (YAML, deep-merged as layout
// overrides are; nil when absent). Without a built-in, the first override
// present must be a whole definition.
func Resolve(name string, tenant, connection []byte) (*Definition, error) {
	base, berr := BuiltinYAML(name)
	merged, err := parsers.MergeOverrides(base, berr, tenant, connection)
	switch {
	case err == berr && err != nil:
		return nil, err // no such connector
	case err != nil:
		return nil, fmt.Errorf("connector %s: %w", name, err)
	}
	d, err := Parse(merged)
	if err != nil {
		return nil, err
	}
	if d.Name != name {
		return nil, fmt.Errorf("connector %s: an override may not rename it (name: %s)", name, d.Name)
	}
	return d, nil
}

// entityOrder is the order a sync reads entities in: plans before the
// enrollments that name them, employees before their dependents.
var entityOrder = []string{"benefit_plan", "employee", "dependent", "enrollment"}

// Parse reads and checks a definition, compiling its expressions.
func Parse(b []byte) (*Definition, error) {
	var d Definition
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("connector definition: %w", err)
	}
	if d.Name == "" || d.BaseURL == "" {
		return nil, fmt.Errorf("connector definition: name and base_url are required")
	}
	switch d.Auth.Type {
	case "api_key", "basic", "oauth2_client_credentials", "oauth2_authorization_code":
	default:
		return nil, fmt.Errorf("connector %s: auth.type %q is not api_key, basic, oauth2_client_credentials or oauth2_authorization_code", d.Name, d.Auth.Type)
	}
	if d.Entities["employee"] == nil {
		return nil, fmt.Errorf("connector %s: entities.employee is required", d.Name)
	}
	for name, e := range d.Entities {
		if !slices.Contains(entityOrder, name) {
			return nil, fmt.Errorf("connector %s: entity %q is not one of %s", d.Name, name, strings.Join(entityOrder, ", "))
		}
		if err := e.compile(); err != nil {
			return nil, fmt.Errorf("connector %s, %s: %w", d.Name, name, err)
		}
	}
	return &d, nil
}

func (e *Entity) compile() error {
	switch e.Pagination.Type {
	case "", "none", "offset", "page", "cursor", "link":
	default:
		return fmt.Errorf("pagination.type %q is not none, offset, page, cursor or link", e.Pagination.Type)
	}
	if e.Request.Path == "" || e.Records == "" {
		return fmt.Errorf("request.path and records are required")
	}
	for name, f := range e.Fields {
		if f == nil || f.JQ == "" {
			return fmt.Errorf("field %s: jq is required (a jq expression over one record)", name)
		}
		code, err := compileJQ(f.JQ)
		if err != nil {
			return fmt.Errorf("field %s: %w", name, err)
		}
		f.code = code
	}
	return nil
}

func compileJQ(expr string) (*gojq.Code, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("jq %q: %w", expr, err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, fmt.Errorf("jq %q: %w", expr, err)
	}
	return code, nil
}

// Columns are the CSV columns of an entity's fetch: its fields, then its
// custom fields, each in name order.
func (e *Entity) Columns() []string {
	var fields, custom []string
	for name := range e.Fields {
		fields = append(fields, name)
	}
	for name := range e.Custom {
		custom = append(custom, name)
	}
	sort.Strings(fields)
	sort.Strings(custom)
	return append(fields, custom...)
}

// Layout describes the CSV a fetch of entity writes: each field read from
// the column of its own name with the definition's type, formats and
// codes; the custom columns become custom fields. mode is full or delta.
func (d *Definition) Layout(entity, mode string) (*parsers.Layout, error) {
	e := d.Entities[entity]
	if e == nil {
		return nil, fmt.Errorf("connector %s has no %s entity", d.Name, entity)
	}
	l := &parsers.Layout{Name: d.Name + "." + entity, Entity: entity, Mode: mode, Format: "csv", Encoding: "utf-8",
		Fields: map[string]*parsers.Field{}}
	for name, f := range e.Fields {
		pf := f.Field
		pf.Columns = []string{name}
		l.Fields[name] = &pf
	}
	b, err := yaml.Marshal(l)
	if err != nil {
		return nil, err
	}
	return parsers.ParseLayout(b) // checked and defaulted as any layout
}

// Digest identifies the definition's content (its mapping, requests and
// auth), so that a sync can tell the mapping changed since the last full
// read.
func (d *Definition) Digest() string {
	b, _ := yaml.Marshal(d)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
