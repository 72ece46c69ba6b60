package bridge

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Decoding of drops before parsing: OpenPGP-encrypted (.pgp, .gpg, .asc),
// gzip (.gz) and zip (.zip, one member) files are unwrapped, outermost
// first (census.csv.gz.pgp is decrypted, then gunzipped). Idempotency keeps
// using the SHA-256 of the bytes as delivered.

// DefaultMaxDecoded caps what one drop may expand to (zip bombs): twice
// the largest census exports seen.
const DefaultMaxDecoded = 2 << 30

// ErrTooLarge is a drop that expands past Config.MaxDecoded.
var ErrTooLarge = errors.New("the drop expands past the decoded-size limit")

// PGP holds a connection's OpenPGP keys (in its sealed secret).
type PGP struct {
	// PrivateKey is the armored private key drops are encrypted to.
	PrivateKey string `json:"pgp_private_key,omitempty"`
	Passphrase string `json:"pgp_passphrase,omitempty"`
	// SignerKey, when set, is the armored public key every drop must be
	// signed with.
	SignerKey string `json:"pgp_signer_key,omitempty"`
}

// ErrDecode is a drop that cannot be unwrapped.
var ErrDecode = errors.New("cannot decode the drop")

// decodeLayers returns the name after unwrapping and the unwrapping steps.
func decodeLayers(name string) (string, []string) {
	var steps []string
	for {
		ext := strings.ToLower(filepath.Ext(name))
		switch ext {
		case ".pgp", ".gpg", ".asc", ".gz", ".zip":
			steps = append(steps, ext)
			name = strings.TrimSuffix(name, filepath.Ext(name))
		default:
			return name, steps
		}
	}
}

// decode unwraps a spooled drop into a new spool file, returning its path
// (the caller removes it) and the inner file name. A plain file is
// returned as is.
func (b *Bridge) decode(sp spooled, name string, keys PGP) (string, string, error) {
	inner, steps := decodeLayers(name)
	path := sp.Path
	for i, step := range steps {
		out, err := b.decodeOne(path, step, keys)
		if i > 0 {
			os.Remove(path)
		}
		if err != nil {
			return "", "", fmt.Errorf("%w %s (%s): %w", ErrDecode, name, step, err)
		}
		path = out
	}
	return path, inner, nil
}

func (b *Bridge) decodeOne(path, step string, keys PGP) (string, error) {
	in, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	var r io.Reader
	var check func() error
	switch step {
	case ".gz":
		zr, err := gzip.NewReader(in)
		if err != nil {
			return "", err
		}
		r = zr
	case ".zip":
		fi, _ := in.Stat()
		zr, err := zip.NewReader(in, fi.Size())
		if err != nil {
			return "", err
		}
		var files []*zip.File
		for _, f := range zr.File {
			if !f.FileInfo().IsDir() && !strings.HasPrefix(filepath.Base(f.Name), ".") && !strings.HasPrefix(f.Name, "__MACOSX") {
				files = append(files, f)
			}
		}
		if len(files) != 1 {
			return "", fmt.Errorf("a zip drop must hold exactly one file, this one holds %d", len(files))
		}
		rc, err := files[0].Open()
		if err != nil {
			return "", err
		}
		defer rc.Close()
		r = rc
	default: // OpenPGP
		if r, check, err = decrypt(in, keys); err != nil {
			return "", err
		}
	}
	out, err := os.CreateTemp(b.cfg.SpoolDir, tempPattern("decoded"))
	if err != nil {
		return "", err
	}
	limit := b.cfg.MaxDecoded
	n, err := io.Copy(out, io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		err = fmt.Errorf("%w: more than %d bytes (max_decoded_bytes)", ErrTooLarge, limit)
	}
	if err == nil && check != nil {
		err = check()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// decrypt opens an OpenPGP message (armored or binary) with the private
// key. check, run after the body is read, verifies the signature when a
// signer is configured.
func decrypt(in io.Reader, keys PGP) (io.Reader, func() error, error) {
	if keys.PrivateKey == "" {
		return nil, nil, errors.New("the connection has no pgp_private_key to decrypt with")
	}
	ring, err := openpgp.ReadArmoredKeyRing(strings.NewReader(keys.PrivateKey))
	if err != nil {
		return nil, nil, fmt.Errorf("pgp_private_key: %w", err)
	}
	if keys.Passphrase != "" {
		for _, e := range ring {
			if e.PrivateKey != nil && e.PrivateKey.Encrypted {
				if err := e.PrivateKey.Decrypt([]byte(keys.Passphrase)); err != nil {
					return nil, nil, fmt.Errorf("pgp_passphrase: %w", err)
				}
			}
			for _, sub := range e.Subkeys {
				if sub.PrivateKey != nil && sub.PrivateKey.Encrypted {
					if err := sub.PrivateKey.Decrypt([]byte(keys.Passphrase)); err != nil {
						return nil, nil, fmt.Errorf("pgp_passphrase: %w", err)
					}
				}
			}
		}
	}
	if keys.SignerKey != "" {
		signer, err := openpgp.ReadArmoredKeyRing(strings.NewReader(keys.SignerKey))
		if err != nil {
			return nil, nil, fmt.Errorf("pgp_signer_key: %w", err)
		}
		ring = append(ring, signer...)
	}
	// Armored or binary: peek for the armor header.
	br := bufioReader(in)
	head, _ := br.Peek(64)
	var body io.Reader = br
	if bytes.Contains(head, []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(br)
		if err != nil {
			return nil, nil, err
		}
		body = block.Body
	}
	md, err := openpgp.ReadMessage(body, ring, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	check := func() error {
		if keys.SignerKey == "" {
			return nil
		}
		if !md.IsSigned || md.SignedBy == nil {
			return errors.New("the drop is not signed by the configured signer")
		}
		if md.SignatureError != nil {
			return fmt.Errorf("bad signature: %w", md.SignatureError)
		}
		return nil
	}
	return md.UnverifiedBody, check, nil
}

// pgpKeys reads the OpenPGP keys from a connection's sealed secret.
func (b *Bridge) pgpKeys(conn schema.Connection) (PGP, error) {
	var keys PGP
	if b.cfg.Box == nil {
		return keys, nil
	}
	return keys, b.openSecret(conn, &keys)
}
