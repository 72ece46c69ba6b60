// Command hrisbridge is the SFTP-to-API bridge appliance: it pulls HRIS file
// drops, parses them with declarative layouts, stores normalized records
// per tenant and serves them over a REST API.
//
// Run `hrisbridge help` for the commands.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/secret"
	"github.com/hrisbridge/hrisbridge/schema/storage"
)

const usage = `hrisbridge: legacy HRIS file drops in, a modern API out.

Usage:
  hrisbridge demo [--addr HOST:PORT] [--sftp-addr HOST:PORT] [--dropbox-addr HOST:PORT] [--dir DIR]   zero-config demo: embedded store and SFTP server, sample data, API
  hrisbridge serve [--config FILE]                 run the API and the scheduled pulls
  hrisbridge migrate [--config FILE]               apply database migrations
  hrisbridge tenants create SLUG [--name NAME]     create a tenant (an employer)
  hrisbridge tenants list
  hrisbridge keys create --tenant SLUG --scopes read,pii:read [--name NAME] [--expires-in 720h]
                                                   create an API key; printed once, stored hashed
  hrisbridge keys list [--tenant SLUG]             API keys with last use, expiry, revocation (never the key)
  hrisbridge keys revoke [--tenant SLUG] ID|PREFIX stop a key at once
  hrisbridge connections create --tenant SLUG --name NAME --host HOST --user USER --host-key KEY [...]
  hrisbridge connections create --tenant SLUG --name NAME --kind api --layout CONNECTOR [--param K=V ...] [--base-url URL] [--secret-file F.json]
                                                   an API connection (bamboohr, gusto, or a tenant's own connector)
  hrisbridge connections authorize --tenant SLUG CONNECTION [--redirect-url URL]
                                                   print the OAuth consent link for an authorization-code connection
  hrisbridge connections list --tenant SLUG
  hrisbridge connections test --tenant SLUG CONNECTION       dial, check host key, log in, list what a pull takes
  hrisbridge connections trust-host --tenant SLUG CONNECTION [--yes]
                                                   show the key the server presents now and pin it once confirmed
  hrisbridge connections show --tenant SLUG CONNECTION       health, schedule, active window, next syncs
  hrisbridge connections schedule --tenant SLUG CONNECTION --cron SPEC [--time-zone TZ] [--catch-up once|skip]
  hrisbridge connections configure --tenant SLUG CONNECTION [--max-invalid-ratio R] [--max-shrink-ratio R] [--min-overlap-ratio R]
                                   [--absent flag|terminate] [--expect-file-every N]
  hrisbridge connections update --tenant SLUG CONNECTION [--layout L] [--enabled=BOOL] [SFTP settings] [credential or PGP key files]
  hrisbridge connections delete --tenant SLUG CONNECTION [--purge-files]
                                                   remove it; its files' records stay (--purge-files: their bytes go)
  hrisbridge sync [--queue] --tenant SLUG CONNECTION
                                                   pull a connection now (--queue: as a job for the servers)
  hrisbridge windows add --tenant SLUG --name N --from DATE --to DATE --schedule CRON [--connection C] [--final-pull]
  hrisbridge windows list|delete ID --tenant SLUG  enrollment windows (their schedule supersedes the base one)
  hrisbridge ingest --tenant SLUG --layout NAME [--connection C] [--json] FILE
                                                   apply one file (backfills, support)
  hrisbridge dropbox add --tenant SLUG --connection NAME --user USER (--password-file F | --authorized-keys F) [--layout L]
                                                   a drop box login for HR admins (SFTP, sftp_addr)
  hrisbridge dropbox list --tenant SLUG | dropbox update --tenant SLUG USER [...] | dropbox delete --tenant SLUG USER
  hrisbridge files list|errors ID|release ID|discard ID|replay ID|ack ID --tenant SLUG [--overwrite]
                                                   received files; release or discard a held one; replay one; an 834's 999
  hrisbridge console operator add EMAIL [--pii] | console operator password EMAIL
                                                   a console operator (password from stdin, or generated and printed)
  hrisbridge console link --tenant SLUG [--email E] [--pii] [--expires-in 72h] [--url BASE]
                                                   a single-use sign-in link for an employer's HR admin
  hrisbridge audit [--tenant SLUG] [--action A] [--actor KEY|cli:USER] [--since T] [--until T] [--limit N] [--json]
                                                   the audit log: PII reads and every change
  hrisbridge layouts                               list the built-in layouts
  hrisbridge layouts show NAME [--tenant T [--connection C]]
                                                   print the effective layout (built-in + overrides)
  hrisbridge layouts infer FILE [--entity employee] [-o OUT.yaml] [--json]
                                                   propose a layout from a sample file, and validate the sample with it
  hrisbridge layouts set NAME FILE --tenant T [--connection C]
                                                   store a tenant or connection override (deep-merged)
  hrisbridge connectors [list] | connectors show NAME [--tenant T [--connection C]]
                                                   the built-in API connector definitions, or an effective one
  hrisbridge connectors set NAME FILE --tenant T [--connection C]
                                                   store a tenant or connection override of a connector (deep-merged)
  hrisbridge export 834 --tenant SLUG [--connection C] [--full | --changes-since SEQ] [-o FILE]
                                                   the tenant's people, dependents and coverages as an 834 (it holds SSNs)
  hrisbridge mock-hris [--addr HOST:PORT] [--employees N]
                                                   a local HRIS API in BambooHR and Gusto shapes, with faults
  hrisbridge validate --layout NAME|FILE [--json] [--errors-csv OUT] FILE...
                                                   dry run: parse and validate files, no store
  hrisbridge bench ingest --rows N [--db URL]      whole pipeline vs a plain load of the same file
  hrisbridge bench connector --rows N [--db URL]   an API connection's sync from the mock HRIS vs the same records as a file
  hrisbridge bench 834 --rows N [--db URL]         a synthetic 834 full file vs the census CSV of the same people
  hrisbridge bench fleet --db postgres://... [--tenants 500] [--replicas 1,3] [--ticks 2]
                                                   employers' SFTP drops synced at one tick by R replica processes
  hrisbridge synth [--rows N] [--format csv|fixed] [-o FILE]
                                                   write a synthetic census for load tests
  hrisbridge errors [--markdown]                   list the error catalog
  hrisbridge healthcheck [--url URL]               probe /healthz (for container HEALTHCHECK)

Every command reads --config FILE (optional) and HRISBRIDGE_* environment variables;
hrisbridge COMMAND --help (or hrisbridge help COMMAND) prints its flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintln(os.Stderr, "hrisbridge:", ee.err)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "hrisbridge:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// run dispatches a command line; out receives the command's output.
// COMMAND --help (or help COMMAND) prints the command's usage and flags.
func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, usage)
		return nil
	}
	if len(args) == 2 && args[0] == "help" {
		args = []string{args[1], "--help"}
	}
	err := dispatch(ctx, args[0], args[1:], out)
	var h helpRequested
	if errors.As(err, &h) {
		printHelp(out, args[0], h.fs)
		return nil
	}
	return err
}

// helpRequested is what parse returns for -h or --help.
type helpRequested struct{ fs *flag.FlagSet }

func (helpRequested) Error() string { return "help requested" }

// printHelp prints a command's lines of the usage text and its flags.
func printHelp(out io.Writer, cmd string, fs *flag.FlagSet) {
	fmt.Fprintln(out, "Usage:")
	lines := strings.Split(usage, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "  hrisbridge "+cmd+" ") && l != "  hrisbridge "+cmd {
			continue
		}
		fmt.Fprintln(out, l)
		for _, more := range lines[i+1:] {
			if !strings.HasPrefix(more, "      ") {
				break
			}
			fmt.Fprintln(out, more)
		}
	}
	fmt.Fprintln(out, "\nFlags:")
	fs.SetOutput(out)
	fs.PrintDefaults()
}

func dispatch(ctx context.Context, cmd string, rest []string, out io.Writer) error {
	switch cmd {
	case "demo":
		return cmdDemo(ctx, rest, out)
	case "serve":
		return cmdServe(ctx, rest, out)
	case "migrate":
		return cmdMigrate(ctx, rest, out)
	case "tenants":
		return cmdTenants(ctx, rest, out)
	case "keys":
		return cmdKeys(ctx, rest, out)
	case "connections":
		return cmdConnections(ctx, rest, out)
	case "windows":
		return cmdWindows(ctx, rest, out)
	case "sync":
		return cmdSync(ctx, rest, out)
	case "layouts":
		return cmdLayouts(ctx, rest, out)
	case "connectors":
		return cmdConnectors(ctx, rest, out)
	case "mock-hris":
		return cmdMockHRIS(ctx, rest, out)
	case "export":
		return cmdExport(ctx, rest, out)
	case "ingest":
		return cmdIngest(ctx, rest, out)
	case "dropbox":
		return cmdDropbox(ctx, rest, out)
	case "files":
		return cmdFiles(ctx, rest, out)
	case "console":
		return cmdConsole(ctx, rest, out)
	case "audit":
		return cmdAudit(ctx, rest, out)
	case "bench":
		return cmdBench(ctx, rest, out)
	case "synth":
		return cmdSynth(ctx, rest, out)
	case "validate":
		return cmdValidate(ctx, rest, out)
	case "errors":
		return cmdErrors(rest, out)
	case "healthcheck":
		return cmdHealthcheck(ctx, rest, out)
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q (see hrisbridge help)", cmd)}
}

// flags returns a FlagSet with the shared --config flag.
func flags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, fs.String("config", "", "YAML config file")
}

// parse parses args, allowing flags after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, helpRequested{fs}
			}
			return nil, usageError{fs.Name() + ": " + err.Error() + " (see hrisbridge " + fs.Name() + " --help)"}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// app is what a command needs: config, logger, secret box and the
// migrated store.
type app struct {
	cfg   Config
	log   *slog.Logger
	box   *secret.Box
	store schema.Store
}

// open loads config and opens the migrated store.
func open(ctx context.Context, configPath string) (*app, error) {
	cfg, err := loadConfig(configPath)
	if err != nil {
		return nil, err
	}
	box, err := cfg.box()
	if err != nil {
		return nil, err
	}
	s, err := openMigrated(ctx, cfg.DatabaseURL, box)
	if err != nil {
		return nil, err
	}
	return &app{cfg: cfg, log: cfg.logger(), box: box, store: s}, nil
}

// openTenant opens the app and finds the tenant a command acts for.
func openTenant(ctx context.Context, configPath, slug string) (*app, schema.Tenant, error) {
	a, err := open(ctx, configPath)
	if err != nil {
		return nil, schema.Tenant{}, err
	}
	t, err := a.store.TenantBySlug(ctx, slug)
	if err != nil {
		a.store.Close()
		return nil, t, fmt.Errorf("tenant %q: %w", slug, err)
	}
	return a, t, nil
}

// openMigrated opens the store at url and applies pending migrations.
func openMigrated(ctx context.Context, url string, box schema.Sealer) (schema.Store, error) {
	s, err := storage.Open(ctx, url, box)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return s, nil
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func (a *app) bridge() (*bridge.Bridge, error) { return a.bridgeWith(nil) }

// checkpoint is the bridge's Config.Checkpoint: nil, except in the crash
// tests' child processes (TestMain).
var checkpoint func(point string)

// bridgeWith builds the bridge, reporting to m when set.
func (a *app) bridgeWith(m *metrics) (*bridge.Bridge, error) {
	d, err := a.cfg.durations()
	if err != nil {
		return nil, err
	}
	cfg := bridge.Config{Store: a.store, Box: a.box, Logger: a.log, MaxInvalidRatio: a.cfg.MaxInvalidRatio,
		SpoolDir: filepath.Join(a.cfg.DataDir, "spool"), FilesDir: a.cfg.FilesDir, FilesURL: a.cfg.FilesURL, LeaseTTL: d.leaseTTL,
		Checkpoint: checkpoint,
		MaxDecoded: int64(a.cfg.MaxDecodedBytes), IndexCache: cmp.Or(int(a.cfg.IndexCache), -1), // config's 0 is none, bridge's is the default
		Limits: parsers.Limits{MaxLine: int(a.cfg.MaxLineBytes), MaxField: int(a.cfg.MaxFieldBytes), MaxColumns: int(a.cfg.MaxColumns)}}
	if m != nil {
		cfg.Observe, cfg.ObserveRun = m.file, m.run
	}
	return bridge.New(cfg)
}
