package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"strings"
	"testing"
)

// smtpSink is a loopback SMTP server that takes one message and records
// the session.
func smtpSink(t *testing.T) (addr string, got <-chan string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var log strings.Builder
		r := bufio.NewReader(c)
		say := func(s string) { c.Write([]byte(s + "\r\n")) }
		say("220 sink ESMTP")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				ch <- log.String()
				return
			}
			log.WriteString(line)
			cmd := strings.ToUpper(strings.TrimSpace(line))
			switch {
			case strings.HasPrefix(cmd, "EHLO"):
				say("250-sink\r\n250 AUTH PLAIN")
			case strings.HasPrefix(cmd, "AUTH PLAIN"):
				say("235 ok")
			case cmd == "DATA":
				say("354 go on")
				for {
					l, _ := r.ReadString('\n')
					log.WriteString(l)
					if l == ".\r\n" {
						break
					}
				}
				say("250 queued")
			case cmd == "QUIT":
				say("221 bye")
				ch <- log.String()
				return
			default:
				say("250 ok")
			}
		}
	}()
	return l.Addr().String(), ch
}

func TestMailerSendsAMagicLink(t *testing.T) {
	addr, got := smtpSink(t)
	m, err := newMailer("smtp://bridge:s3cret@"+addr, "hrisbridge@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.send(context.Background(), "hr@acme.example", "Your hrisbridge sign-in link", "Sign in:\nhttps://bridge/console/link/x\n"); err != nil {
		t.Fatal(err)
	}
	session := <-got
	plain := base64.StdEncoding.EncodeToString([]byte("\x00bridge\x00s3cret"))
	for _, want := range []string{"AUTH PLAIN " + plain, "MAIL FROM:<hrisbridge@example.com>", "RCPT TO:<hr@acme.example>",
		"Subject: Your hrisbridge sign-in link\r\n", "https://bridge/console/link/x\r\n"} {
		if !strings.Contains(session, want) {
			t.Errorf("the SMTP session lacks %q:\n%s", want, session)
		}
	}
	if err := m.send(context.Background(), "a@b.example\r\nBcc: x@y.example", "s", "b"); err == nil {
		t.Fatal("a header injection was sent")
	}
	for _, bad := range []string{"http://host", "smtp://", "::"} {
		if _, err := newMailer(bad, "a@b.example"); err == nil {
			t.Errorf("smtp_url %q was taken", bad)
		}
	}
	if _, err := newMailer("smtp://host", ""); err == nil {
		t.Error("smtp_url without smtp_from was taken")
	}
}

func TestConsoleCLI(t *testing.T) {
	sqliteEnv(t)
	runCLI(t, "tenants", "create", "acme")
	out, err := runCLI(t, "console", "operator", "add", "Ops@Example.com", "--pii")
	if err != nil || !strings.Contains(out, "operator ops@example.com added") || !strings.Contains(out, "password (shown only now): ") {
		t.Fatalf("operator add = %v\n%s", err, out)
	}
	if _, err := runCLI(t, "console", "operator", "add", "ops@example.com"); err == nil {
		t.Fatal("a second operator with the same e-mail was added")
	}
	if out, err := runCLI(t, "console", "operator", "password", "ops@example.com"); err != nil || !strings.Contains(out, "password of operator ops@example.com changed") {
		t.Fatalf("operator password = %v\n%s", err, out)
	}
	out, err = runCLI(t, "console", "link", "--tenant", "acme", "--email", "hr@acme.example", "--url", "https://bridge.example.com/")
	if err != nil || !strings.Contains(out, "https://bridge.example.com/console/link/") {
		t.Fatalf("console link = %v\n%s", err, out)
	}
	if _, err := runCLI(t, "console", "link"); err == nil || !strings.Contains(err.Error(), "--tenant") {
		t.Fatalf("link without a tenant = %v", err)
	}
	if _, err := runCLI(t, "console", "link", "--tenant", "acme", "--expires-in", "9999h"); err == nil {
		t.Fatal("a link of 9999h was made")
	}
	out, _ = runCLI(t, "audit", "--action", "console.")
	if !strings.Contains(out, "console.link_create") || !strings.Contains(out, "console.operator_add") {
		t.Fatalf("console changes not audited:\n%s", out)
	}
}
