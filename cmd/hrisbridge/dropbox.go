package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hrisbridge/hrisbridge/bridge"
	"github.com/hrisbridge/hrisbridge/bridge/sftpd"
	"github.com/hrisbridge/hrisbridge/schema"
)

// cmdDropbox adds a drop box login: an HR admin or vendor who pushes files
// over hrisbridge's SFTP server (sftp_addr) into a connection's inbox.
func cmdDropbox(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("dropbox")
	tenant := fs.String("tenant", "", "tenant slug")
	connection := fs.String("connection", "", "connection the uploads belong to (created, kind dropbox, when missing)")
	layout := fs.String("layout", "census-csv", "layout of a new connection")
	user := fs.String("user", "", "SFTP user name (unique across tenants)")
	pwFile := fs.String("password-file", "", "file holding the password (stored as bcrypt)")
	keysFile := fs.String("authorized-keys", "", "OpenSSH authorized_keys file")
	canList := fs.Bool("can-list", false, "let the account list its inbox (default: upload only)")
	maxBytes := fs.Int64("max-bytes", 0, "cap on one upload (0: none)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "add" || *tenant == "" || *connection == "" || *user == "" || (*pwFile == "" && *keysFile == "") {
		return usageError{"usage: hrisbridge dropbox add --tenant SLUG --connection NAME --user USER (--password-file F | --authorized-keys F) [--can-list] [--max-bytes N] [--layout L]"}
	}
	acct := schema.DropboxAccount{Username: *user, CanList: *canList, MaxBytes: *maxBytes}
	if *pwFile != "" {
		b, err := os.ReadFile(*pwFile)
		if err != nil {
			return err
		}
		if acct.PasswordHash, err = sftpd.HashPassword(strings.TrimRight(string(b), "\r\n")); err != nil {
			return usageError{"password: " + err.Error()}
		}
	}
	if *keysFile != "" {
		b, err := os.ReadFile(*keysFile)
		if err != nil {
			return err
		}
		if len(bridge.ParseAuthorizedKeys(string(b))) == 0 {
			return usageError{*keysFile + " holds no public key in authorized_keys format"}
		}
		acct.AuthorizedKeys = string(b)
	}
	a, t, err := openTenant(ctx, *config, *tenant)
	if err != nil {
		return err
	}
	defer a.store.Close()
	conn, err := a.store.Connection(ctx, t.ID, *connection)
	if errors.Is(err, schema.ErrNotFound) {
		if _, err := bridge.EffectiveLayout(ctx, a.store, t.ID, "", *layout); err != nil {
			return usageError{err.Error()}
		}
		conn = schema.Connection{TenantID: t.ID, Name: *connection, Kind: schema.ConnDropbox, Layout: *layout, Enabled: true}
		err = a.store.CreateConnection(ctx, &conn)
	}
	if err != nil {
		return err
	}
	acct.TenantID, acct.ConnectionID = t.ID, conn.ID
	if err := a.store.CreateDropboxAccount(ctx, &acct); err != nil {
		if errors.Is(err, schema.ErrDuplicate) {
			return fmt.Errorf("user %q exists already", *user)
		}
		return err
	}
	a.audit(ctx, t.ID, "dropbox.create", acct.Username)
	fmt.Fprintf(out, "drop box user %s uploads to connection %s (%s) of tenant %s; serve with sftp_addr set\n", acct.Username, conn.Name, conn.Layout, t.Slug)
	return nil
}
