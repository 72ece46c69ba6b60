// Package schema holds hrisbridge's normalized data model: employees,
// dependents, benefit plans and enrollments as every source is mapped into
// them, the operational records around them (tenants, connections, files,
// sync runs, record errors, events, API keys), their validation, and the
// Store contract that the PostgreSQL and SQLite stores both satisfy.
//
// It imports only the standard library and google/uuid, so parsers, the
// bridge and the API can all speak it without importing each other.
package schema
