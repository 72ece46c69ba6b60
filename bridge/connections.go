package bridge

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge/connector"
	"github.com/hrisbridge/hrisbridge/schema"
)

// ConnectionChange is an update of a connection: each set field replaces
// the current one. Config keys are merged over the current config (policy
// key by key); Secret keys over the sealed credentials, an empty value
// removing one.
type ConnectionChange struct {
	Layout  *string           `json:"layout,omitempty"`
	Enabled *bool             `json:"enabled,omitempty"`
	Config  map[string]any    `json:"config,omitempty"`
	Secret  map[string]string `json:"secret,omitempty"`
}

// UpdateConnection applies ch to a connection, validating the result as
// a new connection would be, and stores it.
func (b *Bridge) UpdateConnection(ctx context.Context, tenantID, idOrName string, ch ConnectionChange) (schema.Connection, error) {
	c, err := b.cfg.Store.Connection(ctx, tenantID, idOrName)
	if err != nil {
		return c, err
	}
	if ch.Layout != nil {
		if err := CheckLayout(ctx, b.cfg.Store, tenantID, c.ID, *ch.Layout); err != nil {
			return c, fmt.Errorf("%w: layout: %v", schema.ErrInvalid, err)
		}
		c.Layout = *ch.Layout
	}
	if ch.Enabled != nil {
		c.Enabled = *ch.Enabled
	}
	if len(ch.Config) > 0 {
		if c.Config, err = mergeConfig(c.Config, ch.Config); err != nil {
			return c, err
		}
	}
	if err := checkConnection(c); err != nil {
		return c, err
	}
	if len(ch.Secret) > 0 {
		if c.Secret, err = b.mergeSecret(c.Secret, ch.Secret); err != nil {
			return c, err
		}
	}
	return c, b.cfg.Store.UpdateConnection(ctx, &c)
}

// mergeConfig lays patch over the current config JSON; policy is merged
// key by key, and a null removes a key.
func mergeConfig(current []byte, patch map[string]any) ([]byte, error) {
	cfg := map[string]any{}
	if len(current) > 0 {
		if err := json.Unmarshal(current, &cfg); err != nil {
			return nil, err
		}
	}
	for k, v := range patch {
		if k == "policy" {
			p, _ := cfg["policy"].(map[string]any)
			if p == nil {
				p = map[string]any{}
			}
			np, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: config.policy must be an object", schema.ErrInvalid)
			}
			for pk, pv := range np {
				setOrDelete(p, pk, pv)
			}
			v = p
		}
		setOrDelete(cfg, k, v)
	}
	return json.Marshal(cfg)
}

func setOrDelete(m map[string]any, k string, v any) {
	if v == nil {
		delete(m, k)
		return
	}
	m[k] = v
}

// checkConnection validates a connection's config for its kind.
func checkConnection(c schema.Connection) error {
	if c.Kind == schema.ConnAPI {
		dec := json.NewDecoder(strings.NewReader(string(c.Config)))
		dec.DisallowUnknownFields()
		var ac struct {
			APIConfig
			Policy json.RawMessage `json:"policy"`
			Expect json.RawMessage `json:"expect_file_every"`
		}
		if err := dec.Decode(&ac); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: config: %v", schema.ErrInvalid, err)
		}
	}
	if c.Kind == schema.ConnSFTP {
		dec := json.NewDecoder(strings.NewReader(string(c.Config)))
		dec.DisallowUnknownFields()
		var sc SFTPConfig
		if err := dec.Decode(&sc); err != nil {
			return fmt.Errorf("%w: config: %v", schema.ErrInvalid, err)
		}
		if err := sc.Validate(); err != nil {
			return fmt.Errorf("%w: %v", schema.ErrInvalid, err)
		}
	}
	if err := CheckConfig(c.Config); err != nil {
		return fmt.Errorf("%w: %v", schema.ErrInvalid, err)
	}
	return nil
}

// secretKeys are the credentials a connection may hold: SFTP's, PGP's, and
// an API's (key, basic login, OAuth client and token, webhook secret).
var secretKeys = []string{"password", "private_key", "passphrase", "pgp_private_key", "pgp_passphrase", "pgp_signer_key",
	"api_key", "username", "client_id", "client_secret", "access_token", "refresh_token", "expiry", "webhook_secret"}

// mergeSecret lays patch over a sealed secret and seals the result.
func (b *Bridge) mergeSecret(sealed []byte, patch map[string]string) ([]byte, error) {
	if b.cfg.Box == nil {
		return nil, errors.New("bridge: no Box to seal credentials with")
	}
	cur := map[string]string{}
	if len(sealed) > 0 {
		plain, err := b.cfg.Box.Open(sealed)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(plain, &cur); err != nil {
			return nil, err
		}
	}
	for k, v := range patch {
		if !slices.Contains(secretKeys, k) {
			return nil, fmt.Errorf("%w: secret.%s is not one of %s", schema.ErrInvalid, k, strings.Join(secretKeys, ", "))
		}
		if v == "" {
			delete(cur, k)
		} else {
			cur[k] = v
		}
	}
	plain, _ := json.Marshal(cur)
	return b.cfg.Box.Seal(plain)
}

