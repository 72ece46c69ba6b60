package schema

import (
	"encoding/json"
	"strings"
	"time"
)

// Tenant is one employer. Every record, file, key and event belongs to
// exactly one tenant.
type Tenant struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// APIKey is a bearer credential. Only the SHA-256 of the key is stored;
// Prefix is the public part used to find it.
type APIKey struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id,omitempty"`
	Name       string     `json:"name,omitempty"`
	Prefix     string     `json:"prefix"`
	Hash       []byte     `json:"-"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// ExpiresAt, when set, is when the key stops working.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Usable reports whether the key may authenticate at now: not revoked,
// not expired.
func (k APIKey) Usable(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// HasScope reports whether the key holds scope; admin implies every scope.
func (k APIKey) HasScope(scope string) bool {
	return contains(k.Scopes, scope) || contains(k.Scopes, ScopeAdmin)
}

// Connection is a source of data for a tenant. Config holds the kind's
// settings (host, directory, patterns, ...) as JSON; Secret holds its
// credentials sealed by the store's secret box and is never served.
type Connection struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Layout   string `json:"layout"`
	Schedule string `json:"schedule,omitempty"`
	// TimeZone is the IANA zone the schedule and windows are read in.
	TimeZone string `json:"time_zone"`
	// CatchUp is what ticks missed while no replica ran do: "once" (one
	// sync at start-up) or "skip".
	CatchUp   string          `json:"catch_up"`
	Config    json.RawMessage `json:"config"`
	Secret    []byte          `json:"-"`
	Enabled   bool            `json:"enabled"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	// LastTickAt is the last scheduled tick enqueued.
	LastTickAt *time.Time `json:"last_tick_at,omitempty"`
	Health     Health     `json:"health"`
}

// Health is a connection's computed health with the reason and what to do.
type Health struct {
	State  string     `json:"state"` // healthy, degraded, failing
	Code   string     `json:"code,omitempty"`
	Reason string     `json:"reason,omitempty"`
	Fix    string     `json:"fix,omitempty"`
	Since  *time.Time `json:"since,omitempty"`
}

// Resolved returns h with an empty state read as healthy and its fix
// taken from the error catalog.
func (h Health) Resolved() Health {
	if h.State == "" {
		h.State = HealthHealthy
	}
	h.Fix = Catalog[h.Code].Fix
	return h
}

// Connection health states.
const (
	HealthHealthy  = "healthy"
	HealthDegraded = "degraded"
	HealthFailing  = "failing"
	// HealthAuthExpired is an API connection whose provider refused its
	// grant (invalid_grant, revoked): only the employer's admin can fix it,
	// by authorizing again.
	HealthAuthExpired = "auth_expired"
)

// Catch-up policies for ticks missed during downtime.
const (
	CatchUpOnce = "once"
	CatchUpSkip = "skip"
)

// Window is an enrollment window: a date range, read in the connection's
// time zone and inclusive of both days, during which Schedule supersedes
// the connection's base schedule. With FinalPull, one more sync runs when
// the window closes. A window without ConnectionID applies to every
// scheduled connection of the tenant.
type Window struct {
	ID           string    `json:"id"`
	TenantID     string    `json:"tenant_id"`
	ConnectionID string    `json:"connection_id,omitempty"`
	Name         string    `json:"name"`
	StartsOn     string    `json:"starts_on"`
	EndsOn       string    `json:"ends_on"`
	Schedule     string    `json:"schedule"`
	FinalPull    bool      `json:"final_pull"`
	CreatedAt    time.Time `json:"created_at"`
}

// AppliesTo reports whether the window covers a connection.
func (w Window) AppliesTo(c Connection) bool {
	return w.TenantID == c.TenantID && (w.ConnectionID == "" || w.ConnectionID == c.ID)
}

// File is one received drop, identified by connection + name + SHA-256.
type File struct {
	ID           string     `json:"id"`
	TenantID     string     `json:"tenant_id"`
	ConnectionID string     `json:"connection_id"`
	Name         string     `json:"name"`
	SHA256       string     `json:"sha256"`
	Size         int64      `json:"size"`
	Layout       string     `json:"layout"`
	Status       string     `json:"status"`
	Rows         int        `json:"rows"`
	Valid        int        `json:"valid"`
	Invalid      int        `json:"invalid"`
	Created      int        `json:"created"`
	Updated      int        `json:"updated"`
	Unchanged    int        `json:"unchanged"`
	Detail       string     `json:"detail,omitempty"`
	ReceivedAt   time.Time  `json:"received_at"`
	AppliedAt    *time.Time `json:"applied_at,omitempty"`
	// Remote identifies a pulled file's source: "path|size|mtime".
	Remote string `json:"remote,omitempty"`
	// Mapped lists, comma-separated and sorted, the layout fields the
	// file's header had a column for: the next file's header is held for
	// schema drift when it lost one of them.
	Mapped string `json:"mapped_fields,omitempty"`
	// ReadAs is the encoding (and delimiter) the file was read with: the
	// layout's, or what the file showed under auto, e.g.
	// "windows-1252, delimiter ;".
	ReadAs string `json:"read_as,omitempty"`
}

