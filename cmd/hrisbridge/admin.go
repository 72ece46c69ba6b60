package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/api"
	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/scheduler"
	"github.com/hrisbridge/hrisbridge/schema"
)

func cmdTenants(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("tenants")
	name := fs.String("name", "", "display name (default: the slug)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] == "create" && len(pos) != 2) || (pos[0] != "create" && pos[0] != "list") {
		return usageError{"usage: hrisbridge tenants create SLUG [--name NAME] | hrisbridge tenants list"}
	}
	a, err := open(ctx, *config)
	if err != nil {
		return err
	}
	defer a.store.Close()
	if pos[0] == "list" {
		ts, err := a.store.Tenants(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SLUG\tNAME\tID")
		for _, t := range ts {
			fmt.Fprintf(w, "%s\t%s\t%s\n", t.Slug, t.Name, t.ID)
		}
		return w.Flush()
	}
	t := schema.Tenant{Slug: pos[1], Name: *name}
	if err := validSlug(t.Slug); err != nil {
		return usageError{err.Error()}
	}
	if t.Name == "" {
		t.Name = t.Slug
	}
	if err := a.store.CreateTenant(ctx, &t); err != nil {
		if errors.Is(err, schema.ErrDuplicate) {
			return fmt.Errorf("tenant %q already exists", t.Slug)
		}
		return err
	}
	fmt.Fprintf(out, "created tenant %s (%s)\n", t.Slug, t.ID)
	return nil
}

func validSlug(s string) error {
	if s == "" || len(s) > 63 {
		return fmt.Errorf("slug must be 1 to 63 characters")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("slug %q may hold only a-z, 0-9 and -", s)
		}
	}
	return nil
}

func cmdKeys(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("keys")
	tenant := fs.String("tenant", "", "tenant slug (omit only for an admin key, or to list every key)")
	scopes := fs.String("scopes", "read", "create: comma-separated: read, pii:read, write, admin")
	name := fs.String("name", "", "create: a label for the key")
	expiresIn := fs.Duration("expires-in", 0, "create: the key stops working after this long, e.g. 720h (0: never)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	const usage = "usage: hrisbridge keys create --tenant SLUG --scopes read,pii:read [--name NAME] [--expires-in 720h] | keys list [--tenant SLUG] | keys revoke [--tenant SLUG] ID|PREFIX"
	switch {
	case len(pos) == 1 && pos[0] == "list":
		return listKeys(ctx, *config, *tenant, out)
	case len(pos) == 2 && pos[0] == "revoke":
		return revokeKey(ctx, *config, *tenant, pos[1], out)
	case len(pos) != 1 || pos[0] != "create":
		return usageError{usage}
	}
	k := schema.APIKey{Name: *name}
	for _, sc := range strings.Split(*scopes, ",") {
		sc = strings.TrimSpace(sc)
		if !schema.HasScopeName(sc) {
			return usageError{fmt.Sprintf("unknown scope %q (read, pii:read, write, admin)", sc)}
		}
		k.Scopes = append(k.Scopes, sc)
	}
	if *tenant == "" && !k.HasScope(schema.ScopeAdmin) {
		return usageError{"--tenant is required (only an admin key may span tenants)"}
	}
	if *expiresIn < 0 {
		return usageError{"--expires-in must be positive"}
	}
	if *expiresIn > 0 {
		at := time.Now().Add(*expiresIn).UTC()
		k.ExpiresAt = &at
	}
	a, err := open(ctx, *config)
	if err != nil {
		return err
	}
	defer a.store.Close()
	if *tenant != "" {
		t, err := a.store.TenantBySlug(ctx, *tenant)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", *tenant, err)
		}
		k.TenantID = t.ID
	}
	plain, prefix, hash := api.NewKey()
	k.Prefix, k.Hash = prefix, hash
	if err := a.store.CreateAPIKey(ctx, &k); err != nil {
		return err
	}
	a.audit(ctx, k.TenantID, "key.create", k.ID)
	expiry := ""
	if k.ExpiresAt != nil {
		expiry = ", expiring " + k.ExpiresAt.Format(time.RFC3339)
	}
	fmt.Fprintf(out, "created key %s for %s with scopes %s%s; it is shown only now:\n%s\n", k.Prefix, orAll(*tenant), strings.Join(k.Scopes, ","), expiry, plain)
	return nil
}

