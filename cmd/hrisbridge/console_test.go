package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// demoRun is the demo running in-process, with what it printed.
type demoRun struct {
	out    *storetest.Buffer
	lines  map[string]string // by the prefix of each "Prefix: value" line
	base   string
	cancel context.CancelFunc
}

// startDemo runs the demo on free ports and waits for its summary.
func startDemo(t *testing.T) *demoRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demoRun{out: &storetest.Buffer{}, lines: map[string]string{}, cancel: cancel}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--dir", t.TempDir()}, d.out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("demo did not stop")
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(d.out.String(), "Press Ctrl-C to stop.") {
		if time.Now().After(deadline) {
			t.Fatalf("demo did not finish starting:\n%s", d.out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("demo exited: %v\n%s", err, d.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	sc := bufio.NewScanner(strings.NewReader(d.out.String()))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
			d.lines[k] = v
		}
	}
	d.base = d.lines["API"]
	return d
}

// chromium finds Debian's Chromium (or another Chrome); under CI its
// absence fails the test, elsewhere it skips.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium: .ci/run installs Debian's chromium package")
	}
	t.Skip("no Chromium on this machine (apt-get install chromium)")
	return ""
}

// browser drives one browser context (its own cookies) in headless
// Chromium.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

// newBrowser starts headless Chromium with no sandbox and no background
// networking (this machine's network is closed).
func newBrowser(t *testing.T) *browser {
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-dev-shm-usage", true))
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(alloc)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil { // start the browser on a context without a deadline
		t.Fatalf("start chromium: %v", err)
	}
	shots := os.Getenv("HRISBRIDGE_SCREENSHOTS")
	return &browser{t: t, ctx: ctx, shots: shots}
}

// another is a second person in the same browser: a new browser context
// shares no cookies with the first.
func (b *browser) another() *browser {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatal(err)
	}
	return &browser{t: b.t, ctx: ctx, shots: b.shots}
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		body, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main")))
		b.t.Fatalf("at %s: %v\npage: %s", loc, err, body)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	for {
		// A page still loading has no context to query yet: try again.
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err == nil {
			return s
		}
		if ctx.Err() != nil {
			b.t.Fatalf("text of %s: %v", sel, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitText reloads url until sel's text satisfies ok.
func (b *browser) waitText(url, sel string, within time.Duration, ok func(string) bool, what string) string {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		b.do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(sel)))
		s := b.text(sel)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s still reads %q", what, sel, s)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// shot saves a full-page screenshot when HRISBRIDGE_SCREENSHOTS names a
// directory.
func (b *browser) shot(name string) {
	if b.shots == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		b.t.Fatal(err)
	}
	os.MkdirAll(b.shots, 0o755)
	os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644)
}

