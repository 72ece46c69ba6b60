package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/schema/secret"
	"github.com/hrisbridge/hrisbridge/schema/storage"
)

// Config is hrisbridge's whole configuration: one YAML file, every key
// overridable by HRISBRIDGE_<KEY> environment variables, and each key also
// readable from a file named by HRISBRIDGE_<KEY>_FILE (for secrets mounted
// by Docker or Kubernetes). The defaults below are the only place defaults
// are set.
type Config struct {
	// DatabaseURL chooses the store: postgres://... for PostgreSQL,
	// sqlite://PATH for the embedded store. Default: the embedded store at
	// <data_dir>/hrisbridge.db.
	DatabaseURL string `yaml:"database_url"`
	// Addr is where the API listens. Default ":8080".
	Addr string `yaml:"addr"`
	// DataDir holds the embedded store, the generated master key and the
	// spool. Default "./data".
	DataDir string `yaml:"data_dir"`
	// MasterKey (base64 of 32 random bytes) seals credentials and SSNs at
	// rest. Required with PostgreSQL; with the embedded store a key is
	// generated once into <data_dir>/master.key when unset.
	MasterKey string `yaml:"master_key" secret:"true"`
	// LogLevel is debug, info, warn or error. Default "info".
	LogLevel string `yaml:"log_level"`
	// LogFormat is text or json. Default "text".
	LogFormat string `yaml:"log_format"`
	// MaxInvalidRatio rejects a file with a larger share of invalid rows.
	// Default 0.05.
	MaxInvalidRatio float64 `yaml:"max_invalid_ratio"`
	// MaxLineBytes bounds one record of a file (a CSV record's quoted
	// line breaks included); a longer one rejects the file (E_TOO_LARGE).
	// Default 1 MiB.
	MaxLineBytes float64 `yaml:"max_line_bytes"`
	// MaxFieldBytes bounds one value; a longer one makes its row invalid.
	// Default 64 KiB.
	MaxFieldBytes float64 `yaml:"max_field_bytes"`
	// MaxColumns bounds the columns of a header or record. Default 4096.
	MaxColumns float64 `yaml:"max_columns"`
	// IndexCache is how many employees' change index (about 60 bytes
	// each) stay in memory between files; 0 keeps none. Default 1e6.
	IndexCache float64 `yaml:"index_cache"`
	// MaxDecodedBytes bounds what one drop may expand to when it is
	// decompressed or decrypted (a zip or gzip bomb is rejected with
	// E_TOO_LARGE before more reaches the disk). Default 2 GiB.
	MaxDecodedBytes float64 `yaml:"max_decoded_bytes"`
	// SFTPAddr is where the drop box SFTP server listens (e.g. ":2222");
	// empty (the default) turns it off.
	SFTPAddr string `yaml:"sftp_addr"`
	// MaxUploadBytes caps one HTTP upload. Default 1 GiB.
	MaxUploadBytes float64 `yaml:"max_upload_bytes"`
	// WebhooksAllowPrivate lets webhooks go to loopback and private
	// addresses (receivers inside your own network). Default false: a
	// tenant's webhook URL cannot reach the appliance's neighbours.
	WebhooksAllowPrivate bool `yaml:"webhooks_allow_private"`
	// FilesDir keeps every received file's bytes, sealed, for replays
	// and held files' releases. Default <data_dir>/files. With several
	// replicas, set files_url, or put it on storage they share, or a
	// replay runs only where the file was received.
	FilesDir string `yaml:"files_dir"`
	// FilesURL keeps those bytes in a bucket instead of files_dir:
	// s3://BUCKET?region=R (AWS S3; credentials from the AWS environment),
	// or an S3-compatible server with &endpoint=URL&use_path_style=true.
	FilesURL string `yaml:"files_url"`
	// FileRetention is how long kept file bytes stay (Go duration);
	// default "720h" (30 days), "0" keeps them forever.
	FileRetention string `yaml:"file_retention"`
	// JobWorkers is how many sync jobs one process runs at once; default 4.
	JobWorkers float64 `yaml:"job_workers"`
	// JobLargeWorkers is how many of them may be syncs of a large drop
	// (over 2 MiB) at once; default (0) half of job_workers, at least 1.
	JobLargeWorkers float64 `yaml:"job_large_workers"`
	// JobMaxAttempts is how often a sync job is tried before it fails;
	// default 5 (backoff 1m, 2m, 4m, 8m between them, with jitter).
	JobMaxAttempts float64 `yaml:"job_max_attempts"`
	// JobRetryBase is the wait before a failed sync job's second attempt,
	// doubled for each further one (with jitter, at most 1h); default "1m".
	JobRetryBase string `yaml:"job_retry_base"`
	// SyncTimeout bounds one sync attempt; default "1h".
	SyncTimeout string `yaml:"sync_timeout"`
	// JobRescueAfter is when a job whose replica died mid-run is retried
	// elsewhere; default sync_timeout + 5m. Must exceed sync_timeout.
	JobRescueAfter string `yaml:"job_rescue_after"`
	// SyncLeaseTTL is how long a sync's hold on its connection outlives
	// its process; default "60s".
	SyncLeaseTTL string `yaml:"sync_lease_ttl"`
	// PublicURL is the server's address as employers reach it
	// (https://bridge.example.com): magic links are made with it. Default:
	// the address the operator's browser used.
	PublicURL string `yaml:"public_url"`
	// SMTPURL sends magic links by mail: smtp://user:password@host:587
	// (STARTTLS when the server offers it; login only over TLS or to
	// localhost). Unset: the console shows links to send by hand.
	SMTPURL string `yaml:"smtp_url" secret:"true"`
	// SMTPFrom is the sender of those mails.
	SMTPFrom string `yaml:"smtp_from"`
}