// tenantScope opens the store and resolves an optional tenant slug.
func tenantScope(ctx context.Context, config, slug string) (*app, string, error) {
	a, err := open(ctx, config)
	if err != nil {
		return nil, "", err
	}
	if slug == "" {
		return a, "", nil
	}
	t, err := a.store.TenantBySlug(ctx, slug)
	if err != nil {
		a.store.Close()
		return nil, "", fmt.Errorf("tenant %q: %w", slug, err)
	}
	return a, t.ID, nil
}

func listKeys(ctx context.Context, config, slug string, out io.Writer) error {
	a, tenantID, err := tenantScope(ctx, config, slug)
	if err != nil {
		return err
	}
	defer a.store.Close()
	keys, err := a.store.APIKeys(ctx, tenantID)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tPREFIX\tNAME\tTENANT\tSCOPES\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
	for _, k := range keys {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, cmpOrDash(k.TenantID), strings.Join(k.Scopes, ","),
			k.CreatedAt.Format("2006-01-02 15:04"), when(k.LastUsedAt), when(k.ExpiresAt), when(k.RevokedAt))
	}
	return w.Flush()
}

func revokeKey(ctx context.Context, config, slug, idOrPrefix string, out io.Writer) error {
	a, tenantID, err := tenantScope(ctx, config, slug)
	if err != nil {
		return err
	}
	defer a.store.Close()
	k, err := a.store.RevokeAPIKey(ctx, tenantID, idOrPrefix)
	if errors.Is(err, schema.ErrNotFound) {
		return fmt.Errorf("no unrevoked key %q in %s", idOrPrefix, orAll(slug))
	}
	if err != nil {
		return err
	}
	a.audit(ctx, k.TenantID, "key.revoke", k.ID)
	fmt.Fprintf(out, "revoked key %s (%s); it no longer authenticates\n", k.Prefix, k.ID)
	return nil
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func cmpOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// audit records a change made on the command line. The change is done:
// a failure to record it is reported, not returned.
func (a *app) audit(ctx context.Context, tenantID, action, resource string) {
	if err := a.store.Audit(ctx, schema.AuditEntry{TenantID: tenantID, Actor: cliActor(), Action: action, Resource: resource}); err != nil {
		a.log.ErrorContext(ctx, "audit entry not written", "action", action, "resource", resource, "error", err)
	}
}

// cliActor names who made a change on the command line, for the audit log.
func cliActor() string {
	name := "cli"
	if u, err := user.Current(); err == nil {
		name = "cli:" + u.Username
	}
	return name
}

func orAll(s string) string {
	if s == "" {
		return "all tenants"
	}
	return "tenant " + s
}

func cmdConnections(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("connections")
	tenant := fs.String("tenant", "", "tenant slug")
	name := fs.String("name", "", "connection name")
	layout := fs.String("layout", "census-csv", "layout of the files")
	schedule := fs.String("schedule", "", "cron schedule for pulls, e.g. \"0 2 * * *\" or @daily")
	cronSpec := fs.String("cron", "", "schedule: the new cron schedule (empty: only windows and manual syncs)")
	tz := fs.String("time-zone", "UTC", "IANA time zone the schedule and windows are read in, e.g. America/New_York")
	catchUp := fs.String("catch-up", schema.CatchUpOnce, "what ticks missed during downtime do: once (one sync at start-up) or skip")
	maxInvalid := fs.Float64("max-invalid-ratio", -1, "configure: reject a file with a larger share of invalid rows")
	maxShrink := fs.Float64("max-shrink-ratio", -1, "configure: hold a full snapshot that shrank by more than this")
	minOverlap := fs.Float64("min-overlap-ratio", -1, "configure: hold a full snapshot holding less than this share of the last one's people (0: off)")
	absent := fs.String("absent", "", "configure: what absence from a full snapshot means: flag or terminate")
	expectEvery := fs.Int("expect-file-every", -1, "configure: degraded after this many scheduled syncs in a row without a file (0: off)")
	var c bridge.SFTPConfig
	fs.StringVar(&c.Host, "host", "", "SFTP host")
	fs.IntVar(&c.Port, "port", 22, "SFTP port")
	fs.StringVar(&c.User, "user", "", "SFTP user")
	fs.StringVar(&c.HostKey, "host-key", "", "pinned host key: SHA256:... or a known_hosts/public key line")
	fs.StringVar(&c.Dir, "dir", ".", "remote directory")
	pattern := fs.String("pattern", "*", "comma-separated file name globs")
	fs.StringVar(&c.Ack, "ack", "leave", "after commit: leave, archive or delete")
	fs.StringVar(&c.ArchiveDir, "archive-dir", "", "remote directory for ack=archive")
	fs.StringVar(&c.StableFor, "stable-for", "", "take a file once its size and mtime held this long (default 30s)")
	fs.StringVar(&c.Marker, "marker", "", "take a file only when a marker file (e.g. .done) is present")
	fs.StringVar(&c.Order, "order", "name", "take files by name or mtime")
	fs.BoolVar(&c.Recursive, "recursive", false, "also take files from subdirectories of --dir")
	pwFile := fs.String("password-file", "", "file holding the SFTP password (or HRISBRIDGE_SFTP_PASSWORD)")
	keyFile := fs.String("private-key-file", "", "file holding an OpenSSH private key")
	passFile := fs.String("passphrase-file", "", "file holding the private key's passphrase")
	pgpKey := fs.String("pgp-private-key-file", "", "armored OpenPGP private key that drops are encrypted to")
	pgpPass := fs.String("pgp-passphrase-file", "", "passphrase of the OpenPGP key")
	pgpSigner := fs.String("pgp-signer-key-file", "", "armored OpenPGP public key every drop must be signed with")
	fs.Bool("enabled", true, "update: whether the connection is pulled and takes uploads")
	kind := fs.String("kind", schema.ConnSFTP, "create: sftp or api (an HRIS API; --layout names its connector)")
	params := paramFlags{}
	fs.Var(params, "param", "create --kind api: a connector parameter, key=value (repeatable), e.g. company=acme")
	baseURL := fs.String("base-url", "", "create --kind api: replace the connector's base URL (a sandbox, mock-hris)")
	secretFile := fs.String("secret-file", "", "create --kind api: JSON object of credentials (api_key, client_id, client_secret, webhook_secret, ...)")
	redirectURL := fs.String("redirect-url", "", "authorize: this server's /oauth/callback as the provider reaches it (default from addr)")
	purge := fs.Bool("purge-files", false, "delete: also delete the bytes kept of the connection's files (their records stay)")
	yes := fs.Bool("yes", false, "trust-host: pin the presented key without asking")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *tenant == "" || len(pos) == 0 || !(len(pos) == 1 && (pos[0] == "create" || pos[0] == "list") ||
		len(pos) == 2 && slices.Contains([]string{"test", "trust-host", "show", "schedule", "configure", "update", "delete", "authorize"}, pos[0])) {
		return usageError{"usage: hrisbridge connections create|list --tenant SLUG [...] | connections test|trust-host|show|schedule|configure|update|delete|authorize --tenant SLUG CONNECTION"}
	}
	a, t, err := openTenant(ctx, *config, *tenant)
	if err != nil {
		return err
	}
	defer a.store.Close()
	if len(pos) == 2 {
		conn, err := a.store.Connection(ctx, t.ID, pos[1])
		if err != nil {
			return fmt.Errorf("connection %q: %w", pos[1], err)
		}
		switch pos[0] {
		case "update":
			return updateConnection(ctx, a, conn, fs, out)
		case "delete":
			b, err := a.bridge()
			if err != nil {
				return err
			}
			n, err := b.DeleteConnection(ctx, t.ID, conn.ID, filepath.Join(a.cfg.DataDir, "dropbox"), *purge)
			if err != nil {
				return err
			}
			a.audit(ctx, t.ID, "connection.delete", conn.ID)
			if *purge {
				fmt.Fprintf(out, "deleted connection %s; its files' records are kept, the bytes of %d kept files deleted\n", conn.Name, n)
			} else {
				fmt.Fprintf(out, "deleted connection %s; its files, runs and records are kept (--purge-files deletes the files' bytes)\n", conn.Name)
			}
			return nil
		case "trust-host":
			return trustHost(ctx, a, conn, out, *yes, os.Stdin)
		case "authorize":
			return authorizeConnection(ctx, a, conn, *redirectURL, out)
		case "show":
			return showConnection(ctx, a, conn, out)
		case "configure":
			var cfg map[string]any
			if err := json.Unmarshal(conn.Config, &cfg); err != nil {
				return err
			}
			policy, _ := cfg["policy"].(map[string]any)
			if policy == nil {
				policy = map[string]any{}
			}
			if *maxInvalid >= 0 {
				policy["max_invalid_ratio"] = *maxInvalid
			}
			if *maxShrink >= 0 {
				policy["max_shrink_ratio"] = *maxShrink
			}
			if *minOverlap >= 0 {
				policy["min_overlap_ratio"] = *minOverlap
			}
			if *absent != "" {
				policy["absent"] = *absent
			}
			cfg["policy"] = policy
			if *expectEvery >= 0 {
				cfg["expect_file_every"] = *expectEvery
			}
			raw, _ := json.Marshal(cfg)
			if err := bridge.CheckConfig(raw); err != nil {
				return usageError{err.Error()}
			}
			if err := a.store.UpdateConnectionConfig(ctx, t.ID, conn.ID, raw); err != nil {
				return err
			}
			if err := a.store.Audit(ctx, schema.AuditEntry{TenantID: t.ID, Actor: cliActor(), Action: "connection.configure", Resource: conn.ID}); err != nil {
				return err
			}
			conn.Config = raw
			return showConnection(ctx, a, conn, out)
		case "schedule":
			if err := scheduler.CheckSchedule(*cronSpec, *tz, *catchUp); err != nil {
				return usageError{err.Error()}
			}
			if err := a.store.UpdateConnectionSchedule(ctx, t.ID, conn.ID, *cronSpec, *tz, *catchUp); err != nil {
				return err
			}
			if err := a.store.Audit(ctx, schema.AuditEntry{TenantID: t.ID, Actor: cliActor(), Action: "connection.schedule", Resource: conn.ID}); err != nil {
				return err
			}
			conn, err = a.store.Connection(ctx, t.ID, conn.ID)
			if err != nil {
				return err
			}
			return showConnection(ctx, a, conn, out)
		}
		return testConnection(ctx, a, conn, out)
	}
	if pos[0] == "list" {
		cs, err := a.store.Connections(ctx, t.ID)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tKIND\tLAYOUT\tSCHEDULE\tTIME ZONE\tHEALTH\tID")
		for _, c := range cs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Kind, c.Layout, c.Schedule, c.TimeZone, c.Health.State, c.ID)
		}
		return w.Flush()
	}
	if *kind == schema.ConnAPI {
		if err := scheduler.CheckSchedule(*schedule, *tz, *catchUp); err != nil {
			return usageError{err.Error()}
		}
		conn, err := createAPIConnection(ctx, a, t, *name, *layout, *schedule, *baseURL, params, *secretFile)
		if err != nil {
			return err
		}
		a.audit(ctx, t.ID, "connection.create", conn.ID)
		return showConnection(ctx, a, conn, out)
	}
	if *kind != schema.ConnSFTP {
		return usageError{fmt.Sprintf("--kind %q: sftp or api (drop box logins: hrisbridge dropbox add)", *kind)}
	}
	c.Patterns = strings.Split(*pattern, ",")
	if err := c.Validate(); err != nil {
		return usageError{err.Error()}
	}
	if err := bridge.CheckLayout(ctx, a.store, t.ID, "", *layout); err != nil {
		return usageError{err.Error()}
	}
	if err := scheduler.CheckSchedule(*schedule, *tz, *catchUp); err != nil {
		return usageError{err.Error()}
	}
	var sec bridge.SFTPSecret
	sec.Password = os.Getenv("HRISBRIDGE_SFTP_PASSWORD")
	for _, f := range []struct {
		path string
		dst  *string
	}{{*pwFile, &sec.Password}, {*keyFile, &sec.PrivateKey}, {*passFile, &sec.Passphrase},
		{*pgpKey, &sec.PGP.PrivateKey}, {*pgpPass, &sec.PGP.Passphrase}, {*pgpSigner, &sec.PGP.SignerKey}} {
		if f.path != "" {
			b, err := os.ReadFile(f.path)
			if err != nil {
				return err
			}
			*f.dst = strings.TrimRight(string(b), "\r\n")
		}
	}
	if sec.Password == "" && sec.PrivateKey == "" {
		return usageError{"give --password-file, HRISBRIDGE_SFTP_PASSWORD or --private-key-file"}
	}
	conn, err := createSFTPConnection(ctx, a, t.ID, *name, *layout, *schedule, c, sec)
	if errors.Is(err, schema.ErrDuplicate) {
		return fmt.Errorf("tenant %s has a connection named %q already: choose another --name, or change it with connections update", *tenant, *name)
	}
	if err != nil {
		return err
	}
	a.audit(ctx, t.ID, "connection.create", conn.ID)
	if *tz != "UTC" || *catchUp != schema.CatchUpOnce {
		if err := a.store.UpdateConnectionSchedule(ctx, t.ID, conn.ID, *schedule, *tz, *catchUp); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "created connection %s (%s)\n", conn.Name, conn.ID)
	if *schedule == "" {
		fmt.Fprintln(out, "it has no schedule: it runs only on demand (sync) and in enrollment windows; set one with connections schedule --cron SPEC")
	}
	return nil
}

