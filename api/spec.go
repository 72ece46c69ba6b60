package api

import (
	"mime/multipart"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/schema"
)

// The request and response types of the routes. The route table names
// them, the handlers decode and encode them, and /openapi.json is
// reflected from them (swaggest/openapi-go): tags path and query declare
// parameters, json the body; description, enum, minimum, maximum, default
// and format document them.

// opDoc is what the document says of a route beyond its path and summary.
type opDoc struct {
	in   any     // a zero request: path and query parameters, JSON body
	body string  // a raw request body's media types, comma-separated ("" when none or JSON)
	out  []reply // the success answers
	errs []int   // the problem statuses the route itself answers (authentication, scope, rate limit and 500 are added by its access)
}

type reply struct {
	status int
	body   any    // nil: no body
	ctype  string // "" is application/json
}

func op(in any, out ...reply) opDoc { return opDoc{in: in, out: out} }

func (d opDoc) errors(statuses ...int) opDoc { d.errs = statuses; return d }

func (d opDoc) raw(ctypes string) opDoc { d.body = ctypes; return d }

func ok(body any) reply       { return reply{status: 200, body: body} }
func created(body any) reply  { return reply{status: 201, body: body} }
func accepted(body any) reply { return reply{status: 202, body: body} }

var noContent = reply{status: 204}

// notModified answers a conditional GET of a single resource (ETag).
var notModified = reply{status: 304}

// Parameters.

type noParams struct{}

type idPath struct {
	ID string `path:"id" description:"The resource's id."`
}

type namePath struct {
	Name string `path:"name" description:"The layout's name, e.g. census-csv."`
}

type usernamePath struct {
	Username string `path:"username" description:"The drop box login's user name."`
}

type pageQuery struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50" description:"Page size."`
	Cursor string `query:"cursor" description:"The next_cursor of the previous page."`
}

type employeeParams struct {
	pageQuery
	EmploymentStatus string `query:"employment_status" enum:"active,leave,terminated,retired,deceased,prehire"`
	EmploymentType   string `query:"employment_type" enum:"full_time,part_time,temporary,seasonal,contractor,intern"`
	Department       string `query:"department" description:"Exact department."`
	Location         string `query:"location" description:"Exact location."`
	ExternalID       string `query:"external_id" description:"The source system's employee id."`
	ConnectionID     string `query:"connection_id" description:"Employees last delivered by this connection."`
	HiredAfter       string `query:"hired_after" format:"date" description:"Hired after this date (exclusive)."`
	TerminatedAfter  string `query:"terminated_after" format:"date" description:"Terminated after this date (exclusive)."`
	UpdatedSince     string `query:"updated_since" format:"date-time" description:"Changed at or after this time."`
	Sort             string `query:"sort" enum:"id,updated_at" default:"id" description:"id, or updated_at for incremental reads."`
	Format           string `query:"format" enum:"csv" description:"csv for a CSV export of every match (as Accept: text/csv)."`
}

type employeeGet struct {
	idPath
	Include string `query:"include" description:"Comma-separated relations to embed: dependents, enrollments." example:"dependents,enrollments"`
}

type employeeRecordsQuery struct {
	pageQuery
	EmployeeID string `query:"employee_id" description:"One employee's records."`
}

type connectionListQuery struct {
	pageQuery
	ConnectionID string `query:"connection_id" description:"One connection's."`
}

type auditQuery struct {
	pageQuery
	Action string `query:"action" description:"An action, or a family like key."`
	Actor  string `query:"actor" description:"Who: a key's prefix or a CLI user."`
	Since  string `query:"since" format:"date-time"`
	Until  string `query:"until" format:"date-time"`
}

type connectionScopeQuery struct {
	ConnectionID string `query:"connection_id" description:"The connection whose override (on top of the tenant's) applies."`
}

type layoutGet struct {
	namePath
	connectionScopeQuery
}

type layoutPut struct {
	namePath
	connectionScopeQuery
}

