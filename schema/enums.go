package schema

// The enums below are lowercase snake_case, as in PRODUCT.md. Each has a list
// of its valid values so validation and code maps can check membership.

// Gender values.
const (
	GenderFemale      = "female"
	GenderMale        = "male"
	GenderNonbinary   = "nonbinary"
	GenderOther       = "other"
	GenderUndisclosed = "undisclosed"
)

// Employment status values.
const (
	StatusActive     = "active"
	StatusLeave      = "leave"
	StatusTerminated = "terminated"
	StatusRetired    = "retired"
	StatusDeceased   = "deceased"
	StatusPrehire    = "prehire"
)

// Enum value sets, by field name as it appears in records.
var (
	Genders            = []string{GenderFemale, GenderMale, GenderNonbinary, GenderOther, GenderUndisclosed}
	EmploymentStatuses = []string{StatusActive, StatusLeave, StatusTerminated, StatusRetired, StatusDeceased, StatusPrehire}
	EmploymentTypes    = []string{"full_time", "part_time", "temporary", "seasonal", "contractor", "intern"}
	PayFrequencies     = []string{"weekly", "biweekly", "semimonthly", "monthly", "annual"}
	Relationships      = []string{"spouse", "domestic_partner", "child", "stepchild", "foster_child", "ward", "other"}
	PlanTypes          = []string{"medical", "dental", "vision", "life", "add", "std", "ltd", "hsa", "fsa", "dcfsa", "hra", "retirement", "other"}
	CoverageTiers      = []string{"employee", "employee_spouse", "employee_children", "family", "waived"}
	EnrollmentStatuses = []string{"active", "waived", "terminated", "pending"}
)

// Scopes an API key may hold.
const (
	ScopeRead    = "read"
	ScopePIIRead = "pii:read"
	ScopeWrite   = "write"
	ScopeAdmin   = "admin"
)

// Scopes lists every valid API key scope.
var Scopes = []string{ScopeRead, ScopePIIRead, ScopeWrite, ScopeAdmin}

// File statuses, following a file's lifecycle:
// received -> processing -> applied | applied_with_errors | rejected | held | failed.
const (
	FileReceived          = "received"
	FileProcessing        = "processing"
	FileApplied           = "applied"
	FileAppliedWithErrors = "applied_with_errors"
	FileRejected          = "rejected"
	FileHeld              = "held"
	FileFailed            = "failed"
	FileDuplicate         = "duplicate"
	FileReleased          = "released"
	FileDiscarded         = "discarded"
	FileReplayed          = "replayed"
)

// Connection kinds.
const (
	ConnSFTP    = "sftp"
	ConnDropbox = "dropbox"
	ConnAPI     = "api"
)

func contains(set []string, v string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

// HasScopeName reports whether s is a valid scope name.
func HasScopeName(s string) bool { return contains(Scopes, s) }