// updateConnection changes what the flags given name: layout, enabled,
// SFTP settings, credentials and PGP keys; the rest stays.
func updateConnection(ctx context.Context, a *app, conn schema.Connection, fs *flag.FlagSet, out io.Writer) error {
	var ch bridge.ConnectionChange
	cfgKeys := map[string]string{"host": "host", "user": "user", "host-key": "host_key", "dir": "dir", "ack": "ack", "archive-dir": "archive_dir",
		"stable-for": "stable_for", "marker": "marker", "order": "order"}
	secretFiles := map[string]string{"password-file": "password", "private-key-file": "private_key", "passphrase-file": "passphrase",
		"pgp-private-key-file": "pgp_private_key", "pgp-passphrase-file": "pgp_passphrase", "pgp-signer-key-file": "pgp_signer_key"}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err != nil {
			return
		}
		v := f.Value.String()
		switch {
		case f.Name == "layout":
			ch.Layout = &v
		case f.Name == "enabled":
			b := v == "true"
			ch.Enabled = &b
		case f.Name == "port":
			n, _ := strconv.Atoi(v)
			ch.Config = setKey(ch.Config, "port", n)
		case f.Name == "recursive":
			ch.Config = setKey(ch.Config, "recursive", v == "true")
		case f.Name == "pattern":
			ch.Config = setKey(ch.Config, "patterns", strings.Split(v, ","))
		case cfgKeys[f.Name] != "":
			ch.Config = setKey(ch.Config, cfgKeys[f.Name], v)
		case secretFiles[f.Name] != "":
			var b []byte
			if b, err = os.ReadFile(v); err == nil {
				if ch.Secret == nil {
					ch.Secret = map[string]string{}
				}
				ch.Secret[secretFiles[f.Name]] = strings.TrimRight(string(b), "\r\n")
			}
		case f.Name == "tenant" || f.Name == "config":
		default:
			err = usageError{fmt.Sprintf("--%s does not apply to update (see connections schedule and configure)", f.Name)}
		}
	})
	if err != nil {
		return err
	}
	if ch.Layout == nil && ch.Enabled == nil && ch.Config == nil && ch.Secret == nil {
		return usageError{"connections update: give what to change (--layout, --enabled, SFTP settings, credential or PGP key files)"}
	}
	b, err := a.bridge()
	if err != nil {
		return err
	}
	conn, err = b.UpdateConnection(ctx, conn.TenantID, conn.ID, ch)
	if errors.Is(err, schema.ErrInvalid) {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	a.audit(ctx, conn.TenantID, "connection.update", conn.ID)
	return showConnection(ctx, a, conn, out)
}