type uploadParams struct {
	idPath
	Name string `query:"name" description:"The file's name, for a raw-body upload."`
	Wait bool   `query:"wait" description:"true: ingest now and answer the outcome (200) instead of 202."`
}

type inferParams struct {
	Entity string `query:"entity" enum:"employee,dependent,benefit_plan,enrollment" default:"employee" description:"What the sample's rows are."`
	Name   string `query:"name" description:"The proposed layout's name."`
}

type validateParams struct {
	Layout       string `query:"layout" description:"A layout's name; or send one as a multipart layout part."`
	ConnectionID string `query:"connection_id" description:"Validate with this connection's effective layout."`
	Name         string `query:"name" description:"The file's name."`
}

type releaseParams struct {
	idPath
	Overwrite bool `query:"overwrite" description:"Apply even though files of its connection applied since it was received."`
}

type deleteConnectionParams struct {
	idPath
	PurgeFiles bool `query:"purge_files" description:"Also delete the kept bytes of its files."`
}

// Bodies.

type createConnectionBody struct{ bridge.NewConnection }

type updateConnectionBody struct {
	idPath
	bridge.ConnectionChange
}

// ScheduleRequest sets a connection's schedule.
type ScheduleRequest struct {
	Schedule string `json:"schedule" description:"Cron expression (5 fields), @every, or \"\" for none." example:"0 6 * * 1-5"`
	TimeZone string `json:"time_zone,omitempty" example:"America/Chicago"`
	CatchUp  string `json:"catch_up,omitempty" enum:"once,skip"`
}

type scheduleBody struct {
	idPath
	ScheduleRequest
}

type windowBody struct{ schema.Window }

// KeyRequest creates an API key.
type KeyRequest struct {
	Name      string     `json:"name" required:"true"`
	Scopes    []string   `json:"scopes" required:"true" minItems:"1" items.enum:"read,pii:read,write"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// EndpointRequest registers a webhook endpoint.
type EndpointRequest struct {
	URL        string   `json:"url" required:"true" format:"uri" example:"https://hooks.example.com/hrisbridge"`
	EventTypes []string `json:"event_types,omitempty" description:"Event types or families (employee.*); none: every event."`
}

// ReplayRequest re-sends one event, or every event since a time.
type ReplayRequest struct {
	EventID string    `json:"event_id,omitempty"`
	Since   time.Time `json:"since,omitempty"`
}

type replayBody struct {
	idPath
	ReplayRequest
}

// Responses.

// Status is the answer of the health routes.
type Status struct {
	Status string `json:"status" enum:"ok,ready"`
}

// ConnectionDeleted is the answer of a connection's deletion.
type ConnectionDeleted struct {
	Deleted     string `json:"deleted"`
	FilesPurged int    `json:"files_purged"`
	FilesKept   bool   `json:"files_kept"`
}

// ConnectionTest is a connection test's outcome: ok with what a pull
// would take, or the failure with its catalog code and fix.
type ConnectionTest struct {
	OK      bool     `json:"ok"`
	HostKey string   `json:"host_key,omitempty"`
	Files   []string `json:"files,omitempty"`
	Code    string   `json:"code,omitempty"`
	Error   string   `json:"error,omitempty"`
	Fix     string   `json:"fix,omitempty"`
}

// UploadAccepted is an upload queued for ingest.
type UploadAccepted struct {
	FileID string `json:"file_id"`
	Status string `json:"status"`
}

// HostKeyProblem is the 409 of an SFTP connection created without a
// confirmed host key: the fingerprint the server presents.
type HostKeyProblem struct {
	Problem
	HostKey string `json:"host_key"`
	KeyType string `json:"key_type"`
}

// RecordErrorFix is a rejected row with the catalog's fix.
type RecordErrorFix struct {
	schema.RecordError
	Fix string `json:"fix"`
}

// csvExport documents the CSV answer of /v1/employees.
type csvExport string

// fileBody documents a raw file body.
type fileBody string

// multipartFile documents a multipart upload's file part.
type multipartFile struct {
	File multipart.File `formData:"file" description:"The file."`
}
