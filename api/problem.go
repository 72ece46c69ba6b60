package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/schema"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Code      string `json:"code,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// problemBase prefixes problem type URIs; each code has its own page.
const problemBase = "https://hrisbridge.dev/errors/"

// problem writes a problem+json response and stops the chain.
func problem(c *gin.Context, status int, code, detail string) {
	p := Problem{Type: problemBase + code, Title: http.StatusText(status), Status: status, Detail: detail,
		Instance: c.Request.URL.Path, Code: code, RequestID: c.GetString(requestIDKey)}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(status, p)
	c.Writer.Header().Set("Content-Type", "application/problem+json")
}

// fail maps an error from below to its problem: the one error-to-status
// mapper of the API.
func fail(c *gin.Context, err error) {
	var ve *schema.ValidationError
	switch {
	case errors.Is(err, schema.ErrNotFound):
		problem(c, http.StatusNotFound, "not_found", "no such resource for this tenant")
	case errors.Is(err, bridge.ErrBusy):
		problem(c, http.StatusConflict, "busy", err.Error()+"; try again when it has finished")
	case errors.Is(err, bridge.ErrGone):
		problem(c, http.StatusGone, schema.ECodeFileGone, err.Error()+": "+schema.Catalog[schema.ECodeFileGone].Fix)
	case errors.Is(err, schema.ErrState):
		problem(c, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, schema.ErrDuplicate):
		problem(c, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, schema.ErrInvalid):
		problem(c, http.StatusUnprocessableEntity, "invalid", err.Error())
	case errors.As(err, &ve):
		problem(c, http.StatusUnprocessableEntity, "validation_failed", ve.Error())
	default:
		c.Error(err) //nolint:errcheck // logged by the request logger
		problem(c, http.StatusInternalServerError, "internal", "internal error; quote the request id to support")
	}
}

var errMissingFile = errors.New(`a multipart upload needs a "file" part`)