func setKey(m map[string]any, k string, v any) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	m[k] = v
	return m
}

// createSFTPConnection stores an sftp connection with its secret sealed.
func createSFTPConnection(ctx context.Context, a *app, tenantID, name, layout, schedule string, c bridge.SFTPConfig, sec bridge.SFTPSecret) (schema.Connection, error) {
	cfgJSON, _ := json.Marshal(c)
	secJSON, _ := json.Marshal(sec)
	sealed, err := a.box.Seal(secJSON)
	if err != nil {
		return schema.Connection{}, err
	}
	conn := schema.Connection{TenantID: tenantID, Name: name, Kind: schema.ConnSFTP, Layout: layout, Schedule: schedule,
		Config: cfgJSON, Secret: sealed, Enabled: true}
	if name == "" {
		return conn, usageError{"--name is required"}
	}
	return conn, a.store.CreateConnection(ctx, &conn)
}

func cmdSync(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("sync")
	tenant := fs.String("tenant", "", "tenant slug")
	queue := fs.Bool("queue", false, "queue the sync as a job for the running servers instead of pulling here")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *tenant == "" {
		return usageError{"usage: hrisbridge sync [--queue] --tenant SLUG CONNECTION"}
	}
	a, t, err := openTenant(ctx, *config, *tenant)
	if err != nil {
		return err
	}
	defer a.store.Close()
	conn, err := a.store.Connection(ctx, t.ID, pos[0])
	if err != nil {
		return fmt.Errorf("connection %q: %w", pos[0], err)
	}
	b, err := a.bridge()
	if err != nil {
		return err
	}
	if *queue {
		jobs, err := a.jobs(ctx, b)
		if err != nil {
			return err
		}
		run, err := jobs.EnqueueSync(ctx, conn, schema.TriggerManual)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "sync %s queued as job %d\n", run.ID, run.JobID)
		return nil
	}
	run, results, err := b.Sync(ctx, conn, schema.TriggerManual)
	printResults(out, results)
	if err != nil {
		return failedWithFix(out, err)
	}
	fmt.Fprintf(out, "sync %s: %s, %d files, %d rows\n", run.ID, run.Status, run.Files, run.Rows)
	return nil
}