// DeleteConnection removes a connection (see schema.Store). Its files'
// records stay; with purgeFiles the bytes kept of them (for replays and
// held files) and anything left in its drop box directories are deleted
// too. It returns how many kept files it deleted.
func (b *Bridge) DeleteConnection(ctx context.Context, tenantID, idOrName, dropboxDir string, purgeFiles bool) (int, error) {
	c, err := b.cfg.Store.Connection(ctx, tenantID, idOrName)
	if err != nil {
		return 0, err
	}
	if err := b.cfg.Store.DeleteConnection(ctx, tenantID, c.ID); err != nil {
		return 0, err
	}
	if !purgeFiles {
		return 0, nil
	}
	n, err := b.deleteKept(ctx, c.ID)
	if err != nil {
		return n, err
	}
	if dropboxDir != "" {
		os.RemoveAll(filepath.Join(dropboxDir, c.ID)) //nolint:errcheck // what cannot be removed now is pruned by retention
	}
	return n, nil
}

// NewConnection is a connection to create: an SFTP pull (Config holds
// its SFTPConfig keys, Secret its credentials) or a drop box.
type NewConnection struct {
	Name     string            `json:"name"`
	Kind     string            `json:"kind"`
	Layout   string            `json:"layout"`
	Config   map[string]any    `json:"config,omitempty"`
	Secret   map[string]string `json:"secret,omitempty"`
	Schedule string            `json:"schedule,omitempty"`
	TimeZone string            `json:"time_zone,omitempty"`
	CatchUp  string            `json:"catch_up,omitempty"`
}

// ErrHostKeyUnconfirmed is an SFTP connection created without a pinned
// host key: the error carries the fingerprint the server presents now,
// to be confirmed (with the employer) and sent back as config.host_key.
type ErrHostKeyUnconfirmed struct{ Fingerprint, Type string }

func (e *ErrHostKeyUnconfirmed) Error() string {
	return fmt.Sprintf("the server presents %s %s: confirm it with the employer, then send it as config.host_key", e.Type, e.Fingerprint)
}

// CreateConnection validates and stores a new connection, its credentials
// sealed. An SFTP connection needs config.host_key: without one the
// server's key is fetched and returned for confirmation
// (*ErrHostKeyUnconfirmed), and nothing is stored.
func (b *Bridge) CreateConnection(ctx context.Context, tenantID string, nc NewConnection) (schema.Connection, error) {
	c := schema.Connection{TenantID: tenantID, Name: strings.TrimSpace(nc.Name), Kind: nc.Kind, Layout: cmp.Or(nc.Layout, "census-csv"), Enabled: true,
		Schedule: nc.Schedule, TimeZone: nc.TimeZone, CatchUp: nc.CatchUp}
	if c.Name == "" {
		return c, fmt.Errorf("%w: name is required", schema.ErrInvalid)
	}
	switch c.Kind {
	case schema.ConnSFTP, schema.ConnDropbox:
		if err := CheckLayout(ctx, b.cfg.Store, tenantID, "", c.Layout); err != nil {
			return c, fmt.Errorf("%w: layout: %v", schema.ErrInvalid, err)
		}
	case schema.ConnAPI:
		// The layout names the connector definition.
		if nc.Layout == "" {
			return c, fmt.Errorf("%w: an api connection's layout names its connector (built in: %s)", schema.ErrInvalid, strings.Join(connector.Builtins(), ", "))
		}
		if _, err := b.definition(ctx, c); err != nil {
			return c, fmt.Errorf("%w: %v", schema.ErrInvalid, err)
		}
	default:
		return c, fmt.Errorf("%w: kind %q must be sftp, dropbox or api", schema.ErrInvalid, c.Kind)
	}
	cfg, err := mergeConfig(nil, nc.Config)
	if err != nil {
		return c, err
	}
	c.Config = cfg
	if c.Kind == schema.ConnSFTP {
		if hk, _ := nc.Config["host_key"].(string); hk == "" {
			host, _ := nc.Config["host"].(string)
			port, _ := nc.Config["port"].(float64)
			if host == "" {
				return c, fmt.Errorf("%w: config.host is required", schema.ErrInvalid)
			}
			key, err := ScanHostKey(ctx, host, int(port))
			if err != nil {
				return c, err
			}
			return c, &ErrHostKeyUnconfirmed{Fingerprint: ssh.FingerprintSHA256(key), Type: key.Type()}
		}
		if nc.Secret["password"] == "" && nc.Secret["private_key"] == "" {
			return c, fmt.Errorf("%w: secret.password or secret.private_key is required", schema.ErrInvalid)
		}
	}
	if err := checkConnection(c); err != nil {
		return c, err
	}
	if len(nc.Secret) > 0 {
		if c.Secret, err = b.mergeSecret(nil, nc.Secret); err != nil {
			return c, err
		}
	}
	if err := b.cfg.Store.CreateConnection(ctx, &c); errors.Is(err, schema.ErrDuplicate) {
		return c, fmt.Errorf("%w: the tenant has a connection named %q already", schema.ErrDuplicate, c.Name)
	} else if err != nil {
		return c, err
	}
	return c, nil
}
