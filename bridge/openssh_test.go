package bridge

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hrisbridge/hrisbridge/bridge/faultproxy"
	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// sshd is a real OpenSSH server started for a test on a loopback port.
type sshd struct {
	port    int
	hostKey ssh.PublicKey
	clientK string // the client's private key (OpenSSH PEM)
	user    string
	dir     string // the directory served (absolute: sshd serves the real filesystem)
}

func writeKey(t testing.TB, path string) (ssh.PublicKey, string) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(block)
	if path != "" {
		if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	signer, _ := ssh.NewSignerFromKey(priv)
	return signer.PublicKey(), string(pemBytes)
}

// startSSHD runs OpenSSH's sshd with its own config, host key and
// authorized key. It is installed by .ci/run; without it the test fails
// under CI=true and skips elsewhere.
func startSSHD(t testing.TB) *sshd {
	t.Helper()
	if testing.Short() {
		t.Skip("starts OpenSSH's sshd; skipped by -short")
	}
	bin, err := exec.LookPath("sshd")
	if err != nil {
		bin = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("OpenSSH sshd is required under CI=true: %v", err)
		}
		t.Skip("sshd not installed (apt-get install openssh-server)")
	}
	u, _ := user.Current()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755) // so a test's system user can reach it
	hostPub, _ := writeKey(t, filepath.Join(dir, "host_key"))
	clientPub, clientKey := writeKey(t, "")
	os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600)
	data := filepath.Join(dir, "data")
	os.MkdirAll(filepath.Join(data, "outbound"), 0o755)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin yes
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
LogLevel ERROR
`, port, filepath.Join(dir, "host_key"), filepath.Join(dir, "sshd.pid"), filepath.Join(dir, "authorized_keys"))
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600)
	os.MkdirAll("/run/sshd", 0o755)
	cmd := exec.Command(bin, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not start: %s", logs.String())
		}
	}
	return &sshd{port: port, hostKey: hostPub, clientK: clientKey, user: u.Username, dir: data}
}

// sshdFixture connects a bridge connection to the real sshd.
func sshdFixture(t *testing.T, d *sshd, cfg SFTPConfig, sec SFTPSecret) *fixture {
	s := openSQLite(t)
	f := setup(t, s, SFTPConfig{}) // tenant, bridge and an unused in-process server
	cfg.Host, cfg.Port, cfg.User = "127.0.0.1", d.port, d.user
	if cfg.HostKey == "" {
		cfg.HostKey = ssh.FingerprintSHA256(d.hostKey)
	}
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(d.dir, "outbound")
	}
	if cfg.StableFor == "" {
		cfg.StableFor = "0s"
	}
	if sec.PrivateKey == "" && sec.Password == "" {
		sec.PrivateKey = d.clientK
	}
	cfgJSON, _ := json.Marshal(cfg)
	secJSON, _ := json.Marshal(sec)
	sealed, _ := f.bridge.cfg.Box.Seal(secJSON)
	conn := schema.Connection{TenantID: f.conn.TenantID, Name: "openssh", Kind: schema.ConnSFTP, Layout: "census-csv", Config: cfgJSON, Secret: sealed, Enabled: true}
	if err := s.CreateConnection(context.Background(), &conn); err != nil {
		t.Fatal(err)
	}
	f.conn = conn
	return f
}

func (d *sshd) drop(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d.dir, "outbound", name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSSHKeyAuthPullAndArchive(t *testing.T) {
	d := startSSHD(t)
	f := sshdFixture(t, d, SFTPConfig{Ack: "archive", ArchiveDir: filepath.Join(d.dir, "archive")}, SFTPSecret{})
	d.drop(t, "census.csv", sampleCensus)
	run, results, err := f.bridge.Sync(context.Background(), f.conn, "manual")
	if err != nil || run.Files != 1 || results[0].File.Status != schema.FileApplied || results[0].File.Created != 2 {
		t.Fatalf("pull from OpenSSH = %+v %+v %v", run, results, err)
	}
	if _, err := os.Stat(filepath.Join(d.dir, "archive", "census.csv")); err != nil {
		t.Fatalf("not archived on the OpenSSH server: %v", err)
	}
}

func TestOpenSSHDeleteAck(t *testing.T) {
	d := startSSHD(t)
	f := sshdFixture(t, d, SFTPConfig{Ack: "delete"}, SFTPSecret{})
	d.drop(t, "census.csv", sampleCensus)
	if _, _, err := f.bridge.Sync(context.Background(), f.conn, "manual"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.dir, "outbound", "census.csv")); !os.IsNotExist(err) {
		t.Fatalf("file not deleted after commit: %v", err)
	}
}

func TestOpenSSHHostKeyMismatch(t *testing.T) {
	d := startSSHD(t)
	other, _ := writeKey(t, "")
	f := sshdFixture(t, d, SFTPConfig{HostKey: ssh.FingerprintSHA256(other)}, SFTPSecret{})
	d.drop(t, "census.csv", sampleCensus)
	_, _, err := f.bridge.Sync(context.Background(), f.conn, "manual")
	var se *SyncError
	if !errors.As(err, &se) || se.Code != schema.ECodeSFTPHostKey || !strings.Contains(err.Error(), ssh.FingerprintSHA256(d.hostKey)) {
		t.Fatalf("mismatch = %v", err)
	}
}

func TestOpenSSHWrongKeyIsAuthFailure(t *testing.T) {
	d := startSSHD(t)
	_, stranger := writeKey(t, "")
	f := sshdFixture(t, d, SFTPConfig{}, SFTPSecret{PrivateKey: stranger})
	_, _, err := f.bridge.Sync(context.Background(), f.conn, "manual")
	var se *SyncError
	if !errors.As(err, &se) || se.Code != schema.ECodeSFTPAuth || se.Transient {
		t.Fatalf("unknown key = %v, want a permanent E_SFTP_AUTH", err)
	}
}

// TestOpenSSHPasswordAuth logs in with a password as a throwaway system
// user, created for the test (root only).
func TestOpenSSHPasswordAuth(t *testing.T) {
	d := startSSHD(t)
	if os.Geteuid() != 0 {
		t.Skip("password login needs a system user; run as root (CI does)")
	}
	name := "hbtest" + strconv.Itoa(os.Getpid()%100000)
	if out, err := exec.Command("useradd", "-M", "-d", d.dir, "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	chpw := exec.Command("chpasswd")
	chpw.Stdin = strings.NewReader(name + ":Tr0ub4dor&3\n")
	if out, err := chpw.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v %s", err, out)
	}
	os.Chmod(filepath.Join(d.dir, "outbound"), 0o777)
	d.user = name
	f := sshdFixture(t, d, SFTPConfig{}, SFTPSecret{Password: "Tr0ub4dor&3"})
	d.drop(t, "census.csv", sampleCensus)
	if _, results, err := f.bridge.Sync(context.Background(), f.conn, "manual"); err != nil || len(results) != 1 || results[0].File.Status != schema.FileApplied {
		t.Fatalf("password pull = %+v %v", results, err)
	}
	f2 := sshdFixture(t, d, SFTPConfig{}, SFTPSecret{Password: "wrong"})
	f2.conn.Name = "x"
	if _, _, err := f2.bridge.Sync(context.Background(), f2.conn, "manual"); err == nil {
		t.Fatal("a wrong password logged in")
	}
}

func TestOpenSSHFileStillBeingWritten(t *testing.T) {
	d := startSSHD(t)
	// The write lands 200 ms into a 2 s stability window: slack for a
	// loaded machine.
	f := sshdFixture(t, d, SFTPConfig{StableFor: "2s"}, SFTPSecret{})
	d.drop(t, "growing.csv", "Employee ID,First Name,Last Name,Status\nE7,A,B,A\n")
	go func() {
		time.Sleep(200 * time.Millisecond)
		fh, _ := os.OpenFile(filepath.Join(d.dir, "outbound", "growing.csv"), os.O_APPEND|os.O_WRONLY, 0)
		fh.WriteString("E8,C,D,A\n")
		fh.Close()
	}()
	if _, results, err := f.bridge.Sync(context.Background(), f.conn, "manual"); err != nil || len(results) != 0 {
		t.Fatalf("a file written during the pull was taken: %+v %v", results, err)
	}
	if _, results, err := f.bridge.Sync(context.Background(), f.conn, "manual"); err != nil || len(results) != 1 || results[0].File.Rows != 2 {
		t.Fatalf("next pull = %+v %v", results, err)
	}
}

func TestOpenSSHPGPDrop(t *testing.T) {
	d := startSSHD(t)
	us, vendor := pgpEntity(t, "us"), pgpEntity(t, "vendor")
	f := sshdFixture(t, d, SFTPConfig{Patterns: []string{"*.pgp"}}, SFTPSecret{PGP: PGP{PrivateKey: armored(t, us, true), SignerKey: armored(t, vendor, false)}})
	d.drop(t, "census.csv.pgp", string(encrypt(t, us, vendor, []byte(sampleCensus))))
	if _, results, err := f.bridge.Sync(context.Background(), f.conn, "manual"); err != nil || len(results) != 1 || results[0].File.Status != schema.FileApplied {
		t.Fatalf("pgp pull = %+v %v", results, err)
	}
}

// TestOpenSSHDroppedConnection kills the server in the middle of a pull:
// the run fails as a transient error, nothing is half-applied, and the
// next run (server back) applies the file once.
func TestOpenSSHDroppedConnection(t *testing.T) {
	d := startSSHD(t)
	f := sshdFixture(t, d, SFTPConfig{}, SFTPSecret{})
	f.bridge.cfg.Retries = -1 // this test looks at one failed attempt
	d.drop(t, "census.csv", storetest.Census(5000))
	proxy := faultproxy.Start(t, "127.0.0.1:"+strconv.Itoa(d.port))
	proxy.ResetAfter(32<<10, -1) // every connection, after 32 KB of a ~125 KB file
	var cfg SFTPConfig
	json.Unmarshal(f.conn.Config, &cfg)
	cfg.Port = proxy.Port
	f.conn.Config, _ = json.Marshal(cfg)
	_, _, err := f.bridge.Sync(context.Background(), f.conn, "manual")
	var se *SyncError
	if err == nil || !errors.As(err, &se) || !se.Transient {
		t.Fatalf("cut transfer = %v, want a transient failure", err)
	}
	if es, _ := f.store.Employees(context.Background(), f.conn.TenantID, schema.EmployeeQuery{Limit: 1}); len(es) != 0 {
		t.Fatal("a cut transfer applied rows")
	}
	proxy.ResetAfter(0, 0) // healed
	_, results, err := f.bridge.Sync(context.Background(), f.conn, "manual")
	if err != nil || len(results) != 1 || results[0].File.Created != 5000 {
		t.Fatalf("retry = %+v %v", results, err)
	}
}

// TestOpenSSHRetriesTransientFailures cuts the first transfer and lets the
// retry within the same sync finish it.
func TestOpenSSHRetriesTransientFailures(t *testing.T) {
	d := startSSHD(t)
	f := sshdFixture(t, d, SFTPConfig{}, SFTPSecret{})
	f.bridge.cfg.Retries, f.bridge.cfg.RetryBase = 2, 50*time.Millisecond
	d.drop(t, "census.csv", storetest.Census(3000))
	proxy := faultproxy.Start(t, "127.0.0.1:"+strconv.Itoa(d.port))
	proxy.ResetAfter(16<<10, 1) // only the first connection is cut
	var cfg SFTPConfig
	json.Unmarshal(f.conn.Config, &cfg)
	cfg.Port = proxy.Port
	f.conn.Config, _ = json.Marshal(cfg)
	run, results, err := f.bridge.Sync(context.Background(), f.conn, "manual")
	if err != nil || run.Status != schema.RunSucceeded || len(results) != 1 || results[0].File.Created != 3000 || proxy.Conns() != 2 {
		t.Fatalf("sync with a retry = %+v %+v %v (%d connections)", run, results, err, proxy.Conns())
	}
}

// BenchmarkPullOpenSSH downloads a 200 MB file from OpenSSH's sshd with the
// bridge's SFTP client (concurrent reads) and, in the same iteration, with
// OpenSSH's own sftp client, and reports both speeds and their ratio
// (ratio > 1: the bridge is faster).
func BenchmarkPullOpenSSH(b *testing.B) {
	d := startSSHD(b)
	sftpBin, err := exec.LookPath("sftp")
	if err != nil {
		b.Skip("no OpenSSH sftp client")
	}
	const size = 200 << 20
	path := filepath.Join(d.dir, "outbound", "big.csv")
	f, _ := os.Create(path)
	chunk := bytes.Repeat([]byte("E000001,First,Last,A,Engineering,Chicago\n"), 25000)
	for n := 0; n < size; n += len(chunk) {
		f.Write(chunk)
	}
	f.Close()
	fi, _ := os.Stat(path)
	keyFile := filepath.Join(b.TempDir(), "id")
	os.WriteFile(keyFile, []byte(d.clientK), 0o600)
	cfg := SFTPConfig{Host: "127.0.0.1", Port: d.port, User: d.user, HostKey: ssh.FingerprintSHA256(d.hostKey)}
	b.SetBytes(fi.Size())
	var ours, theirs time.Duration
	for b.Loop() {
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		c, err := dialSFTP(ctx, cfg, SFTPSecret{PrivateKey: d.clientK}, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		r, err := c.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		n, err := r.WriteTo(io.Discard)
		r.Close()
		cancel()
		if err != nil || n != fi.Size() {
			b.Fatalf("read %d of %d: %v", n, fi.Size(), err)
		}
		ours += time.Since(start)

		start = time.Now()
		cmd := exec.Command(sftpBin, "-q", "-b", "-", "-P", strconv.Itoa(d.port), "-i", keyFile,
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", d.user+"@127.0.0.1")
		cmd.Stdin = strings.NewReader("get " + path + " /dev/null\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("sftp: %v %s", err, out)
		}
		theirs += time.Since(start)
	}
	mb := float64(fi.Size()) * float64(b.N) / 1e6
	b.ReportMetric(mb/ours.Seconds(), "bridge_MB/s")
	b.ReportMetric(mb/theirs.Seconds(), "openssh_MB/s")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "ratio")
}
