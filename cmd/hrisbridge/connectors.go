package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/bridge/connector"
	"github.com/hrisbridge/hrisbridge/bridge/connector/mockhris"
	"github.com/hrisbridge/hrisbridge/schema"
)

// cmdConnectors lists, shows and overrides connector definitions.
func cmdConnectors(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("connectors")
	tenant := fs.String("tenant", "", "tenant slug (show: include its override; set: the override's tenant)")
	connection := fs.String("connection", "", "connection name or id (show: include its override; set: override for it alone)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0 || pos[0] == "list" && len(pos) == 1:
		for _, n := range connector.Builtins() {
			d, err := connector.Resolve(n, nil, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%-10s %s\n", n, strings.Join(strings.Fields(d.Description), " "))
		}
		return nil
	case pos[0] == "show" && len(pos) == 2 && *tenant == "":
		b, err := connector.BuiltinYAML(pos[1])
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	case pos[0] == "show" && len(pos) == 2, pos[0] == "set" && len(pos) == 3 && *tenant != "":
	default:
		return usageError{"usage: hrisbridge connectors [list] | connectors show NAME [--tenant T [--connection C]] | connectors set NAME FILE --tenant T [--connection C]"}
	}
	a, t, err := openTenant(ctx, *config, *tenant)
	if err != nil {
		return err
	}
	defer a.store.Close()
	connID, err := connectionID(ctx, a, t, *connection)
	if err != nil {
		return err
	}
	name, key := pos[1], "connector:"+pos[1]
	tenantBody, err := a.store.Layout(ctx, t.ID, "", key)
	if err != nil && !errors.Is(err, schema.ErrNotFound) {
		return err
	}
	var connBody []byte
	if connID != "" {
		if connBody, err = a.store.Layout(ctx, t.ID, connID, key); err != nil && !errors.Is(err, schema.ErrNotFound) {
			return err
		}
	}
	if pos[0] == "set" {
		body, err := os.ReadFile(pos[2])
		if err != nil {
			return err
		}
		if connID != "" {
			connBody = body
		} else {
			tenantBody = body
		}
		// The override must leave a valid definition before it is stored.
		if _, err := connector.Resolve(name, tenantBody, connBody); err != nil {
			return usageError{fmt.Sprintf("override not stored: %v", err)}
		}
		if err := a.store.PutLayout(ctx, t.ID, connID, key, body); err != nil {
			return err
		}
		a.audit(ctx, t.ID, "connector.set", name+"@"+scopeName(*tenant, *connection))
		fmt.Fprintf(out, "set %s override of connector %s\n", scopeName(*tenant, *connection), name)
		return nil
	}
	d, err := connector.Resolve(name, tenantBody, connBody)
	if err != nil {
		return err
	}
	b, err := yaml.Marshal(d)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

// paramFlags collects repeated --param key=value flags.
type paramFlags map[string]string

func (p paramFlags) String() string { return fmt.Sprint(map[string]string(p)) }

func (p paramFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("--param wants key=value, got %q", v)
	}
	p[k] = val
	return nil
}

// createAPIConnection makes an API connection from the connections
// create flags: --layout names the connector; --param fills its
// placeholders; --secret-file holds its credentials as JSON.
func createAPIConnection(ctx context.Context, a *app, t schema.Tenant, name, connectorName, schedule, baseURL string, params map[string]string, secretFile string) (schema.Connection, error) {
	sec := map[string]string{}
	if secretFile != "" {
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return schema.Connection{}, err
		}
		if err := json.Unmarshal(b, &sec); err != nil {
			return schema.Connection{}, usageError{fmt.Sprintf("--secret-file: a JSON object of credentials (api_key, client_id, client_secret, webhook_secret...): %v", err)}
		}
	}
	cfg := map[string]any{}
	if len(params) > 0 {
		cfg["params"] = params
	}
	if baseURL != "" {
		cfg["base_url"] = baseURL
	}
	b, err := a.bridge()
	if err != nil {
		return schema.Connection{}, err
	}
	return b.CreateConnection(ctx, t.ID, bridge.NewConnection{Name: name, Kind: schema.ConnAPI, Layout: connectorName, Config: cfg, Secret: sec, Schedule: schedule})
}

