package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

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
	rights := fs.String("rights", "upload", "what the login may do in its inbox, comma-separated: upload, list, read (download), delete; inbox files hold SSNs")
	maxBytes := fs.Int64("max-bytes", 0, "cap on one upload (0: none)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	const usage = "usage: hrisbridge dropbox add --tenant SLUG --connection NAME --user USER (--password-file F | --authorized-keys F) [--rights upload,list,read,delete] [--max-bytes N] [--layout L]" +
		" | dropbox list --tenant SLUG | dropbox update --tenant SLUG USER [--password-file F] [--authorized-keys F] [--rights R] [--max-bytes N] | dropbox delete --tenant SLUG USER"
	switch {
	case *tenant == "":
		return usageError{usage}
	case len(pos) == 1 && pos[0] == "list":
		return listDropbox(ctx, *config, *tenant, out)
	case len(pos) == 2 && (pos[0] == "update" || pos[0] == "delete"):
		return changeDropbox(ctx, *config, *tenant, pos[0], pos[1], fs, out)
	}
	if len(pos) != 1 || pos[0] != "add" || *connection == "" || *user == "" || (*pwFile == "" && *keysFile == "") {
		return usageError{usage}
	}
	rs, err := parseRights(*rights)
	if err != nil {
		return err
	}
	acct := schema.DropboxAccount{Username: *user, Rights: rs, MaxBytes: *maxBytes}
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
		if err := bridge.CheckLayout(ctx, a.store, t.ID, "", *layout); err != nil {
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

func listDropbox(ctx context.Context, config, slug string, out io.Writer) error {
	a, t, err := openTenant(ctx, config, slug)
	if err != nil {
		return err
	}
	defer a.store.Close()
	as, err := a.store.DropboxAccounts(ctx, t.ID)
	if err != nil {
		return err
	}
	names := map[string]string{}
	if cs, err := a.store.Connections(ctx, t.ID); err == nil {
		for _, c := range cs {
			names[c.ID] = c.Name
		}
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "USER\tCONNECTION\tPASSWORD\tKEYS\tRIGHTS\tMAX BYTES\tCREATED")
	for _, x := range as {
		fmt.Fprintf(w, "%s\t%s\t%v\t%d\t%s\t%d\t%s\n", x.Username, names[x.ConnectionID], len(x.PasswordHash) > 0,
			len(bridge.ParseAuthorizedKeys(x.AuthorizedKeys)), schema.RightsText(x.Rights), x.MaxBytes, x.CreatedAt.UTC().Format("2006-01-02 15:04"))
	}
	return w.Flush()
}

// changeDropbox updates (the credentials and limits the flags give) or
// deletes a drop box login.
func changeDropbox(ctx context.Context, config, slug, verb, user string, fs *flag.FlagSet, out io.Writer) error {
	a, t, err := openTenant(ctx, config, slug)
	if err != nil {
		return err
	}
	defer a.store.Close()
	if verb == "delete" {
		if err := a.store.DeleteDropboxAccount(ctx, t.ID, user); errors.Is(err, schema.ErrNotFound) {
			return fmt.Errorf("tenant %s has no drop box user %q", slug, user)
		} else if err != nil {
			return err
		}
		a.audit(ctx, t.ID, "dropbox.delete", user)
		fmt.Fprintf(out, "deleted drop box user %s; it can no longer log in\n", user)
		return nil
	}
	acct, err := a.store.DropboxAccount(ctx, user)
	if err != nil || acct.TenantID != t.ID {
		return fmt.Errorf("tenant %s has no drop box user %q", slug, user)
	}
	changed := false
	fs.Visit(func(f *flag.Flag) {
		if err != nil {
			return
		}
		v := f.Value.String()
		switch f.Name {
		case "password-file":
			var b []byte
			if b, err = os.ReadFile(v); err == nil {
				acct.PasswordHash, err = sftpd.HashPassword(strings.TrimRight(string(b), "\r\n"))
			}
		case "authorized-keys":
			var b []byte
			if b, err = os.ReadFile(v); err == nil {
				if len(bridge.ParseAuthorizedKeys(string(b))) == 0 {
					err = usageError{v + " holds no public key in authorized_keys format"}
				}
				acct.AuthorizedKeys = string(b)
			}
		case "rights":
			acct.Rights, err = parseRights(v)
		case "max-bytes":
			acct.MaxBytes, err = strconv.ParseInt(v, 10, 64)
		case "tenant", "config":
			return
		default:
			err = usageError{fmt.Sprintf("--%s does not apply to dropbox update", f.Name)}
		}
		changed = true
	})
	if err != nil {
		return err
	}
	if !changed {
		return usageError{"dropbox update: give what to change (--password-file, --authorized-keys, --rights, --max-bytes)"}
	}
	if err := a.store.UpdateDropboxAccount(ctx, &acct); err != nil {
		return err
	}
	a.audit(ctx, t.ID, "dropbox.update", user)
	fmt.Fprintf(out, "updated drop box user %s\n", user)
	return nil
}

// parseRights reads --rights: upload is always granted.
func parseRights(s string) ([]string, error) {
	var out []string
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		if !slices.Contains(schema.DropboxRights, r) {
			return nil, usageError{fmt.Sprintf("--rights: %q is not one of upload, list, read, delete", r)}
		}
		out = append(out, r)
	}
	return out, nil
}
