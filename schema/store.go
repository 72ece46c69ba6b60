package schema

import (
	"context"
	"time"
)

// Store is the storage contract that the PostgreSQL store (production) and
// the SQLite store (embedded default) both satisfy; schema/storetest proves
// it against both. Every method scoped to a tenant takes the tenant id and
// never returns another tenant's rows. Lookups that find nothing return
// ErrNotFound; unique violations return ErrDuplicate.
type Store interface {
	// Migrate applies the embedded forward-only migrations.
	Migrate(ctx context.Context) error
	// Ready reports whether the store is reachable and fully migrated.
	Ready(ctx context.Context) error
	Close()

	ConsoleStore

	CreateTenant(ctx context.Context, t *Tenant) error
	TenantBySlug(ctx context.Context, slug string) (Tenant, error)
	Tenants(ctx context.Context) ([]Tenant, error)

	CreateAPIKey(ctx context.Context, k *APIKey) error
	APIKeyByPrefix(ctx context.Context, prefix string) (APIKey, error)
	// APIKeys lists a tenant's keys, or every key when tenantID is empty,
	// newest first, without their hashes.
	APIKeys(ctx context.Context, tenantID string) ([]APIKey, error)
	// RevokeAPIKey revokes a key by id or prefix (of the tenant, when
	// tenantID is set); ErrNotFound when there is no such unrevoked key.
	RevokeAPIKey(ctx context.Context, tenantID, idOrPrefix string) (APIKey, error)
	// TouchAPIKey records that a key was used at t.
	TouchAPIKey(ctx context.Context, id string, t time.Time) error

	CreateConnection(ctx context.Context, c *Connection) error
	// Connection finds a tenant's connection by id or name.
	Connection(ctx context.Context, tenantID, idOrName string) (Connection, error)
	// UpdateConnection replaces a connection's layout, config, sealed
	// secret and enabled flag.
	UpdateConnection(ctx context.Context, c *Connection) error
	// DeleteConnection removes a connection: it stops being listed,
	// scheduled and pulled, its drop box logins and windows go, and its
	// name is free again; its files, runs and records stay as history.
	DeleteConnection(ctx context.Context, tenantID, id string) error
	// UpdateConnectionConfig replaces a connection's settings.
	UpdateConnectionConfig(ctx context.Context, tenantID, id string, config []byte) error
	// Connections lists a tenant's connections, or every tenant's when
	// tenantID is empty (the scheduler's view).
	Connections(ctx context.Context, tenantID string) ([]Connection, error)
	// UpdateConnectionSchedule sets a connection's schedule, time zone and
	// catch-up policy, and restarts its tick clock from now.
	UpdateConnectionSchedule(ctx context.Context, tenantID, id, schedule, timeZone, catchUp string) error
	// AdvanceTick moves a connection's last enqueued tick from from (nil:
	// none yet) to to, and reports whether this call moved it: replicas
	// racing for one tick see exactly one true.
	AdvanceTick(ctx context.Context, id string, from *time.Time, to time.Time) (bool, error)
	// ClaimConnection takes a connection's sync lease for owner until the
	// given time, unless another owner holds an unexpired one.
	ClaimConnection(ctx context.Context, id, owner string, until time.Time) (bool, error)
	// ReleaseConnection gives the lease back if owner holds it.
	ReleaseConnection(ctx context.Context, id, owner string) error
	// SetConnectionHealth stores a connection's health and, when e is not
	// nil, the event announcing the change, in one transaction.
	SetConnectionHealth(ctx context.Context, id string, h Health, e *Event) error

	// CreateWindow stores an enrollment window.
	CreateWindow(ctx context.Context, w *Window) error
	// Windows lists a tenant's windows, or every tenant's when tenantID is
	// empty (the scheduler's view), by start date.
	Windows(ctx context.Context, tenantID string) ([]Window, error)
	DeleteWindow(ctx context.Context, tenantID, id string) error

	// PutLayout stores a layout override (YAML) for a tenant, or for one
	// connection of it when connectionID is set, replacing the previous one.
	PutLayout(ctx context.Context, tenantID, connectionID, name string, body []byte) error
	// Layout returns the stored override at that scope, or ErrNotFound.
	Layout(ctx context.Context, tenantID, connectionID, name string) ([]byte, error)

	CreateDropboxAccount(ctx context.Context, a *DropboxAccount) error
	// DropboxAccount finds an account by user name, across tenants (it is
	// what the SFTP server authenticates).
	DropboxAccount(ctx context.Context, username string) (DropboxAccount, error)
	// DropboxAccounts lists a tenant's logins by user name.
	DropboxAccounts(ctx context.Context, tenantID string) ([]DropboxAccount, error)
	// UpdateDropboxAccount replaces a login's credentials and limits.
	UpdateDropboxAccount(ctx context.Context, a *DropboxAccount) error
	DeleteDropboxAccount(ctx context.Context, tenantID, username string) error

	CreateWebhookEndpoint(ctx context.Context, w *WebhookEndpoint) error
	// WebhookEndpoints lists a tenant's endpoints, or every tenant's when
	// tenantID is empty (the dispatcher's view), with secrets opened.
	WebhookEndpoints(ctx context.Context, tenantID string) ([]WebhookEndpoint, error)
	DeleteWebhookEndpoint(ctx context.Context, tenantID, id string) error
	// ClaimWebhookEndpoint takes the endpoint's delivery lease for owner
	// until the given time, unless another owner holds an unexpired one.
	ClaimWebhookEndpoint(ctx context.Context, id, owner string, until time.Time) (bool, error)
	// SaveWebhookState stores an endpoint's delivery state and enabled flag.
	SaveWebhookState(ctx context.Context, w *WebhookEndpoint) error
	RecordDelivery(ctx context.Context, d *WebhookDelivery) error
	WebhookDeliveries(ctx context.Context, tenantID string, q ListQuery) ([]WebhookDelivery, error)
	// EventByID finds one of a tenant's events.
	EventByID(ctx context.Context, tenantID, id string) (Event, error)
	// FirstEventSince returns the sequence of the tenant's first event at
	// or after t (ErrNotFound when none).
	FirstEventSince(ctx context.Context, tenantID string, t time.Time) (int64, error)
	// AppendEvent writes an event outside an ingest (notices).
	AppendEvent(ctx context.Context, e *Event) error

	// BeginIngest opens the one transaction in which a file is applied and
	// inserts its files row there. It returns ErrDuplicate when the
	// connection already has a file with the same SHA-256.
	BeginIngest(ctx context.Context, f *File) (Ingest, error)
	// RecordFile stores a file that was not applied (rejected, failed,
	// duplicate) with the record errors that explain it, in one
	// transaction of its own.
	RecordFile(ctx context.Context, f *File, errs []RecordError) error
	FileBySHA256(ctx context.Context, connectionID, sha string) (File, error)
	File(ctx context.Context, tenantID, id string) (File, error)
	// SeenRemote reports whether the connection already received the
	// remote file (same path, size and mtime) and recorded it.
	SeenRemote(ctx context.Context, connectionID, remote string) (bool, error)
	// SetFileStatus moves a file from status from to status to (a held
	// file's release or discard), or returns ErrNotFound when the tenant
	// has no such file in status from.
	SetFileStatus(ctx context.Context, tenantID, id, from, to, detail string) error
	// Files and SyncRuns list newest first; q.Cursor is the last id seen;
	// q.ConnectionID narrows them to one connection.
	Files(ctx context.Context, tenantID string, q ListQuery) ([]File, error)
	RecordErrors(ctx context.Context, tenantID, fileID string) ([]RecordError, error)

	// QueueSyncRun records the run of a job that is waiting for a worker;
	// if the job's run exists already (a worker was faster), r is filled
	// from it.
	QueueSyncRun(ctx context.Context, r *SyncRun) error
	// StartSyncRun records a run as running. A run with a JobID is the
	// job's one run: a later attempt takes the same row over.
	StartSyncRun(ctx context.Context, r *SyncRun) error
	FinishSyncRun(ctx context.Context, r *SyncRun) error
	SyncRun(ctx context.Context, tenantID, id string) (SyncRun, error)
	// SyncRuns lists runs newest first, of one connection when
	// q.ConnectionID is set.
	SyncRuns(ctx context.Context, tenantID string, q ListQuery) ([]SyncRun, error)

	Employees(ctx context.Context, tenantID string, q EmployeeQuery) ([]Employee, error)
	// Dependents, BenefitPlans and Enrollments page a tenant's records in
	// id order after q.Cursor, optionally of one employee.
	Dependents(ctx context.Context, tenantID string, q ListQuery) ([]Dependent, error)
	BenefitPlans(ctx context.Context, tenantID string, q ListQuery) ([]BenefitPlan, error)
	Enrollments(ctx context.Context, tenantID string, q ListQuery) ([]Enrollment, error)
	Employee(ctx context.Context, tenantID, id string) (Employee, error)
	Events(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]Event, error)

	Audit(ctx context.Context, e AuditEntry) error
	// AuditLog lists a tenant's audit entries (every tenant's when
	// tenantID is empty), newest first.
	AuditLog(ctx context.Context, tenantID string, q AuditQuery) ([]AuditEntry, error)
}

