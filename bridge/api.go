package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/hrisbridge/hrisbridge/bridge/connector"
	"github.com/hrisbridge/hrisbridge/parsers"
	"github.com/hrisbridge/hrisbridge/schema"
)

// APIConfig is an API connection's config. Its layout names the
// connector definition (bamboohr, gusto, or a tenant's own).
type APIConfig struct {
	// Params fill the definition's {name} placeholders (company,
	// company_id, ...).
	Params map[string]string `json:"params,omitempty"`
	// BaseURL replaces the definition's (a sandbox, hrisbridge mock-hris).
	BaseURL string `json:"base_url,omitempty"`
	// RequestsPerSecond replaces the definition's request budget for this
	// connection (the employer's plan may allow more, or less).
	RequestsPerSecond float64 `json:"requests_per_second,omitempty"`
	// State is written by the syncs: when the last one and the last full
	// one started.
	State APIState `json:"state,omitzero"`
}

// APIState is what an API connection's syncs remember.
type APIState struct {
	LastSync time.Time `json:"last_sync,omitzero"`
	LastFull time.Time `json:"last_full,omitzero"`
	// Definition is the digest of the effective definition the last full
	// sync read with: a changed mapping reads everyone again.
	Definition string `json:"definition,omitempty"`
}

// connectorOverride is the layouts-table name under which a tenant or a
// connection stores its override of a connector definition.
func connectorOverride(name string) string { return "connector:" + name }

// source opens an API connection: its definition (with the tenant's and
// connection's overrides), config and credentials.
func (b *Bridge) source(ctx context.Context, conn schema.Connection) (*connector.Source, APIConfig, error) {
	var cfg APIConfig
	if len(conn.Config) > 0 {
		if err := json.Unmarshal(conn.Config, &cfg); err != nil {
			return nil, cfg, fmt.Errorf("connection %s config: %w", conn.Name, err)
		}
	}
	def, err := b.definition(ctx, conn)
	if err != nil {
		return nil, cfg, err
	}
	secret := map[string]string{}
	if err := b.openSecret(conn, &secret); err != nil {
		return nil, cfg, err
	}
	// Requests retry on their own (429, 5xx: five times, from the pull's
	// first wait); a pull that still fails is retried as a whole.
	src := &connector.Source{Def: def, Params: cfg.Params, Secret: secret, BaseURL: cfg.BaseURL, RetryBase: b.cfg.RetryBase,
		RequestsPerSecond: cfg.RequestsPerSecond}
	src.SaveToken = func(ctx context.Context, tok *oauth2.Token) error {
		return b.saveToken(ctx, conn.TenantID, conn.ID, tok)
	}
	return src, cfg, nil
}

func (b *Bridge) definition(ctx context.Context, conn schema.Connection) (*connector.Definition, error) {
	name := connectorOverride(conn.Layout)
	tenant, err := b.cfg.Store.Layout(ctx, conn.TenantID, "", name)
	if err != nil && !errors.Is(err, schema.ErrNotFound) {
		return nil, err
	}
	own, err := b.cfg.Store.Layout(ctx, conn.TenantID, conn.ID, name)
	if err != nil && !errors.Is(err, schema.ErrNotFound) {
		return nil, err
	}
	return connector.Resolve(conn.Layout, tenant, own)
}

// saveToken stores a token the provider issued in the connection's sealed
// secret, at once: with rotating refresh tokens the previous one no
// longer works.
func (b *Bridge) saveToken(ctx context.Context, tenantID, connID string, tok *oauth2.Token) error {
	c, err := b.cfg.Store.Connection(ctx, tenantID, connID)
	if err != nil {
		return err
	}
	if c.Secret, err = b.mergeSecret(c.Secret, connector.TokenSecret(tok)); err != nil {
		return err
	}
	return b.cfg.Store.UpdateConnection(ctx, &c)
}

// apiLayout is the layout of a fetch's CSV: name is "connector.entity"
// with "/delta" for an incremental read.
func (b *Bridge) apiLayout(ctx context.Context, conn schema.Connection, name string) (*parsers.Layout, error) {
	def, err := b.definition(ctx, conn)
	if err != nil {
		return nil, err
	}
	name, delta := strings.CutSuffix(name, "/delta")
	_, entity, ok := strings.Cut(name, ".")
	if !ok {
		return nil, fmt.Errorf("layout %q of an API connection's file is not connector.entity", name)
	}
	mode := "full"
	if delta {
		mode = "delta"
	}
	return def.Layout(entity, mode)
}