func printResults(out io.Writer, results []bridge.Result) {
	for _, r := range results {
		f := r.File
		fmt.Fprintf(out, "%s: %s (%d rows: %d created, %d updated, %d unchanged, %d invalid, %d missing; file %s)", f.Name, f.Status, f.Rows, f.Created, f.Updated, f.Unchanged, f.Invalid, r.Missing, f.ID)
		if f.Detail != "" {
			fmt.Fprintf(out, ": %s", f.Detail)
		}
		fmt.Fprintln(out)
	}
}

func cmdErrors(args []string, out io.Writer) error {
	fs, _ := flags("errors")
	markdown := fs.Bool("markdown", false, "print the catalog as the Markdown table of docs/errors.md")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *markdown {
		fmt.Fprintln(out, "# Error catalog\n\nEvery rejected row or file carries one of these codes (`hrisbridge errors`, `GET /v1/errors`).\n\n| code | what happened | what to do |\n|---|---|---|")
		for _, code := range schema.CatalogCodes() {
			e := schema.Catalog[code]
			fmt.Fprintf(out, "| `%s` | %s | %s |\n", e.Code, e.Title, e.Fix)
		}
		return nil
	}
	for _, code := range schema.CatalogCodes() {
		e := schema.Catalog[code]
		fmt.Fprintf(out, "%s  %s\n    Fix: %s\n", e.Code, e.Title, e.Fix)
	}
	return nil
}

