// Package api serves hrisbridge's REST API with gin: normalized records per
// tenant behind bearer API keys with scopes, cursor pagination, RFC 9457
// problem details for every error, and the health endpoints. routes.go
// lists every route.
package api