// pullAPI reads every entity of an API connection's definition and
// ingests each as a file: plans, employees, dependents, enrollments. A
// fetch that fails (a page missing, credentials refused, a required field
// gone) applies nothing of its entity and fails the run. A sync is full
// when the definition has no incremental read for the entity, on the
// first sync, and when the last full one is older than full_sync_every;
// otherwise it asks only for what changed since the last sync began.
func (b *Bridge) pullAPI(ctx context.Context, conn schema.Connection, run *schema.SyncRun) ([]Result, error) {
	src, cfg, err := b.source(ctx, conn)
	if err != nil {
		return nil, err
	}
	policy, err := policyOf(conn.Config)
	if err != nil {
		return nil, err
	}
	src.KeepDrift = policy.Drift == "hold"
	start := time.Now().UTC()
	every := time.Duration(src.Def.FullSyncEvery)
	if every <= 0 {
		every = 24 * time.Hour
	}
	digest := src.Def.Digest()
	fullDue := cfg.State.LastFull.IsZero() || start.Sub(cfg.State.LastFull) >= every || cfg.State.Definition != digest
	var results []Result
	for _, entity := range []string{"benefit_plan", "employee", "dependent", "enrollment"} {
		e := src.Def.Entities[entity]
		if e == nil {
			continue
		}
		full := fullDue || e.Incremental == nil
		var since time.Time
		layout := src.Def.Name + "." + entity
		if !full {
			since, layout = cfg.State.LastSync, layout+"/delta"
		}
		res, err := b.fetchAndIngest(ctx, conn, src, entity, since, layout, start)
		if err != nil {
			return results, err
		}
		results = append(results, res)
		run.Files++
		run.Rows += res.File.Rows
		switch res.File.Status {
		case schema.FileRejected, schema.FileHeld:
			// Nothing of it applied: the next sync must read the same
			// span again, so the state does not move.
			return results, nil
		}
	}
	cfg.State.LastSync = start
	if fullDue {
		cfg.State.LastFull, cfg.State.Definition = start, digest
	}
	return results, b.saveAPIState(ctx, conn, cfg.State)
}

// fetchAndIngest fetches one entity into the spool and ingests it.
func (b *Bridge) fetchAndIngest(ctx context.Context, conn schema.Connection, src *connector.Source, entity string, since time.Time, layout string, start time.Time) (Result, error) {
	pr, pw := io.Pipe()
	var st connector.Stats
	go func() {
		var err error
		st, err = src.Fetch(ctx, entity, since, pw)
		pw.CloseWithError(err)
	}()
	sp, err := spool(b.cfg.SpoolDir, pr)
	pr.CloseWithError(err) // ends a fetch the spool gave up on
	if err != nil {
		return Result{}, apiError(err)
	}
	defer os.Remove(sp.Path)
	defer sp.sync() //nolint:errcheck // see pull
	sp.layout = layout
	name := fmt.Sprintf("%s-%s-%s.csv", src.Def.Name, entity, start.Format("20060102T150405Z"))
	// Kept here, not only by ingestSpooled: a drift hold records the read
	// without it, and a release needs the bytes.
	if err := b.keepReceived(ctx, conn, &sp); err != nil {
		return Result{}, err
	}
	if len(st.Absent) > 0 {
		// policy.drift hold: the read waits for an operator.
		file := schema.File{ID: sp.ID, TenantID: conn.TenantID, ConnectionID: conn.ID, Name: name, SHA256: sp.SHA256, Size: sp.Size, Layout: layout}
		if prev, err := b.cfg.Store.FileBySHA256(ctx, conn.ID, sp.SHA256); err == nil {
			return b.duplicate(ctx, file, prev.ID) // the same drifted read again
		}
		return b.hold(ctx, file, sp, fmt.Sprintf("schema drift (%s): no record has %s: the provider renamed or dropped it; update the connector's mapping, then release or discard this read",
			schema.ECodeAPIDrift, strings.Join(st.Absent, ", ")))
	}
	res, err := b.ingestSpooled(ctx, conn, name, sp, false)
	if err == nil {
		b.cfg.Logger.InfoContext(ctx, "api entity read", "connection", conn.Name, "entity", entity, "records", st.Records,
			"pages", st.Pages, "requests", st.Requests, "retries", st.Retries, "incremental", !since.IsZero())
	}
	return res, err
}

// apiError gives a connector failure its sync error.
func apiError(err error) error {
	var ce *connector.Error
	if errors.As(err, &ce) {
		return &SyncError{Code: ce.Code, Transient: ce.Transient, Err: ce}
	}
	return err
}

func (b *Bridge) saveAPIState(ctx context.Context, conn schema.Connection, st APIState) error {
	c, err := b.cfg.Store.Connection(ctx, conn.TenantID, conn.ID)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if len(c.Config) > 0 {
		if err := json.Unmarshal(c.Config, &cfg); err != nil {
			return err
		}
	}
	if cfg == nil {
		cfg = map[string]any{}
	}
	cfg["state"] = st
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(cfg); err != nil {
		return err
	}
	return b.cfg.Store.UpdateConnectionConfig(ctx, conn.TenantID, conn.ID, bytes.TrimSpace(buf.Bytes()))
}
