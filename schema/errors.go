package schema

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors that stores translate their drivers' errors into, so no
// caller ever needs to import a database driver.
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("already exists")
	// ErrNoEmployee and ErrNoPlan are what a dependent or enrollment
	// refers to and the store lacks; both are ErrNotFound too.
	ErrNoEmployee = fmt.Errorf("employee %w", ErrNotFound)
	ErrNoPlan     = fmt.Errorf("plan %w", ErrNotFound)
	// ErrState means the resource is not in a state that allows the
	// operation (releasing a file that is not held).
	ErrState = errors.New("not allowed in this state")
	// ErrInvalid is a request whose values cannot be accepted; the
	// wrapping error names them.
	ErrInvalid = errors.New("invalid")
)

// FieldError is one problem with one field of one record, positioned in its
// file when it came from one. Code is a stable key into Catalog.
type FieldError struct {
	Line     int    `json:"line,omitempty"`
	RecordID string `json:"record,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// Error formats the error the way support reads it:
// "line 87, employee E1234: required field 'relationship' is empty (E_REQUIRED)".
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d, ", e.Line)
	}
	if e.RecordID != "" {
		fmt.Fprintf(&b, "record %s: ", e.RecordID)
	}
	fmt.Fprintf(&b, "%s (%s)", e.Message, e.Code)
	return b.String()
}

// Fix returns the catalog's resolution for the error's code.
func (e *FieldError) Fix() string { return Catalog[e.Code].Fix }

// ValidationError lists every field error of one record.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i := range e.Errors {
		msgs[i] = e.Errors[i].Error()
	}
	return strings.Join(msgs, "; ")
}

// At returns a copy of e positioned at line and record id.
func (e *ValidationError) At(line int, recordID string) *ValidationError {
	out := &ValidationError{Errors: make([]FieldError, len(e.Errors))}
	for i, fe := range e.Errors {
		fe.Line, fe.RecordID = line, recordID
		out.Errors[i] = fe
	}
	return out
}

// Error codes. They are stable: clients and runbooks key on them.
const (
	ECodeRequired        = "E_REQUIRED"
	ECodeEnum            = "E_ENUM"
	ECodeDate            = "E_DATE"
	ECodeDateOrder       = "E_DATE_ORDER"
	ECodeSSN             = "E_SSN"
	ECodeEmail           = "E_EMAIL"
	ECodeDecimal         = "E_DECIMAL"
	ECodeDuplicate       = "E_DUPLICATE_ID"
	ECodeColumns         = "E_COLUMN_COUNT"
	ECodeHeader          = "E_HEADER"
	ECodeEncoding        = "E_ENCODING"
	ECodeCSV             = "E_CSV_SYNTAX"
	ECodeInvalidMax      = "E_INVALID_RATIO"
	ECodeUnmapped        = "E_CODE_UNMAPPED"
	ECodeEmpty           = "E_EMPTY_FILE"
	ECodeRead            = "E_READ"
	ECodeMinRows         = "E_MIN_ROWS"
	ECodeTrailer         = "E_TRAILER"
	ECodeTrailerCount    = "E_TRAILER_COUNT"
	ECodeControlTotal    = "E_CONTROL_TOTAL"
	ECodeTruncated       = "E_TRUNCATED"
	ECodeRecordType      = "E_RECORD_TYPE"
	ECodeUnknownEmployee = "E_UNKNOWN_EMPLOYEE"
	ECodeSFTPDial        = "E_SFTP_DIAL"
	ECodeStore           = "E_STORE_UNAVAILABLE"
	ECodeDecode          = "E_DECODE"
	ECodeSFTPHostKey     = "E_SFTP_HOST_KEY"
	ECodeSFTPAuth        = "E_SFTP_AUTH"
	ECodeSFTPPermission  = "E_SFTP_PERMISSION"
	ECodeSFTPNotFound    = "E_SFTP_NOT_FOUND"
	ECodeUnknownPlan     = "E_UNKNOWN_PLAN"
	ECodeSyncFailing     = "E_SYNC_FAILING"
	ECodeNoFile          = "E_NO_FILE"
	ECodeShrink          = "E_SHRINK"
	ECodeSchemaDrift     = "E_SCHEMA_DRIFT"
	ECodeFileRejected    = "E_FILE_REJECTED"
	ECodeFileGone        = "E_FILE_GONE"
	ECodeWebhookFailing  = "E_WEBHOOK_FAILING"
	ECodeTooLarge        = "E_TOO_LARGE"
	ECodeQuarantined     = "E_QUARANTINED"
	ECodeExpr            = "E_EXPR"
	ECodeAPIAuth         = "E_API_AUTH"
	ECodeAPIHTTP         = "E_API_HTTP"
	ECodeAPIUnavailable  = "E_API_UNAVAILABLE"
	ECodeAPIResponse     = "E_API_RESPONSE"
	ECodeAPIDrift        = "E_API_DRIFT"
	ECodeX12Syntax       = "E_X12_SYNTAX"
	ECodeX12Envelope     = "E_X12_ENVELOPE"
	ECodeX12Segment      = "E_X12_SEGMENT"
	ECodeX12Value        = "E_X12_VALUE"
)

// CatalogEntry describes an error code for the people who must act on it.
type CatalogEntry struct {
	Code  string `json:"code"`
	Title string `json:"title"`
	Fix   string `json:"fix"`
}

// Catalog is the error catalog, served by the API and `hrisbridge errors`.
var Catalog = map[string]CatalogEntry{
	ECodeRequired:        {Title: "Required field is empty", Fix: "Fill in the field in the source system or export, or map a column to it in the layout; then resend the file."},
	ECodeEnum:            {Title: "Value is not one of the allowed codes", Fix: "Use one of the listed values, or add the source system's code to the layout's code map for this field."},
	ECodeDate:            {Title: "Date cannot be read", Fix: "Send the date as YYYY-MM-DD, MM/DD/YYYY or YYYYMMDD, or add the export's date format to the layout's formats for this field."},
	ECodeDateOrder:       {Title: "Dates are out of order", Fix: "Check the dates in the source system: a termination cannot precede the hire date and a birth date cannot be in the future."},
	ECodeSSN:             {Title: "SSN is malformed", Fix: "Send nine digits (with or without dashes); 000, 666 and 9xx area numbers, 00 groups and 0000 serials are not valid SSNs."},
	ECodeEmail:           {Title: "Email address is malformed", Fix: "Correct the address in the source system; it must look like name@example.com."},
	ECodeDecimal:         {Title: "Number cannot be read", Fix: "Send a plain decimal number such as 52000.00 (thousands separators and a leading $ are accepted)."},
	ECodeDuplicate:       {Title: "Record id appears twice in the file", Fix: "Each employee may appear once per file; remove the duplicate row or fix its employee number."},
	ECodeColumns:         {Title: "Row has the wrong number of columns", Fix: "A delimiter or quote inside a value is unbalanced; quote values that contain the delimiter and re-export."},
	ECodeHeader:          {Title: "Header row does not match the layout", Fix: "Re-export with the agreed columns, or update the layout (tenant or connection override) to the new header."},
	ECodeEncoding:        {Title: "Bytes are not valid in the file's encoding", Fix: "Export as UTF-8, or set the layout's encoding (windows-1252, iso-8859-1) to the one the source system uses."},
	ECodeCSV:             {Title: "CSV syntax error", Fix: "A quote is not closed or is misplaced; re-export the file with standard CSV quoting."},
	ECodeUnmapped:        {Title: "Code is not in the layout's code map", Fix: "Add the source system's code to the layout's codes for this field (a tenant or connection override is enough), or correct the value at the source."},
	ECodeEmpty:           {Title: "File is empty or ends before its header", Fix: "The export produced no data, or the transfer was cut short; re-run the export and resend."},
	ECodeRead:            {Title: "File could not be read", Fix: "The transfer or decompression failed; resend the file. If it repeats, check the connection's decoding settings."},
	ECodeMinRows:         {Title: "File has fewer rows than the layout requires", Fix: "A census this small is usually a truncated or filtered export; check the report's filters and resend."},
	ECodeTrailer:         {Title: "Trailer record is misplaced or unreadable", Fix: "The trailer must be the last record and its counts must be numbers; re-run the export."},
	ECodeTrailerCount:    {Title: "Trailer record count disagrees with the file", Fix: "Records were lost or added in transfer or by hand-editing; re-run the export and resend the untouched file."},
	ECodeControlTotal:    {Title: "Control total disagrees with the detail records", Fix: "An amount was changed or a record lost after the export; re-run the export and resend the untouched file."},
	ECodeTruncated:       {Title: "File is cut short", Fix: "The file ends before its trailer record: the transfer or the export was interrupted. Resend the complete file."},
	ECodeRecordType:      {Title: "Unknown record type", Fix: "The record's type code is not one the layout declares; check that the right layout is used, or add the code to fixed.skip."},
	ECodeSFTPDial:        {Title: "SFTP server cannot be reached", Fix: "Check host and port and that the employer's firewall allows this appliance's address; transient failures are retried."},
	ECodeStore:           {Title: "The database went away during the sync", Fix: "Nothing of the file was applied and the remote file was not acknowledged; the sync is retried with backoff. If it persists, check that PostgreSQL is up and reachable from every replica and below max_connections."},
	ECodeSFTPHostKey:     {Title: "SFTP server presented a different host key", Fix: "Confirm with the employer that the server's key changed (a re-install or a new vendor); then run `hrisbridge connections trust-host` to pin the new key. Do not trust it otherwise: it may be an impostor."},
	ECodeX12Syntax:       {Title: "Not a readable X12 interchange", Fix: "The file must start with a 106-byte ISA whose elements are padded to their fixed widths (its separators are read from it); ask the sender for the 834 as produced, not re-saved by an editor."},
	ECodeX12Envelope:     {Title: "An X12 envelope does not close as it opens", Fix: "A control number or count of ISA/IEA, GS/GE or ST/SE (or a QTY total) disagrees, or a trailer is missing: the file was truncated, concatenated or edited. Ask the sender to resend the interchange."},
	ECodeX12Segment:      {Title: "A segment the 834 guide requires is missing or out of place", Fix: "The transaction set named in the error was rejected (the file's other sets applied): ask the sender to correct the member (e.g. every INS needs REF*0F and NM1*IL) and resend it."},
	ECodeX12Value:        {Title: "An X12 element holds a code or format the 834 guide does not allow", Fix: "Correct the element named in the error (e.g. INS01 Y or N, DMG01 D8) in the sender's system and resend the transaction set."},
	ECodeAPIAuth:         {Title: "The HRIS API refused the connection's credentials (authorization expired)", Fix: "Have the employer's admin authorize the connection again (hrisbridge connections authorize, or POST /v1/connections/{id}/authorize), or update its API key; then sync."},
	ECodeAPIHTTP:         {Title: "The HRIS API refused a request", Fix: "Read the status and message in the run's error: a 404 usually means a wrong company id or subdomain in the connection's params, a 400 a definition the API no longer accepts."},
	ECodeAPIUnavailable:  {Title: "The HRIS API kept answering 429 or 5xx, or did not answer", Fix: "Nothing was applied; the sync is retried with backoff. If it persists, check the provider's status page and the connection's request budget (requests_per_second)."},
	ECodeAPIResponse:     {Title: "The HRIS API answered something the connector cannot read", Fix: "Nothing was applied. The provider changed its response shape: update the connector definition's records or field expressions (docs/connectors.md)."},
	ECodeAPIDrift:        {Title: "A field the mapping needs is missing from every record", Fix: "Nothing was applied. The provider renamed or dropped the field: update its jq expression in the connector definition (a tenant or connection override), then sync."},
	ECodeSFTPAuth:        {Title: "SFTP login was refused", Fix: "The password or key is wrong, expired or not authorized for this user; get new credentials from the employer and update the connection."},
	ECodeSFTPPermission:  {Title: "SFTP server refused access to the directory or file", Fix: "Ask the employer to grant the SFTP user read access to the directory (and write access to the archive directory when acknowledging by archive)."},
	ECodeSFTPNotFound:    {Title: "Remote directory does not exist", Fix: "Check the connection's dir; the employer may have moved the export location."},
	ECodeUnknownEmployee: {Title: "Record refers to an employee hrisbridge does not have", Fix: "Send the employee census before (or with) dependent and enrollment files, or correct the employee id."},
	ECodeUnknownPlan:     {Title: "Enrollment refers to a plan hrisbridge does not have", Fix: "Load the plan list (a layout with entity benefit_plan, e.g. plans-csv) before enrollments, or correct the plan code."},
	ECodeDecode:          {Title: "Drop cannot be decrypted or decompressed", Fix: "Check that the file is encrypted to this connection's PGP key (and signed by the agreed signer), that a zip holds one file, and that it is not corrupt; then resend."},
	ECodeSyncFailing:     {Title: "Syncs of this connection keep failing", Fix: "Read the last run's error (GET /v1/sync-runs?connection_id=...); run `hrisbridge connections test` to check reachability and login, then trigger a sync."},
	ECodeNoFile:          {Title: "Scheduled syncs found no file when one was expected", Fix: "Ask the employer whether the export still runs and still writes to the connection's directory and pattern; adjust expect_file_every if the cadence changed."},
	ECodeShrink:          {Title: "Snapshot shrank sharply and is held", Fix: "Compare the held file with the last one: release it (files release) if the headcount drop is real, discard it if the export was truncated or filtered, and ask for a full file."},
	ECodeSchemaDrift:     {Title: "File header no longer matches the layout and is held", Fix: "Update the layout (layouts set) to the new columns, then release the held file, or discard it and ask for the agreed format."},
	ECodeFileRejected:    {Title: "The latest file was rejected", Fix: "Read the file's errors (files errors ID), fix the export or the layout, then resend or replay it."},
	ECodeWebhookFailing:  {Title: "Webhook deliveries to an endpoint are failing or stopped", Fix: "The receiver answers errors or does not answer: deliveries wait and retry with backoff, in order, nothing is dropped. Fix the receiver (its logs, its URL, its certificate), then re-enable a disabled endpoint (webhooks enable ID, or the console); it resumes from the first event it has not acknowledged."},
	ECodeFileGone:        {Title: "The file's bytes are no longer kept", Fix: "Kept files are pruned after file_retention; ask the sender for the file again."},
	ECodeTooLarge:        {Title: "File, line or value is larger than the limits allow", Fix: "A census export has lines of at most a few kilobytes: check that the right file was sent, that it is not corrupt and that its quotes are balanced. If the file is genuine, raise max_line_bytes, max_field_bytes, max_columns or max_decoded_bytes in the server's configuration and replay it."},
	ECodeQuarantined:     {Title: "File was quarantined after its ingest failed repeatedly or stopped the server", Fix: "The file is kept in the connection's quarantine/ directory and is not taken again by itself. Check that it is the export you expect (not corrupt, not a different file type); send a corrected file, or replay this one (files replay ID) once the cause is fixed."},
	ECodeExpr:            {Title: "A derived field's expression failed", Fix: "The layout computes this field from other columns (expr) and the expression did not work on this row: check the columns it reads are present and hold what it expects, or correct the expression in the layout."},
	ECodeInvalidMax:      {Title: "Too many invalid rows", Fix: "Most rows failed validation, which usually means a wrong layout or a broken export; fix the listed errors or the layout and resend."},
}

func init() {
	for code, e := range Catalog {
		e.Code = code
		Catalog[code] = e
	}
}

// CatalogCodes returns the catalog's codes in sorted order.
func CatalogCodes() []string {
	codes := make([]string, 0, len(Catalog))
	for c := range Catalog {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return codes
}
