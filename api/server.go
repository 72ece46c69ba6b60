package api

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/bridge/throttle"
	"github.com/hrisbridge/hrisbridge/schema"
)

// Config configures a Server.
type Config struct {
	// Store serves every request. Required.
	Store schema.Store
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Files releases and discards held files; nil answers 501.
	Files Files
	// Connections updates and deletes connections; nil answers 501.
	Connections Connections
	// Jobs queues manual syncs and replays; nil answers 501.
	Jobs Jobs
	// Webhooks replays events to endpoints; nil answers 501.
	Webhooks Replayer
	// Uploads takes HTTP uploads; nil answers 501.
	Uploads Uploads
	// MaxUpload caps one upload; default 1 GiB.
	MaxUpload int64
	// RateLimit is the requests each key may make per RateWindow; default
	// 600 per 60 s.
	RateLimit  int
	RateWindow time.Duration
	// MaxBody caps request bodies; default 1 MiB.
	MaxBody int64
	// Metrics, when set, is served at /metrics.
	Metrics http.Handler
	// ObserveRequest, when set, is told each request's route, status and
	// duration (metrics).
	ObserveRequest func(method, route string, status int, d time.Duration)
	// Console, when set, serves the web console for operators and HR
	// admins under /console.
	Console *ConsoleConfig
	// ObserveWebhook, when set, is told each provider webhook's outcome
	// (signature verified or not).
	ObserveWebhook func(verified bool)
}

// Server is the HTTP API.
type Server struct {
	cfg    Config
	engine *gin.Engine
	limits *limiter
	used   *lastUse
	// badKeys throttles client addresses that present invalid keys.
	badKeys *throttle.Counter
	// console is nil unless Config.Console is set.
	console *consoleServer
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("api: Store is required")
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.RateLimit = cmp.Or(cfg.RateLimit, 600)
	cfg.RateWindow = cmp.Or(cfg.RateWindow, time.Minute)
	cfg.MaxBody = cmp.Or(cfg.MaxBody, 1<<20)
	cfg.MaxUpload = cmp.Or(cfg.MaxUpload, 1<<30)
	gin.SetMode(gin.ReleaseMode)
	s := &Server{cfg: cfg, engine: gin.New(), limits: newLimiter(cfg.RateLimit, cfg.RateWindow), used: &lastUse{seen: map[string]time.Time{}},
		badKeys: throttle.New(30, time.Minute)}
	if cfg.Console != nil {
		cs, err := newConsole(s, *cfg.Console)
		if err != nil {
			return nil, err
		}
		s.console = cs
	}
	s.routes()
	return s, nil
}

// Handler returns the http.Handler serving the API.
func (s *Server) Handler() http.Handler { return s.engine }

// Serve serves on l until ctx ends, then shuts down gracefully, letting
// requests in flight finish.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: s.engine, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	if s.console != nil {
		go func() { // checked uploads never applied go after an hour
			tick := time.NewTicker(10 * time.Minute)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					s.console.cleanPreviews()
				}
			}
		}()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

const requestIDKey = "request_id"

// requestID tags each request with an id (the client's X-Request-Id when
// sane) and logs it when done.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if id == "" || len(id) > 64 {
		b := make([]byte, 8)
		rand.Read(b) //nolint:errcheck
		id = hex.EncodeToString(b)
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-Id", id)
	start := time.Now()
	c.Next()
	if s.cfg.ObserveRequest != nil {
		route := openAPIPath(c.FullPath()) // the document's form: /v1/files/{id}
		if route == "" {
			route = "unmatched"
		}
		s.cfg.ObserveRequest(c.Request.Method, route, c.Writer.Status(), time.Since(start))
	}
	level := slog.LevelDebug
	if c.Writer.Status() >= 500 {
		level = slog.LevelError
	}
	s.cfg.Logger.Log(c.Request.Context(), level, "request", "method", c.Request.Method, "route", c.FullPath(),
		"status", c.Writer.Status(), "duration_ms", time.Since(start).Milliseconds(), "request_id", id, "errors", c.Errors.String())
}

// recovery turns a panic into a 500 problem.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.cfg.Logger.ErrorContext(c.Request.Context(), "panic", "panic", r, "request_id", c.GetString(requestIDKey))
			problem(c, http.StatusInternalServerError, "internal", "internal error; quote the request id to support")
		}
	}()
	c.Next()
}