// durations are the parsed duration keys.
type durations struct {
	fileRetention, syncTimeout, rescueAfter, leaseTTL, retryBase time.Duration
}

func (c *Config) durations() (durations, error) {
	var d durations
	for _, k := range []struct {
		key, val string
		dst      *time.Duration
	}{{"file_retention", c.FileRetention, &d.fileRetention}, {"sync_timeout", c.SyncTimeout, &d.syncTimeout},
		{"job_rescue_after", c.JobRescueAfter, &d.rescueAfter}, {"sync_lease_ttl", c.SyncLeaseTTL, &d.leaseTTL},
		{"job_retry_base", c.JobRetryBase, &d.retryBase}} {
		if k.val == "" {
			continue
		}
		v, err := time.ParseDuration(k.val)
		if err != nil || v < 0 {
			return d, fmt.Errorf("config: %s %q is not a duration like 90s, 15m or 720h", k.key, k.val)
		}
		*k.dst = v
	}
	if c.FileRetention == "0" || d.fileRetention == 0 && c.FileRetention != "" {
		d.fileRetention = -1 // keep forever
	}
	if d.rescueAfter > 0 && d.rescueAfter <= cmp.Or(d.syncTimeout, time.Hour) {
		return d, fmt.Errorf("config: job_rescue_after %s must be longer than sync_timeout %s", d.rescueAfter, cmp.Or(d.syncTimeout, time.Hour))
	}
	return d, nil
}

func defaults() Config {
	return Config{Addr: ":8080", DataDir: "./data", LogLevel: "info", LogFormat: "text", MaxInvalidRatio: 0.05, MaxUploadBytes: 1 << 30, IndexCache: bridge.DefaultIndexCache,
		MaxLineBytes: parsers.DefaultMaxLine, MaxFieldBytes: parsers.DefaultMaxField, MaxColumns: parsers.DefaultMaxColumns, MaxDecodedBytes: bridge.DefaultMaxDecoded,
		FileRetention: "720h", JobWorkers: 4, JobMaxAttempts: 5, SyncTimeout: "1h", SyncLeaseTTL: "60s", JobRetryBase: "1m"}
}

// loadConfig reads path (optional), then the environment, then validates.
func loadConfig(path string) (Config, error) {
	cfg := defaults()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if err := checkKeys(b); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, os.LookupEnv); err != nil {
		return cfg, err
	}
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = "sqlite://" + filepath.Join(cfg.DataDir, "hrisbridge.db")
	}
	if cfg.FilesDir == "" {
		cfg.FilesDir = filepath.Join(cfg.DataDir, "files")
	}
	return cfg, cfg.validate()
}

// checkKeys names, in words, the keys of a config file that are not
// configuration keys, with the nearest known one.
func checkKeys(b []byte) error {
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return err
	}
	known := configKeys()
	var unknown []string
	for k := range m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	msgs := make([]string, len(unknown))
	for i, k := range unknown {
		msgs[i] = fmt.Sprintf("unknown key %q", k)
		if near := nearest(k, known); near != "" {
			msgs[i] += fmt.Sprintf(" (did you mean %q?)", near)
		}
	}
	return fmt.Errorf("%s; the keys are: %s", strings.Join(msgs, "; "), strings.Join(known, ", "))
}

// configKeys lists the YAML keys of Config.
func configKeys() []string {
	t := reflect.TypeOf(Config{})
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i] = t.Field(i).Tag.Get("yaml")
	}
	return keys
}

