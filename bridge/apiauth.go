package bridge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hrisbridge/hrisbridge/bridge/connector"
	"github.com/hrisbridge/hrisbridge/schema"
)

// authState is what the authorization-code flow's state parameter
// carries, sealed under the master key: which connection the grant is
// for, and until when the link works.
type authState struct {
	Tenant     string    `json:"t"`
	Connection string    `json:"c"`
	Expires    time.Time `json:"e"`
}

// ErrAuthState is a callback whose state is not one this server made, or
// is past its time.
var ErrAuthState = errors.New("authorization link unknown or expired: start again")

// AuthorizeURL returns where an employer's admin grants an OAuth 2
// (authorization code) connection access; the provider sends them back
// to redirect (hrisbridge's /oauth/callback) with a code. The link works
// for an hour.
func (b *Bridge) AuthorizeURL(ctx context.Context, conn schema.Connection, redirect string) (string, error) {
	if conn.Kind != schema.ConnAPI {
		return "", fmt.Errorf("%w: connection %s is %s, not api", schema.ErrInvalid, conn.Name, conn.Kind)
	}
	src, _, err := b.source(ctx, conn)
	if err != nil {
		return "", err
	}
	if src.Def.Auth.Type != "oauth2_authorization_code" {
		return "", fmt.Errorf("%w: connector %s authenticates with %s: set its credentials instead", schema.ErrInvalid, src.Def.Name, src.Def.Auth.Type)
	}
	if src.Secret["client_id"] == "" {
		return "", fmt.Errorf("%w: the connection's secret needs client_id and client_secret (the app's credentials with the provider)", schema.ErrInvalid)
	}
	plain, _ := json.Marshal(authState{Tenant: conn.TenantID, Connection: conn.ID, Expires: time.Now().Add(time.Hour)})
	sealed, err := b.cfg.Box.Seal(plain)
	if err != nil {
		return "", err
	}
	return src.AuthCodeURL(base64.RawURLEncoding.EncodeToString(sealed), redirect), nil
}

// CompleteAuthorization takes the provider's callback: it opens state,
// exchanges code for the connection's first token and stores it sealed.
func (b *Bridge) CompleteAuthorization(ctx context.Context, state, code, redirect string) (schema.Connection, error) {
	raw, err := base64.RawURLEncoding.DecodeString(state)
	if err != nil {
		return schema.Connection{}, ErrAuthState
	}
	plain, err := b.cfg.Box.Open(raw)
	if err != nil {
		return schema.Connection{}, ErrAuthState
	}
	var st authState
	if json.Unmarshal(plain, &st) != nil || time.Now().After(st.Expires) {
		return schema.Connection{}, ErrAuthState
	}
	conn, err := b.cfg.Store.Connection(ctx, st.Tenant, st.Connection)
	if err != nil {
		return conn, err
	}
	src, _, err := b.source(ctx, conn)
	if err != nil {
		return conn, err
	}
	tok, err := src.Exchange(ctx, code, redirect)
	if err != nil {
		return conn, apiError(err)
	}
	if err := b.saveToken(ctx, conn.TenantID, conn.ID, tok); err != nil {
		return conn, err
	}
	b.updateHealth(ctx, conn)
	return conn, nil
}

// ErrSignature is a provider webhook whose signature does not verify.
var ErrSignature = errors.New("webhook signature does not verify")

// VerifyWebhook checks a provider's change notification for an API
// connection: the definition's header carries the HMAC-SHA256 of the
// body under the connection's secret webhook_secret.
func (b *Bridge) VerifyWebhook(ctx context.Context, conn schema.Connection, h http.Header, body io.Reader) error {
	if conn.Kind != schema.ConnAPI {
		return fmt.Errorf("%w: connection %s takes no webhooks", ErrSignature, conn.Name)
	}
	src, _, err := b.source(ctx, conn)
	if err != nil {
		return err
	}
	wh := src.Def.Webhook
	secret := src.Secret["webhook_secret"]
	if wh == nil || secret == "" {
		return fmt.Errorf("%w: connector %s declares no webhook, or the connection has no webhook_secret", ErrSignature, src.Def.Name)
	}
	data, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return err
	}
	if connector.VerifySignature(wh, secret, h.Get(wh.Header), data) != nil {
		return ErrSignature
	}
	return nil
}

// testAPI reads the first page of an API connection's employees.
func (b *Bridge) testAPI(ctx context.Context, conn schema.Connection) (Probe, error) {
	src, _, err := b.source(ctx, conn)
	if err != nil {
		return Probe{}, err
	}
	src.FirstPage = true
	st, err := src.Fetch(ctx, "employee", time.Time{}, io.Discard)
	if err != nil {
		return Probe{}, apiError(err)
	}
	return Probe{HostKey: "", Files: []string{fmt.Sprintf("employee: %d records on the first page (%s)", st.Records, src.Def.Name)}}, nil
}