// SyncRun is one execution for a connection.
type SyncRun struct {
	ID           string     `json:"id"`
	TenantID     string     `json:"tenant_id"`
	ConnectionID string     `json:"connection_id"`
	Trigger      string     `json:"trigger"`
	Status       string     `json:"status"`
	Files        int        `json:"files"`
	Rows         int        `json:"rows"`
	Error        string     `json:"error,omitempty"`
	ErrorCode    string     `json:"error_code,omitempty"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	// JobID is the durable job behind the run; Attempt counts its tries.
	JobID   int64 `json:"job_id,omitempty"`
	Attempt int   `json:"attempt,omitempty"`
	// ScheduledFor is the tick a scheduled run was planned for.
	ScheduledFor *time.Time `json:"scheduled_for,omitempty"`
	// FileID is the file a replay re-ran.
	FileID string `json:"file_id,omitempty"`
}

// Sync run statuses. A run is queued until a worker takes its job,
// retrying between failed attempts, and failed once attempts run out.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunRetrying  = "retrying"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// Sync run triggers.
const (
	TriggerScheduled = "scheduled"
	TriggerWindow    = "window"
	TriggerFinalPull = "window_close"
	TriggerCatchUp   = "catch_up"
	TriggerManual    = "manual"
	TriggerReplay    = "replay"
	TriggerUpload    = "upload"
	TriggerWebhook   = "webhook" // a provider announced changes (API connections)
)

// RecordError is one rejected row of a file, positioned so a person can
// find and fix it.
type RecordError struct {
	FileID   string `json:"file_id"`
	Line     int    `json:"line"`
	RecordID string `json:"record,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// Event is one change written to the outbox in the same transaction as the
// data it describes.
type Event struct {
	ID         string          `json:"id"`
	Seq        int64           `json:"seq"`
	TenantID   string          `json:"tenant_id"`
	Type       string          `json:"type"`
	Subject    string          `json:"subject"`
	Data       json.RawMessage `json:"data"`
	FileID     string          `json:"file_id,omitempty"`
	OccurredAt time.Time       `json:"occurred_at"`
}

// AuditEntry records who read unmasked PII or changed configuration.
type AuditEntry struct {
	ID       int64     `json:"id"`
	TenantID string    `json:"tenant_id"`
	KeyID    string    `json:"key_id,omitempty"`
	Actor    string    `json:"actor,omitempty"`
	Action   string    `json:"action"`
	Resource string    `json:"resource"`
	At       time.Time `json:"at"`
}

// AuditQuery filters the audit log; zero fields filter nothing.
type AuditQuery struct {
	// Action is an action ("pii.read", "key.revoke") or a family of them
	// ending in a dot ("key.").
	Action string
	// Actor is a key id or a CLI actor ("cli:alice").
	Actor        string
	Since, Until time.Time
	// Before pages: entries older than the entry with this id.
	Before int64
	Limit  int
}

// Drop box rights.
const (
	RightUpload = "upload"
	RightList   = "list"
	RightRead   = "read"
	RightDelete = "delete"
)

// DropboxRights are the rights a drop box login may have.
var DropboxRights = []string{RightUpload, RightList, RightRead, RightDelete}

// RightsText is rights as stored: upload first, then the others the login
// has, in DropboxRights order.
func RightsText(rights []string) string {
	out := []string{RightUpload}
	for _, r := range DropboxRights[1:] {
		if contains(rights, r) {
			out = append(out, r)
		}
	}
	return strings.Join(out, ",")
}

// Can reports whether the login has a right.
func (a DropboxAccount) Can(right string) bool {
	return right == RightUpload || contains(a.Rights, right)
}

// DropboxAccount is a login to hrisbridge's own SFTP drop box. Files it
// uploads enter the pipeline as deliveries of its connection.
type DropboxAccount struct {
	ID           string `json:"id"`
	TenantID     string `json:"tenant_id"`
	ConnectionID string `json:"connection_id"`
	Username     string `json:"username"`
	// PasswordHash is a bcrypt hash; empty disables password login.
	PasswordHash []byte `json:"-"`
	// AuthorizedKeys holds OpenSSH authorized_keys lines.
	AuthorizedKeys string `json:"authorized_keys,omitempty"`
	// Rights are what the login may do in its inbox: upload (always),
	// list, read (download) and delete. Inbox files hold SSNs: a login
	// is upload-only unless given more.
	Rights []string `json:"rights"`
	// MaxBytes caps one upload; 0 means the server's limit.
	MaxBytes  int64     `json:"max_bytes"`
	CreatedAt time.Time `json:"created_at"`
}

// WebhookEndpoint receives a tenant's change events, signed per Standard
// Webhooks, in sequence order.
type WebhookEndpoint struct {
	ID         string   `json:"id"`
	TenantID   string   `json:"tenant_id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types,omitempty"`
	// Secret is the whsec_ signing secret, sealed at rest and shown once.
	Secret  string `json:"secret,omitempty"`
	Enabled bool   `json:"enabled"`
	// Delivery state: the last event delivered, attempts at the next one.
	LastSeq        int64      `json:"last_seq"`
	Attempt        int        `json:"attempt"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	FailingSince   *time.Time `json:"failing_since,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
}

// Wants reports whether the endpoint subscribes to an event type: no
// filter means all; "employee.*" matches a family.
func (w *WebhookEndpoint) Wants(typ string) bool {
	if len(w.EventTypes) == 0 {
		return true
	}
	for _, t := range w.EventTypes {
		if t == typ || len(t) > 1 && t[len(t)-1] == '*' && len(typ) >= len(t)-1 && typ[:len(t)-1] == t[:len(t)-1] {
			return true
		}
	}
	return false
}

// WebhookDelivery is one attempt to deliver one event.
type WebhookDelivery struct {
	ID             string    `json:"id"`
	TenantID       string    `json:"tenant_id"`
	EndpointID     string    `json:"endpoint_id"`
	EventSeq       int64     `json:"event_seq"`
	EventID        string    `json:"event_id"`
	Attempt        int       `json:"attempt"`
	Status         string    `json:"status"` // succeeded, failed
	ResponseStatus int       `json:"response_status,omitempty"`
	Error          string    `json:"error,omitempty"`
	DurationMS     int       `json:"duration_ms"`
	CreatedAt      time.Time `json:"created_at"`
}