// trustHost pins the host key the server presents now. It is the one way
// a key becomes trusted: run it after confirming the fingerprint with the
// server's owner.
func trustHost(ctx context.Context, a *app, conn schema.Connection, out io.Writer, yes bool, in io.Reader) error {
	var cfg map[string]any
	if err := json.Unmarshal(conn.Config, &cfg); err != nil {
		return err
	}
	host, _ := cfg["host"].(string)
	port, _ := cfg["port"].(float64)
	key, err := bridge.ScanHostKey(ctx, host, int(port))
	if err != nil {
		return err
	}
	old, _ := cfg["host_key"].(string)
	fmt.Fprintf(out, "%s presents %s %s (pinned now: %s)\n", host, key.Type(), ssh.FingerprintSHA256(key), orNone(old))
	if !yes {
		fmt.Fprint(out, "Compare it with the fingerprint the employer gives you. Pin it? [y/N] ")
		answer, _ := bufio.NewReader(in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(out)
			return usageError{"not pinned (answer y, or pass --yes when there is no terminal)"}
		}
	}
	cfg["host_key"] = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	b, _ := json.Marshal(cfg)
	if err := a.store.UpdateConnectionConfig(ctx, conn.TenantID, conn.ID, b); err != nil {
		return err
	}
	if err := a.store.Audit(ctx, schema.AuditEntry{TenantID: conn.TenantID, Actor: cliActor(), Action: "connection.trust_host", Resource: conn.ID}); err != nil {
		return err
	}
	fmt.Fprintf(out, "pinned %s for connection %s (was: %s)\n", ssh.FingerprintSHA256(key), conn.Name, orNone(old))
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// failedWithFix prints a sync or test failure with the catalog's fix and
// returns an exit status that prints nothing more (the error is shown
// once). Errors without a code are returned as they are.
func failedWithFix(out io.Writer, err error) error {
	var se *bridge.SyncError
	if !errors.As(err, &se) {
		return err
	}
	fmt.Fprintf(out, "FAILED: %v\nFix: %s\n", se, se.Fix())
	return exitError{1, nil}
}

// testConnection dials, checks the host key, logs in and lists what a pull
// would take, with the error's fix when a step fails.
func testConnection(ctx context.Context, a *app, conn schema.Connection, out io.Writer) error {
	b, err := a.bridge()
	if err != nil {
		return err
	}
	p, err := b.Test(ctx, conn)
	if err != nil {
		return failedWithFix(out, err)
	}
	fmt.Fprintf(out, "host key ok, login ok; %d files would be taken:\n", len(p.Files))
	for _, f := range p.Files {
		fmt.Fprintln(out, "  "+f)
	}
	return nil
}

// showConnection prints a connection (without credentials) with its
// health and next syncs, as GET /v1/connections/{id} does.
func showConnection(ctx context.Context, a *app, conn schema.Connection, out io.Writer) error {
	ws, err := a.store.Windows(ctx, conn.TenantID)
	if err != nil {
		return err
	}
	conn.Secret = nil
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		schema.Connection
		scheduler.Preview
	}{conn, scheduler.PreviewOf(conn, ws, time.Now(), 5)})
}