// selectOption picks the option of a select whose label starts with label.
func selectOption(sel, label string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => { const s = document.querySelector(%q);
for (const o of s.options) if (o.text.startsWith(%q)) { s.value = o.value; return o.value } return "" })()`, sel, label)))
		if err == nil && v == "" {
			err = fmt.Errorf("no option %q in %s", label, sel)
		}
		return err
	})
}

// uploadToDropbox puts a file into the drop box whose address and host
// key fingerprint the connect page showed (facts).
func uploadToDropbox(t *testing.T, facts, user, password, file string) {
	t.Helper()
	addr := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(facts)
	fp := regexp.MustCompile(`SHA256:\S+`).FindString(facts)
	sc, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if ssh.FingerprintSHA256(key) != fp {
				return fmt.Errorf("host key %s, the console showed %s", ssh.FingerprintSHA256(key), fp)
			}
			return nil
		}})
	if err != nil {
		t.Fatalf("drop box %s as %s: %v", addr, user, err)
	}
	defer sc.Close()
	fc, err := sftp.NewClient(sc)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(file)
	w, err := fc.Create(filepath.Base(file))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// landed waits until the page's address holds s (the page a form's
// post/redirect/get lands on).
func landed(s string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for {
			// Evaluating while the page navigates fails: try again.
			if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("location.href.includes(%q) && document.readyState === 'complete'", s))); err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

// censusFile writes a census of n employees, with a bad hire date on the
// rows in bad.
func censusFile(t *testing.T, name string, n int, bad map[int]bool) string {
	var b strings.Builder
	b.WriteString("Employee ID,First Name,Last Name,DOB,SSN,Status,FT/PT,Department,Location,Hire Date,Term Date\n")
	for i := 1; i <= n; i++ {
		hire := "01/15/2020"
		if bad[i] {
			hire = "2020-13-45"
		}
		fmt.Fprintf(&b, "U%03d,First%d,Last%d,05/06/1990,,A,FT,Ops,HQ,%s,\n", i, i, i, hire)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConsoleInChromium drives the console in headless Chromium against
// the demo: an operator signs in and makes a magic link; an HR admin
// spends it (once), uploads a file with errors and reads them, approves a
// held file, replays, creates an API key; the operator view turns red
// when a connection's login fails and green when it is fixed.
func TestConsoleInChromium(t *testing.T) {
	skipProcesses(t)
	d := startDemo(t)
	console := d.base + "/console"
	opLine := d.lines["Console"] // URL (operator EMAIL, password PW)
	opPassword := opLine[strings.LastIndex(opLine, "password ")+len("password ") : len(opLine)-1]

	op := newBrowser(t)
	op.do(chromedp.Navigate(console+"/"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), demoOperator), chromedp.SendKeys(chromedp.CSS("#password"), opPassword),
		chromedp.Click(chromedp.CSS("form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#fleet")))
	if s := op.text(`tr[data-tenant="demo"]`); !strings.Contains(s, "Demo Employer") {
		t.Fatalf("fleet row of demo = %q", s)
	}
	op.shot("fleet")

	// A magic link for the demo tenant's HR admin.
	op.do(chromedp.Navigate(console+"/t/demo/links"), chromedp.WaitVisible(chromedp.CSS("#lemail")),
		chromedp.SendKeys(chromedp.CSS("#lemail"), "benefits@demo.example"), chromedp.Click(chromedp.CSS("#create-link")),
		chromedp.WaitVisible(chromedp.CSS("#new-link")))
	link := strings.TrimSpace(op.text("#new-link"))
	if !strings.HasPrefix(link, console+"/link/") {
		t.Fatalf("magic link = %q", link)
	}

	hr := op.another()
	hr.do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#continue")), chromedp.Click(chromedp.CSS("#continue")),
		chromedp.WaitVisible(chromedp.CSS("#conns")))
	hr.shot("tenant")
	// Spent: the same link again, from another browser, is refused.
	late := op.another()
	late.do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#continue")), chromedp.Click(chromedp.CSS("#continue")),
		chromedp.WaitVisible(chromedp.CSS(".problem")))
	if s := late.text(".problem"); !strings.Contains(s, "already used") {
		t.Fatalf("a reused link says %q", s)
	}
	// The HR admin sees only their own employer.
	hr.do(chromedp.Navigate(console+"/t/globex"), chromedp.WaitVisible(chromedp.CSS(".problem")))
	if s := hr.text(".problem"); !strings.Contains(s, "no such employer") {
		t.Fatalf("another tenant's page says %q", s)
	}

	// Upload a file with errors: the preview lists them before anything
	// is applied; applied, the file page lists them with their fix.
	withErrors := censusFile(t, "census-with-errors.csv", 40, map[int]bool{7: true})
	hr.do(chromedp.Navigate(console+"/t/demo/upload"), chromedp.WaitVisible(chromedp.CSS("#file")), selectOption("#connection", "hr-uploads"),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{withErrors}), chromedp.Click(chromedp.CSS("#preview-button")),
		chromedp.WaitVisible(chromedp.CSS("#preview-errors")))
	if s := hr.text("#preview-errors"); !strings.Contains(s, "U007") || !strings.Contains(s, "E_DATE") {
		t.Fatalf("preview errors = %q", s)
	}
	hr.shot("upload-preview")
	hr.do(chromedp.Click(chromedp.CSS("#apply")), chromedp.WaitVisible(chromedp.CSS("#errors")))
	if s := hr.text("#errors"); !strings.Contains(s, "8") || !strings.Contains(s, "U007") || !strings.Contains(s, "hire_date") || !strings.Contains(s, "E_DATE") {
		t.Fatalf("file errors = %q", s)
	}
	if s := hr.text("dl.facts"); !strings.Contains(s, "applied") || !strings.Contains(s, "39 created") {
		t.Fatalf("file facts = %q", s)
	}
	hr.shot("file-errors")

	// A file that shrank from 39 people to 5 is held; the HR admin
	// approves it.
	shrunk := censusFile(t, "census-short.csv", 5, nil)
	hr.do(chromedp.Navigate(console+"/t/demo/upload"), chromedp.WaitVisible(chromedp.CSS("#file")), selectOption("#connection", "hr-uploads"),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{shrunk}), chromedp.Click(chromedp.CSS("#preview-button")),
		chromedp.WaitVisible(chromedp.CSS("#apply")), chromedp.Click(chromedp.CSS("#apply")), chromedp.WaitVisible(chromedp.CSS("#approve")))
	if s := hr.text("dl.facts"); !strings.Contains(s, "held") || !strings.Contains(s, "shrank from 39 to 5") {
		t.Fatalf("held file facts = %q", s)
	}
	hr.do(chromedp.Navigate(console+"/t/demo"), chromedp.WaitVisible(chromedp.CSS("ul.held")))
	hr.shot("held")
	hr.do(chromedp.Click(chromedp.CSS("ul.held a")), chromedp.WaitVisible(chromedp.CSS("#approve")), chromedp.Click(chromedp.CSS("#approve")),
		landed("notice=Approved"))
	if s := hr.text(".notice"); !strings.Contains(s, "Approved") {
		t.Fatalf("approve says %q", s)
	}
	// Replay it with the current layout.
	hr.do(chromedp.WaitVisible(chromedp.CSS("#replay")), chromedp.Click(chromedp.CSS("#replay")), landed("notice=Replay"))
	if s := hr.text(".notice"); !strings.Contains(s, "Replay queued") {
		t.Fatalf("replay says %q", s)
	}

	// An API key, shown once, that works.
	hr.do(chromedp.Navigate(console+"/t/demo/keys"), chromedp.WaitVisible(chromedp.CSS("#kname")),
		chromedp.SendKeys(chromedp.CSS("#kname"), "benefits sync"), chromedp.Click(chromedp.CSS("#create-key")), chromedp.WaitVisible(chromedp.CSS("#new-key")))
	key := strings.TrimSpace(hr.text("#new-key"))
	req, _ := http.NewRequest("GET", d.base+"/v1/employees?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the console's key: %v %v", err, resp)
	}
	resp.Body.Close()
	hr.shot("keys")

	// The connect flow: a drop box login made in the console takes an
	// upload over SFTP (its host key checked against the one the page
	// shows); an SFTP pull is set up after confirming the server's key,
	// and tested.
	hr.do(chromedp.Navigate(console+"/t/demo/connect"), chromedp.WaitVisible(chromedp.CSS("#d-name")), chromedp.Clear(chromedp.CSS("#d-name")),
		chromedp.SendKeys(chromedp.CSS("#d-name"), "benefits-drop"), chromedp.Click(chromedp.CSS("#make-dropbox")), chromedp.WaitVisible(chromedp.CSS("#dropbox-password")))
	hr.shot("connect-dropbox")
	dropUser, dropPassword := hr.text("#dropbox-user"), hr.text("#dropbox-password")
	facts := hr.text("dl.facts")
	if !strings.Contains(facts, d.lines["Drop box (hrisbridge's own)"][len("sftp -P "):strings.Index(d.lines["Drop box (hrisbridge's own)"], " hr-admin")]) {
		t.Fatalf("connect page does not show the drop box's port: %q", facts)
	}
	uploadToDropbox(t, facts, dropUser, dropPassword, censusFile(t, "census.csv", 3, nil))
	op.waitText(console+"/t/demo", "#recent-files", 30*time.Second, func(s string) bool { return strings.Contains(s, "census.csv\tbenefits-drop\tapplied") },
		"the drop box upload was never applied")
	if s := op.text(`tr[data-connection="benefits-drop"] .badge`); s != "healthy" {
		t.Fatalf("the new connection is %q", s)
	}
	sftpLine := d.lines["SFTP (the employer's server)"] // sftp -P PORT hris@127.0.0.1 (password PW; ...)
	sftpPort := strings.Fields(sftpLine)[2]
	sftpPassword := sftpLine[strings.Index(sftpLine, "(password ")+len("(password "):]
	sftpPassword = sftpPassword[:strings.Index(sftpPassword, ";")]
	hr.do(chromedp.Navigate(console+"/t/demo/connect"), chromedp.WaitVisible(chromedp.CSS("#s-host")), chromedp.Clear(chromedp.CSS("#s-name")),
		chromedp.SendKeys(chromedp.CSS("#s-name"), "payroll-pull"), chromedp.SendKeys(chromedp.CSS("#s-host"), "127.0.0.1"),
		chromedp.Clear(chromedp.CSS("#s-port")), chromedp.SendKeys(chromedp.CSS("#s-port"), sftpPort), chromedp.SendKeys(chromedp.CSS("#s-user"), "hris"),
		chromedp.SendKeys(chromedp.CSS("#s-password"), sftpPassword), chromedp.Click(chromedp.CSS("#make-sftp")), chromedp.WaitVisible(chromedp.CSS("#fingerprint")))
	if fp := hr.text("#fingerprint"); !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("fingerprint to confirm = %q", fp)
	}
	hr.shot("connect-sftp-confirm")
	// The password is not sent back to the browser: typed again.
	hr.do(chromedp.SendKeys(chromedp.CSS("#s-password"), sftpPassword), chromedp.Click(chromedp.CSS(`input[name="host_key"]`)),
		chromedp.Click(chromedp.CSS("#make-sftp")), chromedp.WaitVisible(chromedp.CSS("#test")), chromedp.Click(chromedp.CSS("#test")), landed("notice=Test"))
	if s := hr.text(".notice"); !strings.Contains(s, "Test of payroll-pull passed") {
		t.Fatalf("test of the new SFTP connection: %q", s)
	}

	// The operator view turns red when the employer's SFTP login fails,
	// with the catalog's fix, and green once the password is right again.
	row := `tr[data-connection="hris-sftp"] `
	setPassword := func(pw string) {
		op.do(chromedp.Navigate(console+"/t/demo"), chromedp.WaitVisible(chromedp.CSS(row+"summary")), chromedp.Click(chromedp.CSS(row+"summary")),
			chromedp.SendKeys(chromedp.CSS(row+`input[name="password"]`), pw), chromedp.Click(chromedp.CSS(row+`form[action$="/credentials"] button`)),
			landed("notice=Password"),
			chromedp.Click(chromedp.CSS(row+`form[action$="/sync"] button`)), landed("Sync+of"))
	}
	setPassword("not-the-password")
	op.waitText(console+"/", `tr[data-tenant="demo"]`, 60*time.Second, func(s string) bool { return strings.Contains(s, "E_SFTP_AUTH") }, "demo never turned red")
	if s := op.text(`tr[data-tenant="demo"] .badge`); s != "failing" {
		t.Fatalf("demo's badge = %q", s)
	}
	if s := op.text(`#fleet tbody tr:first-child`); !strings.Contains(s, "Demo Employer") {
		t.Fatalf("the failing tenant is not listed first: %q", s)
	}
	op.shot("fleet-red")
	setPassword(sftpPassword)
	op.waitText(console+"/", `tr[data-tenant="demo"] .badge`, 90*time.Second, func(s string) bool { return s == "healthy" }, "demo never turned green")
	op.shot("fleet-green")

	// Every form control of every page has a label, and every page has one
	// h1 and a lang.
	for _, page := range []string{"/", "/t/demo", "/t/demo/upload", "/t/demo/connect", "/t/demo/layouts", "/t/demo/schedules", "/t/demo/webhooks",
		"/t/demo/keys", "/t/demo/people", "/t/demo/audit", "/t/demo/links"} {
		op.do(chromedp.Navigate(console+page), chromedp.WaitVisible(chromedp.CSS("main h1")))
		unlabelled, err := chromedp.Run(op.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
  .filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id).join(",") +
  (document.querySelectorAll("h1").length === 1 && document.documentElement.lang ? "" : " (h1 or lang)")`))
		if err != nil || unlabelled != "" {
			t.Errorf("%s: controls without a label: %q %v", page, unlabelled, err)
		}
	}
}