// Ingest is one file's apply transaction. The caller (bridge) decides
// what is new, changed, unchanged or gone and which events follow; the
// store writes the rows and events it is handed. Nothing is visible until
// Commit; Rollback (or a crash) leaves the store as it was. A store may
// send writes in the background (PostgreSQL overlaps its COPY with the
// caller's parsing); every read waits for them.
type Ingest interface {
	// Generation numbers the tenant's ingests: one more than the last
	// committed one's (a rolled-back ingest's number is used again). A
	// caller that kept what it learnt from ingest g-1 knows that nothing
	// else has written the tenant's employees since.
	Generation() int64
	// Baseline reports whether no file was applied on the file's
	// connection before this one; with kind set, no file whose layout is
	// kind or kind+"/delta" (an API connection's reads of one entity).
	Baseline(ctx context.Context, kind string) (bool, error)
	// EmployeeIndex streams the tenant's employees as change detection
	// needs them, after passing their number to size.
	EmployeeIndex(ctx context.Context, size func(int), fn func(IndexEntry) error) error
	// EmployeesByExternalID returns the tenant's stored employees with
	// these external ids (the missing ones left out), in no order.
	EmployeesByExternalID(ctx context.Context, externalIDs []string) ([]Employee, error)
	// InsertEmployees adds employees new to the tenant, with the ids,
	// hashes and connection they carry. It copies what it needs.
	InsertEmployees(ctx context.Context, es []*Employee) error
	// UpdateEmployees replaces stored employees, keyed by (tenant,
	// external_id): every field, the connection, the missing flag and
	// both hashes. It copies what it needs.
	UpdateEmployees(ctx context.Context, es []*Employee) error
	// SetSourceHashes records the raw-record hash an unchanged employee
	// was last read from; it changes nothing else.
	SetSourceHashes(ctx context.Context, externalIDs []string, sources []uint64) error

	// EmployeeID resolves an employee's external id (ErrNoEmployee).
	EmployeeID(ctx context.Context, externalID string) (string, error)
	// Dependents returns an employee's dependents.
	Dependents(ctx context.Context, employeeID string) ([]Dependent, error)
	// SaveDependent inserts (isNew) or updates, by id, a dependent.
	SaveDependent(ctx context.Context, d *Dependent, isNew bool) error
	// DeleteDependent removes a dependent.
	DeleteDependent(ctx context.Context, id string) error
	// Plan returns the tenant's plan with that code (ErrNoPlan).
	Plan(ctx context.Context, code string) (BenefitPlan, error)
	// SavePlan inserts (isNew) or updates, by id, a plan.
	SavePlan(ctx context.Context, p *BenefitPlan, isNew bool) error
	// Enrollments returns an employee's enrollments.
	Enrollments(ctx context.Context, employeeID string) ([]Enrollment, error)
	// SaveEnrollment inserts (isNew) or updates, by id, an enrollment.
	SaveEnrollment(ctx context.Context, n *Enrollment, isNew bool) error

	// AppendEvents writes events to the tenant's feed, numbering them
	// after the last one, with the file's id and the ingest's time.
	AppendEvents(ctx context.Context, es []Event) error
	PutRecordError(ctx context.Context, e RecordError) error
	// Commit stores the file's final counts and status and commits.
	Commit(ctx context.Context, f *File) error
	Rollback(ctx context.Context) error
}

// IndexEntry is one stored employee as change detection sees it.
type IndexEntry struct {
	ExternalID string
	Hash       uint64
	SourceHash uint64
	// SameConnection is set when the employee came from the file's
	// connection.
	SameConnection bool
	Missing        bool
}

// EmployeeQuery selects a page of employees in id order. Empty filters
// match everything.
type EmployeeQuery struct {
	AfterID          string
	Limit            int
	EmploymentStatus string
	EmploymentType   string
	Department       string
	Location         string
	ExternalID       string
	ConnectionID     string
	// HiredAfter and TerminatedAfter are YYYY-MM-DD, exclusive.
	HiredAfter      string
	TerminatedAfter string
	UpdatedSince    time.Time
	// ByUpdated orders by (updated_at, id) instead of id; the page then
	// starts after (AfterUpdated, AfterID).
	ByUpdated    bool
	AfterUpdated time.Time
}

// ListQuery pages other lists.
type ListQuery struct {
	Cursor     string
	Limit      int
	EmployeeID string
	// ConnectionID narrows files and sync runs to one connection.
	ConnectionID string
}

// Sealer encrypts secrets and PII at rest (SSNs, connection credentials).
type Sealer interface {
	Seal(plain []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}