func cmdWindows(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("windows")
	tenant := fs.String("tenant", "", "tenant slug")
	conn := fs.String("connection", "", "connection the window applies to (default: every connection of the tenant)")
	name := fs.String("name", "", "window name, e.g. \"open enrollment 2027\"")
	from := fs.String("from", "", "first day, YYYY-MM-DD (in the connection's time zone)")
	to := fs.String("to", "", "last day, YYYY-MM-DD, inclusive")
	schedule := fs.String("schedule", "", "cron schedule while the window is open, e.g. \"*/15 * * * *\"")
	finalPull := fs.Bool("final-pull", false, "sync once more when the window closes")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *tenant == "" || !(len(pos) == 1 && (pos[0] == "add" || pos[0] == "list") || len(pos) == 2 && pos[0] == "delete") {
		return usageError{"usage: hrisbridge windows add --tenant SLUG --name N --from YYYY-MM-DD --to YYYY-MM-DD --schedule CRON [--connection C] [--final-pull] | windows list|delete ID --tenant SLUG"}
	}
	a, t, err := openTenant(ctx, *config, *tenant)
	if err != nil {
		return err
	}
	defer a.store.Close()
	switch pos[0] {
	case "list":
		ws, err := a.store.Windows(ctx, t.ID)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tFROM\tTO\tSCHEDULE\tFINAL PULL\tCONNECTION")
		for _, x := range ws {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%v\t%s\n", x.ID, x.Name, x.StartsOn, x.EndsOn, x.Schedule, x.FinalPull, cmp.Or(x.ConnectionID, "(all)"))
		}
		return w.Flush()
	case "delete":
		if err := a.store.DeleteWindow(ctx, t.ID, pos[1]); err != nil {
			return fmt.Errorf("window %s: %w", pos[1], err)
		}
		fmt.Fprintf(out, "deleted window %s\n", pos[1])
		return a.store.Audit(ctx, schema.AuditEntry{TenantID: t.ID, Actor: cliActor(), Action: "window.delete", Resource: pos[1]})
	}
	w := schema.Window{TenantID: t.ID, Name: *name, StartsOn: *from, EndsOn: *to, Schedule: *schedule, FinalPull: *finalPull}
	tz := "UTC"
	if *conn != "" {
		c, err := a.store.Connection(ctx, t.ID, *conn)
		if err != nil {
			return fmt.Errorf("connection %q: %w", *conn, err)
		}
		w.ConnectionID, tz = c.ID, c.TimeZone
	}
	if err := scheduler.CheckWindow(w, tz); err != nil {
		return usageError{err.Error()}
	}
	if err := a.store.CreateWindow(ctx, &w); err != nil {
		return err
	}
	fmt.Fprintf(out, "created window %s (%s): %s..%s, %s\n", w.Name, w.ID, w.StartsOn, w.EndsOn, w.Schedule)
	return a.store.Audit(ctx, schema.AuditEntry{TenantID: t.ID, Actor: cliActor(), Action: "window.create", Resource: w.ID})
}