// authorizeConnection prints the link an employer's admin opens to grant
// an OAuth connection access; the running server's /oauth/callback
// completes it.
func authorizeConnection(ctx context.Context, a *app, conn schema.Connection, redirect string, out io.Writer) error {
	b, err := a.bridge()
	if err != nil {
		return err
	}
	if redirect == "" {
		host, port, _ := net.SplitHostPort(a.cfg.Addr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		redirect = "http://" + net.JoinHostPort(host, port) + "/oauth/callback"
	}
	u, err := b.AuthorizeURL(ctx, conn, redirect)
	if err != nil {
		return err
	}
	a.audit(ctx, conn.TenantID, "connection.authorize", conn.ID)
	fmt.Fprintf(out, "Open this link (or send it to the employer's admin); it works for an hour.\nThe provider returns to %s, which `hrisbridge serve` answers.\n\n%s\n", redirect, u)
	return nil
}

// cmdMockHRIS serves the mock HRIS API (both shapes) for demos and
// trials.
func cmdMockHRIS(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("mock-hris", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9900", "listen address")
	n := fs.Int("employees", 50, "employees of the mock company")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	m := mockhris.New(*n)
	access, refresh, exp := m.Grant()
	base := "http://" + l.Addr().String()
	fmt.Fprintf(out, `mock HRIS on %s with %d employees
  bamboohr: --layout bamboohr --param company=%s --base-url '%s/api/gateway.php/{company}/v1', secret {"api_key": %q}
  gusto:    --layout gusto --param company_id=%s --base-url %s, secret {"client_id": %q, "client_secret": %q}
            then hrisbridge connections authorize (the consent screen approves at once), or a token now:
            {"client_id": %q, "client_secret": %q, "access_token": %q, "refresh_token": %q, "expiry": %q}
  faults:   curl -X POST %s/mock/faults -d '{"rate_limited": 5, "fail_page": 3, "rename": {"last_name": "surname"}}'
`, base, *n, mockhris.Company, base, mockhris.APIKey, mockhris.CompanyID, base, mockhris.ClientID, mockhris.ClientSecret,
		mockhris.ClientID, mockhris.ClientSecret, access, refresh, exp.UTC().Format("2006-01-02T15:04:05Z"), base)
	srv := &http.Server{Handler: m}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// cmdExport writes a tenant's people as an 834 (for a platform that feeds
// a carrier): hrisbridge export 834 --tenant T [--connection C]
// [--full | --changes-since SEQ] [-o FILE].
func cmdExport(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("export")
	tenant := fs.String("tenant", "", "tenant slug")
	connection := fs.String("connection", "", "only the employees last delivered by this connection")
	full := fs.Bool("full", false, "everyone, as an audit (full) file; the default when --changes-since is not given")
	since := fs.Int64("changes-since", -1, "only the employees the event feed changed after this seq, as a change file")
	output := fs.String("o", "", "write to this file (default: standard output)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "834" || *tenant == "" || *full && *since >= 0 {
		return usageError{"usage: hrisbridge export 834 --tenant SLUG [--connection C] [--full | --changes-since SEQ] [-o FILE]"}
	}
	a, t, err := openTenant(ctx, *config, *tenant)
	if err != nil {
		return err
	}
	defer a.store.Close()
	connID, err := connectionID(ctx, a, t, *connection)
	if err != nil {
		return err
	}
	w := out
	if *output != "" {
		f, err := os.OpenFile(*output, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600) // it holds SSNs
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	n, err := bridge.Export834(ctx, a.store, t, connID, *since < 0, max(*since, 0), w, time.Now().UTC())
	if err != nil {
		return err
	}
	a.audit(ctx, t.ID, "export.834", fmt.Sprintf("%d subscribers", n))
	if *output != "" {
		fmt.Fprintf(out, "wrote %d subscribers to %s\n", n, *output)
	}
	return nil
}

// connectionID resolves a --connection flag (a name or id) of tenant t:
// "" when the flag is empty.
func connectionID(ctx context.Context, a *app, t schema.Tenant, connection string) (string, error) {
	if connection == "" {
		return "", nil
	}
	c, err := a.store.Connection(ctx, t.ID, connection)
	if err != nil {
		return "", fmt.Errorf("connection %q: %w", connection, err)
	}
	return c.ID, nil
}
