package bridge

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/hrisbridge/hrisbridge/schema"
)

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func zipped(files map[string][]byte) []byte {
	var out bytes.Buffer
	w := zip.NewWriter(&out)
	for name, b := range files {
		f, _ := w.Create(name)
		f.Write(b)
	}
	w.Close()
	return out.Bytes()
}

func armored(t *testing.T, e *openpgp.Entity, private bool) string {
	var b bytes.Buffer
	typ := openpgp.PublicKeyType
	if private {
		typ = openpgp.PrivateKeyType
	}
	w, _ := armor.Encode(&b, typ, nil)
	if private {
		e.SerializePrivate(w, nil)
	} else {
		e.Serialize(w)
	}
	w.Close()
	return b.String()
}

func encrypt(t *testing.T, to, signer *openpgp.Entity, plain []byte) []byte {
	var out bytes.Buffer
	w, err := openpgp.Encrypt(&out, []*openpgp.Entity{to}, signer, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	return out.Bytes()
}

// withSecret gives the fixture's connection a sealed secret.
func (f *ingestFixture) withSecret(t *testing.T, v any) {
	b, _ := json.Marshal(v)
	sealed, err := f.bridge.cfg.Box.Seal(b)
	if err != nil {
		t.Fatal(err)
	}
	f.conn.Secret = sealed
}

func (f *ingestFixture) ingestNamed(name string, body []byte) Result {
	f.t.Helper()
	res, err := f.bridge.IngestReader(context.Background(), f.conn, name, bytes.NewReader(body))
	if err != nil {
		f.t.Fatalf("ingest %s: %v", name, err)
	}
	return res
}

func TestCompressedDrops(t *testing.T) {
	s := openSQLite(t)
	f := newIngest(t, s, "census-csv", Policy{})
	plain := []byte(census("E1:A", "E2:A"))
	if r := f.ingestNamed("census.csv.gz", gz(plain)); r.File.Status != schema.FileApplied || r.File.Created != 2 {
		t.Fatalf("gzip drop = %+v", r.File)
	}
	if r := f.ingestNamed("census.zip", zipped(map[string][]byte{"census.csv": []byte(census("E1:A", "E2:A", "E3:A"))})); r.File.Status != schema.FileApplied || r.File.Created != 1 {
		t.Fatalf("zip drop = %+v", r.File)
	}
	two := zipped(map[string][]byte{"a.csv": plain, "b.csv": plain})
	if r := f.ingestNamed("two.zip", two); r.File.Status != schema.FileRejected || !strings.Contains(r.File.Detail, "exactly one file") {
		t.Fatalf("two-member zip = %+v", r.File)
	}
	if r := f.ingestNamed("broken.csv.gz", []byte("not gzip")); r.File.Status != schema.FileRejected || !strings.Contains(r.File.Detail, "E_DECODE") {
		t.Fatalf("corrupt gzip = %+v", r.File)
	}
	// A bomb: 64 MB of zeros compresses to ~64 KB; the cap is 1 MB here.
	f.bridge.cfg.MaxDecoded = 1 << 20
	if r := f.ingestNamed("bomb.csv.gz", gz(make([]byte, 64<<20))); r.File.Status != schema.FileRejected || !strings.Contains(r.File.Detail, "limit") ||
		!strings.Contains(r.File.Detail, schema.ECodeTooLarge) {
		t.Fatalf("zip bomb = %+v", r.File)
	}
	if left, _ := filepath.Glob(filepath.Join(f.bridge.cfg.SpoolDir, "decoded-*")); len(left) > 0 {
		t.Fatalf("the bomb's decoded bytes stayed: %v", left)
	}
	if DefaultMaxDecoded >= 8<<30 {
		t.Fatalf("DefaultMaxDecoded = %d: a zero-filled bomb writes that much before it is stopped", DefaultMaxDecoded)
	}
}

func TestPGPDrops(t *testing.T) {
	s := openSQLite(t)
	f := newIngest(t, s, "census-csv", Policy{})
	us, vendor, stranger := pgpEntity(t, "hrisbridge"), pgpEntity(t, "Payroll Vendor"), pgpEntity(t, "Stranger")
	f.withSecret(t, PGP{PrivateKey: armored(t, us, true), SignerKey: armored(t, vendor, false)})

	signed := encrypt(t, us, vendor, []byte(census("E1:A", "E2:A")))
	if r := f.ingestNamed("census.csv.pgp", signed); r.File.Status != schema.FileApplied || r.File.Created != 2 {
		t.Fatalf("signed pgp drop = %+v", r.File)
	}
	// Armored, gzipped inside: census.csv.gz.asc
	var arm bytes.Buffer
	w, _ := armor.Encode(&arm, "PGP MESSAGE", nil)
	w.Write(encrypt(t, us, vendor, gz([]byte(census("E1:A", "E2:A", "E3:A")))))
	w.Close()
	if r := f.ingestNamed("census.csv.gz.asc", arm.Bytes()); r.File.Status != schema.FileApplied || r.File.Created != 1 {
		t.Fatalf("armored gzipped drop = %+v", r.File)
	}
	for name, body := range map[string][]byte{
		"unsigned.csv.pgp":     encrypt(t, us, nil, []byte(census("E9:A"))),
		"wrong-signer.csv.pgp": encrypt(t, us, stranger, []byte(census("E9:A"))),
		"not-for-us.csv.gpg":   encrypt(t, stranger, vendor, []byte(census("E9:A"))),
		"garbage.csv.pgp":      []byte("-----BEGIN PGP MESSAGE-----\nnope\n"),
	} {
		if r := f.ingestNamed(name, body); r.File.Status != schema.FileRejected || !strings.Contains(r.File.Detail, "E_DECODE") {
			t.Errorf("%s = %s %q, want rejected E_DECODE", name, r.File.Status, r.File.Detail)
		}
	}
	if es, _ := s.Employees(context.Background(), f.conn.TenantID, schema.EmployeeQuery{ExternalID: "E9", Limit: 1}); len(es) != 0 {
		t.Fatal("a drop that failed verification was applied")
	}
}

func pgpEntity(t *testing.T, name string) *openpgp.Entity {
	e, err := openpgp.NewEntity(name, "", "x@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