// cmdAudit prints the audit log: PII reads and every change, by API key or
// CLI user, newest first.
func cmdAudit(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("audit")
	tenant := fs.String("tenant", "", "tenant slug (default: every tenant)")
	action := fs.String("action", "", "an action (pii.read, key.revoke, ...) or a family ending in a dot (key.)")
	actor := fs.String("actor", "", "an API key id or a CLI user (cli:NAME)")
	since := fs.String("since", "", "from this time (RFC 3339, or a duration ago such as 24h)")
	until := fs.String("until", "", "before this time (RFC 3339)")
	limit := fs.Int("limit", 100, "entries to show")
	asJSON := fs.Bool("json", false, "print JSON, one entry a line")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{"usage: hrisbridge audit [--tenant SLUG] [--action A] [--actor KEY|cli:USER] [--since T] [--until T] [--limit N] [--json]"}
	}
	q := schema.AuditQuery{Action: *action, Actor: *actor, Limit: *limit}
	for _, f := range []struct {
		name, val string
		dst       *time.Time
	}{{"since", *since, &q.Since}, {"until", *until, &q.Until}} {
		if f.val == "" {
			continue
		}
		if d, err := time.ParseDuration(f.val); err == nil {
			*f.dst = time.Now().Add(-d)
		} else if *f.dst, err = time.Parse(time.RFC3339, f.val); err != nil {
			return usageError{fmt.Sprintf("--%s %q is not an RFC 3339 time or a duration", f.name, f.val)}
		}
	}
	a, tenantID, err := tenantScope(ctx, *config, *tenant)
	if err != nil {
		return err
	}
	defer a.store.Close()
	es, err := a.store.AuditLog(ctx, tenantID, q)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		for _, e := range es {
			enc.Encode(e) //nolint:errcheck
		}
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AT\tTENANT\tACTOR\tACTION\tRESOURCE")
	for _, e := range es {
		who := e.Actor
		if e.KeyID != "" {
			who = "key:" + e.KeyID
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.TenantID, who, e.Action, e.Resource)
	}
	return w.Flush()
}