// nearest returns the known key within two edits of k, if any.
func nearest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := parsers.EditDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// applyEnv overrides each key from HRISBRIDGE_<KEY> or, failing that, from
// the file named by HRISBRIDGE_<KEY>_FILE.
func applyEnv(cfg *Config, lookup func(string) (string, bool)) error {
	v := reflect.ValueOf(cfg).Elem()
	for i := 0; i < v.NumField(); i++ {
		key := v.Type().Field(i).Tag.Get("yaml")
		env := "HRISBRIDGE_" + strings.ToUpper(key)
		val, ok := lookup(env)
		if !ok {
			file, fok := lookup(env + "_FILE")
			if !fok {
				continue
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("config: %s_FILE: %w", env, err)
			}
			val = strings.TrimSpace(string(b))
		}
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(val)
		case reflect.Bool:
			b, err := strconv.ParseBool(val)
			if err != nil {
				return fmt.Errorf("config: %s (%s): %q is not true or false", key, env, val)
			}
			f.SetBool(b)
		case reflect.Float64:
			n, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return fmt.Errorf("config: %s (%s): %q is not a number", key, env, val)
			}
			f.SetFloat(n)
		}
	}
	return nil
}

// validate names the first bad key.
func (c *Config) validate() error {
	switch {
	case !storage.IsPostgres(c.DatabaseURL) && !strings.HasPrefix(c.DatabaseURL, "sqlite://"):
		return fmt.Errorf("config: database_url must start with postgres:// or sqlite://")
	case storage.IsPostgres(c.DatabaseURL) && c.MasterKey == "":
		return fmt.Errorf("config: master_key is required with PostgreSQL (every replica must share it): set HRISBRIDGE_MASTER_KEY or HRISBRIDGE_MASTER_KEY_FILE")
	case c.Addr == "":
		return fmt.Errorf("config: addr must not be empty")
	case c.IndexCache < 0:
		return fmt.Errorf("config: index_cache %v must not be negative", c.IndexCache)
	case c.MaxInvalidRatio < 0 || c.MaxInvalidRatio > 1:
		return fmt.Errorf("config: max_invalid_ratio %v must be between 0 and 1", c.MaxInvalidRatio)
	case c.MaxUploadBytes < 1:
		return fmt.Errorf("config: max_upload_bytes %v must be positive", c.MaxUploadBytes)
	case c.MaxLineBytes < 1024 || c.MaxFieldBytes < 64 || c.MaxColumns < 1 || c.MaxDecodedBytes < 1:
		return fmt.Errorf("config: max_line_bytes (at least 1024), max_field_bytes (at least 64), max_columns and max_decoded_bytes must be positive")
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("config: log_format %q must be text or json", c.LogFormat)
	case c.JobWorkers < 1 || c.JobWorkers != float64(int(c.JobWorkers)):
		return fmt.Errorf("config: job_workers %v must be a whole number of at least 1", c.JobWorkers)
	case c.JobLargeWorkers < 0 || c.JobLargeWorkers > c.JobWorkers || c.JobLargeWorkers != float64(int(c.JobLargeWorkers)):
		return fmt.Errorf("config: job_large_workers %v must be a whole number from 0 (half of job_workers) to job_workers", c.JobLargeWorkers)
	case c.JobMaxAttempts < 1 || c.JobMaxAttempts != float64(int(c.JobMaxAttempts)):
		return fmt.Errorf("config: job_max_attempts %v must be a whole number of at least 1", c.JobMaxAttempts)
	}
	if _, err := c.durations(); err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("config: log_level %q must be debug, info, warn or error", c.LogLevel)
	}
	if c.MasterKey != "" {
		if _, err := secret.ParseKey(c.MasterKey); err != nil {
			return fmt.Errorf("config: master_key: %w", err)
		}
	}
	return nil
}

// box returns the secret box, generating and persisting a master key for
// the embedded store on first use.
func (c *Config) box() (*secret.Box, error) {
	key := c.MasterKey
	if key == "" {
		path := filepath.Join(c.DataDir, "master.key")
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			key = strings.TrimSpace(string(b))
		case errors.Is(err, os.ErrNotExist):
			key = secret.NewKey()
			if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
				return nil, err
			}
			if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("write %s: %w", path, err)
			}
		default:
			return nil, err
		}
	}
	k, err := secret.ParseKey(key)
	if err != nil {
		return nil, fmt.Errorf("config: master_key: %w", err)
	}
	return secret.New(k)
}

func (c *Config) logger() *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.LogLevel)) //nolint:errcheck // validated
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
