package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/hrisbridge/hrisbridge/api"
	"github.com/hrisbridge/hrisbridge/schema"
)

func cmdConsole(ctx context.Context, args []string, out io.Writer) error {
	fs, config := flags("console")
	pii := fs.Bool("pii", false, "operator add / link: may reveal SSNs (each reveal is audited)")
	passwordFile := fs.String("password-file", "", "operator: read the password from this file (default: stdin when it is not a terminal, else a generated one is printed)")
	tenant := fs.String("tenant", "", "link: the employer's tenant slug")
	email := fs.String("email", "", "link: the HR admin's e-mail (a label for the audit log)")
	expiresIn := fs.Duration("expires-in", 72*time.Hour, "link: how long the link works, at most 720h")
	base := fs.String("url", "", "link: the console's public address (default: public_url, else http://127.0.0.1 and addr)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	const usage = "usage: hrisbridge console operator add EMAIL [--pii] | console operator password EMAIL | console link --tenant SLUG [--email E] [--pii] [--expires-in 72h]"
	switch {
	case len(pos) == 3 && pos[0] == "operator" && (pos[1] == "add" || pos[1] == "password"):
		pw, generated, err := operatorPassword(*passwordFile)
		if err != nil {
			return err
		}
		hash, err := api.HashPassword(pw)
		if err != nil {
			return err
		}
		a, err := open(ctx, *config)
		if err != nil {
			return err
		}
		defer a.store.Close()
		addr := strings.ToLower(strings.TrimSpace(pos[2]))
		if pos[1] == "add" {
			op := schema.Operator{Email: addr, PasswordHash: hash, PII: *pii}
			if err := a.store.CreateOperator(ctx, &op); err != nil {
				return fmt.Errorf("operator %s: %w", addr, err)
			}
			a.audit(ctx, "", "console.operator_add", addr)
			fmt.Fprintf(out, "operator %s added\n", addr)
		} else {
			if err := a.store.SetOperatorPassword(ctx, addr, hash); err != nil {
				return fmt.Errorf("operator %s: %w", addr, err)
			}
			a.audit(ctx, "", "console.operator_password", addr)
			fmt.Fprintf(out, "password of operator %s changed\n", addr)
		}
		if generated {
			fmt.Fprintf(out, "password (shown only now): %s\n", pw)
		}
		return nil
	case len(pos) == 1 && pos[0] == "link":
		if *tenant == "" {
			return usageError{"--tenant is required"}
		}
		if *expiresIn <= 0 || *expiresIn > 720*time.Hour {
			return usageError{"--expires-in must be between 1s and 720h"}
		}
		a, err := open(ctx, *config)
		if err != nil {
			return err
		}
		defer a.store.Close()
		t, err := a.store.TenantBySlug(ctx, *tenant)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", *tenant, err)
		}
		l := schema.MagicLink{TenantID: t.ID, Email: *email, PII: *pii, Creator: cliActor(), Expires: time.Now().Add(*expiresIn)}
		path, err := api.NewMagicLink(ctx, a.store, &l)
		if err != nil {
			return err
		}
		a.audit(ctx, t.ID, "console.link_create", l.ID)
		fmt.Fprintf(out, "single-use link for %s, until %s; send it to the HR admin (shown only now):\n%s%s\n", t.Slug, l.Expires.UTC().Format(time.RFC3339),
			consoleBase(*base, a.cfg), path)
		return nil
	}
	return usageError{usage}
}

// consoleBase is where the console is reached: --url, public_url, or the
// listen address on this machine.
func consoleBase(flag string, cfg Config) string {
	if flag != "" {
		return strings.TrimSuffix(flag, "/")
	}
	if cfg.PublicURL != "" {
		return strings.TrimSuffix(cfg.PublicURL, "/")
	}
	host := cfg.Addr
	if strings.HasPrefix(host, ":") {
		host = "127.0.0.1" + host
	}
	return "http://" + host
}

// operatorPassword reads a password from a file or a piped stdin, or
// generates one.
func operatorPassword(file string) (pw string, generated bool, err error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		return strings.TrimRight(string(b), "\r\n"), false, err
	case !term.IsTerminal(int(os.Stdin.Fd())):
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1024))
		if err != nil {
			return "", false, err
		}
		if s := strings.TrimRight(string(b), "\r\n"); s != "" {
			return s, false, nil
		}
	}
	tok, _ := api.NewToken()
	return tok[:20], true, nil
}
