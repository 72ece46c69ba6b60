package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Uploads takes a file pushed over HTTP into the ingest pipeline. With
// wait it returns the ingest outcome; otherwise the file id and status
// received, and the file is ingested in the background.
type Uploads interface {
	Upload(ctx context.Context, conn schema.Connection, name string, r io.Reader, wait bool) (schema.File, error)
}

// upload takes a raw body (name from ?name= or the Content-Disposition
// header) or a multipart form's "file" part, streamed to disk.
func (s *Server) upload(c *gin.Context) {
	if s.cfg.Uploads == nil {
		problem(c, http.StatusNotImplemented, "not_configured", "this server does not take uploads")
		return
	}
	conn, err := s.cfg.Store.Connection(c.Request.Context(), tenantID(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	name, body, err := uploadBody(c)
	if err != nil {
		problem(c, http.StatusBadRequest, "invalid_upload", err.Error())
		return
	}
	wait := c.Query("wait") == "true"
	f, err := s.cfg.Uploads.Upload(c.Request.Context(), conn, name, body, wait)
	var tooBig *http.MaxBytesError
	switch {
	case err != nil && errors.As(err, &tooBig):
		problem(c, http.StatusRequestEntityTooLarge, "body_too_large", err.Error())
	case err != nil:
		fail(c, err)
	case wait:
		c.JSON(http.StatusOK, f)
	default:
		c.Header("Location", "/v1/files/"+f.ID)
		c.JSON(http.StatusAccepted, UploadAccepted{FileID: f.ID, Status: f.Status})
	}
}

func uploadBody(c *gin.Context) (string, io.Reader, error) {
	if strings.HasPrefix(c.ContentType(), "multipart/form-data") {
		mr, err := c.Request.MultipartReader()
		if err != nil {
			return "", nil, err
		}
		for {
			part, err := mr.NextPart()
			if err != nil {
				return "", nil, errMissingFile
			}
			if part.FormName() == "file" {
				return cleanName(part.FileName()), part, nil
			}
		}
	}
	name := c.Query("name")
	if name == "" {
		if _, params, ok := strings.Cut(c.GetHeader("Content-Disposition"), "filename="); ok {
			name = strings.Trim(params, `"`)
		}
	}
	return cleanName(name), c.Request.Body, nil
}

func cleanName(n string) string {
	n = path.Base("/" + strings.ReplaceAll(n, `\`, "/"))
	if n == "/" || n == "." {
		return "upload"
	}
	return n
}
