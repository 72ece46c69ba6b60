package bridge

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
	"github.com/hrisbridge/hrisbridge/schema"
)

// DropboxServer returns the SFTP server of the drop box: accounts come
// from the store, each jailed to its connection's inbox, and every
// completed upload enters the pipeline through the inbox.
func (x *Inbox) DropboxServer(hostKey ssh.Signer, log *slog.Logger) (*sftpd.Server, error) {
	return sftpd.New(sftpd.Config{
		HostKey:  hostKey,
		Logger:   log,
		Uploaded: x.Uploaded,
		Accounts: func(user string) (sftpd.Account, bool) {
			ctx := context.Background()
			a, err := x.b.cfg.Store.DropboxAccount(ctx, user)
			if err != nil {
				if !errors.Is(err, schema.ErrNotFound) {
					log.Error("drop box account lookup failed", "user", user, "error", err)
				}
				return sftpd.Account{}, false
			}
			root, err := x.Root(a.ConnectionID)
			if err != nil {
				log.Error("drop box inbox unavailable", "user", user, "error", err)
				return sftpd.Account{}, false
			}
			return sftpd.Account{User: a.Username, PasswordHash: a.PasswordHash, AuthorizedKeys: ParseAuthorizedKeys(a.AuthorizedKeys),
				Root: root, NoList: !a.Can(schema.RightList), NoRead: !a.Can(schema.RightRead), NoDelete: !a.Can(schema.RightDelete),
				MaxBytes: a.MaxBytes, Tag: a.ConnectionID}, true
		},
	})
}

// ParseAuthorizedKeys reads authorized_keys lines, skipping what does not
// parse.
func ParseAuthorizedKeys(text string) []ssh.PublicKey {
	var keys []ssh.PublicKey
	for _, line := range strings.Split(text, "\n") {
		if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err == nil {
			keys = append(keys, k)
		}
	}
	return keys
}

// HostKey loads the drop box's SSH host key from path, generating and
// persisting an Ed25519 key there on first start (mode 0600), so clients
// can pin it.
func HostKey(path string) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		block, err := ssh.MarshalPrivateKey(priv, "hrisbridge drop box")
		if err != nil {
			return nil, err
		}
		b = pem.EncodeToMemory(block)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("write host key: %w", err)
		}
	} else if err != nil {
		return nil, err
	}
	return ssh.ParsePrivateKey(b)
}
