// Package filestore keeps received files' bytes (for replays and held
// files) sealed in a bucket: a directory by default, an S3-compatible
// bucket (s3://) so that replicas share no file system.
//
// Each file is encrypted with age (filippo.io/age): a random 128-bit file
// key per file and the STREAM construction (ChaCha20-Poly1305 over 64 KiB
// chunks), so a file is sealed and opened in constant memory and a
// truncated or altered file fails to open. The file key is wrapped by the
// master key (the store's Sealer, AES-256-GCM) in an age stanza of
// hrisbridge's own type: whoever holds the bucket without the master key
// reads nothing, and rotating the master key means re-wrapping 16 bytes
// per file, not re-encrypting the files.
package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"filippo.io/age"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"

	_ "gocloud.dev/blob/s3blob" // s3:// buckets (AWS S3 and S3-compatible servers)

	"github.com/hrisbridge/hrisbridge/schema"
)

// ErrNotFound means no file is kept under the key.
var ErrNotFound = errors.New("filestore: not found")

// Store is a bucket of sealed files.
type Store struct {
	bucket *blob.Bucket
	key    masterKey
}

// Open opens the bucket at url (file:///dir, s3://bucket?region=...&endpoint=...),
// or, when url is empty, the directory dir (created 0700).
func Open(ctx context.Context, url, dir string, box schema.Sealer) (*Store, error) {
	var b *blob.Bucket
	var err error
	if url == "" {
		b, err = fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true, DirFileMode: 0o700, NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	} else {
		b, err = blob.OpenBucket(ctx, url)
	}
	if err != nil {
		return nil, fmt.Errorf("files bucket: %w", err)
	}
	return &Store{bucket: b, key: masterKey{box}}, nil
}

// Close closes the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// Put seals r into the bucket under key, replacing what was there. The
// object appears only once complete.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // an error before Close aborts the upload
	w, err := s.bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return err
	}
	enc, err := age.Encrypt(w, s.key)
	if err == nil {
		_, err = io.Copy(enc, r)
	}
	if err == nil {
		err = enc.Close()
	}
	if err != nil {
		cancel()
		w.Close() //nolint:errcheck // aborted
		return fmt.Errorf("seal %s: %w", key, err)
	}
	return w.Close()
}

// PutFile seals the file at path under key.
func (s *Store) PutFile(ctx context.Context, key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.Put(ctx, key, f)
}

// Get opens the file under key and writes its plain bytes to w; an
// altered or truncated object fails.
func (s *Store) Get(ctx context.Context, key string, w io.Writer) error {
	r, err := s.bucket.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	dec, err := age.Decrypt(r, s.key)
	if err != nil {
		return fmt.Errorf("open %s: %w", key, err)
	}
	if _, err := io.Copy(w, dec); err != nil {
		return fmt.Errorf("open %s: %w", key, err)
	}
	return nil
}

// GetFile writes the plain bytes under key to a new file at path.
func (s *Store) GetFile(ctx context.Context, key, path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = s.Get(ctx, key, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// Exists reports whether a file is kept under key.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	return s.bucket.Exists(ctx, key)
}

// Delete removes the file under key; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.bucket.Delete(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	return err
}

// Object is a kept file as listed.
type Object struct {
	Key     string
	ModTime time.Time
	Size    int64
}

// List calls fn for every file whose key starts with prefix.
func (s *Store) List(ctx context.Context, prefix string, fn func(Object) error) error {
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if o.IsDir {
			continue
		}
		if err := fn(Object{Key: o.Key, ModTime: o.ModTime, Size: o.Size}); err != nil {
			return err
		}
	}
}

// stanzaType names hrisbridge's age recipient: the file key sealed by the
// master key.
const stanzaType = "hrisbridge-master-v1"

// masterKey is both the age recipient and identity of the master key.
type masterKey struct{ box schema.Sealer }

func (k masterKey) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	sealed, err := k.box.Seal(fileKey)
	if err != nil {
		return nil, err
	}
	return []*age.Stanza{{Type: stanzaType, Body: sealed}}, nil
}

func (k masterKey) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, st := range stanzas {
		if st.Type != stanzaType {
			continue
		}
		key, err := k.box.Open(st.Body)
		if err != nil {
			return nil, fmt.Errorf("the file key does not open with this master key: %w", err)
		}
		return key, nil
	}
	return nil, age.ErrIncorrectIdentity
}
