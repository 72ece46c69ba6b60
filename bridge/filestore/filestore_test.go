package filestore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// buckets are the places a store is tested on: a directory, and an
// S3-compatible server (gofakes3, in process, speaking the S3 REST API
// over HTTP to the AWS SDK that s3blob uses).
func buckets(t *testing.T) map[string]func(t *testing.T) (url, dir string) {
	return map[string]func(t *testing.T) (string, string){
		"dir": func(t *testing.T) (string, string) { return "", filepath.Join(t.TempDir(), "files") },
		"s3": func(t *testing.T) (string, string) {
			be := s3mem.New()
			if err := be.CreateBucket("files"); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(gofakes3.New(be).Server())
			t.Cleanup(srv.Close)
			t.Setenv("AWS_ACCESS_KEY_ID", "hrisbridge")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "hrisbridge-secret")
			return "s3://files?region=us-east-1&use_path_style=true&disable_https=true&endpoint=" + srv.URL, ""
		},
	}
}

func TestSealedRoundTrip(t *testing.T) {
	for name, open := range buckets(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			url, dir := open(t)
			box := storetest.Box(t)
			s, err := Open(ctx, url, dir, box)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// 3 MiB: many age chunks, and a short last one.
			plain := bytes.Repeat([]byte("E1001,Ada,Lovelace,149-19-9779\n"), 3<<20/31)
			if err := s.Put(ctx, "conn-1/abc", bytes.NewReader(plain)); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := s.Get(ctx, "conn-1/abc", &got); err != nil || !bytes.Equal(got.Bytes(), plain) {
				t.Fatalf("round trip: %v, %d bytes of %d", err, got.Len(), len(plain))
			}
			if err := s.Put(ctx, "conn-1/empty", strings.NewReader("")); err != nil {
				t.Fatal(err)
			}
			got.Reset()
			if err := s.Get(ctx, "conn-1/empty", &got); err != nil || got.Len() != 0 {
				t.Fatalf("empty file: %v %d", err, got.Len())
			}
			var keys []string
			s.List(ctx, "conn-1/", func(o Object) error { keys = append(keys, o.Key); return nil }) //nolint:errcheck
			if strings.Join(keys, ",") != "conn-1/abc,conn-1/empty" {
				t.Fatalf("list = %v", keys)
			}
			// At rest there is no SSN, and another master key opens nothing.
			raw := rawObject(t, s, "conn-1/abc")
			if bytes.Contains(raw, []byte("149-19-9779")) || !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n-> "+stanzaType)) {
				t.Fatalf("stored object starts %q", raw[:60])
			}
			other, _ := Open(ctx, url, dir, storetest.Box(t))
			if err := other.Get(ctx, "conn-1/abc", &bytes.Buffer{}); err == nil {
				t.Fatal("another master key opened the file")
			}
			// Truncated or altered, it does not open.
			for what, bad := range map[string][]byte{"truncated": raw[:len(raw)-100], "altered": flip(raw, len(raw)/2)} {
				if err := s.bucket.WriteAll(ctx, "conn-1/bad", bad, nil); err != nil {
					t.Fatal(err)
				}
				if err := s.Get(ctx, "conn-1/bad", &bytes.Buffer{}); err == nil {
					t.Errorf("a %s object opened", what)
				}
			}
			if err := s.Delete(ctx, "conn-1/abc"); err != nil {
				t.Fatal(err)
			}
			if err := s.Get(ctx, "conn-1/abc", &bytes.Buffer{}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("deleted file: %v", err)
			}
			if err := s.Delete(ctx, "conn-1/abc"); err != nil {
				t.Fatalf("deleting a missing file: %v", err)
			}
		})
	}
}

func rawObject(t *testing.T, s *Store, key string) []byte {
	b, err := s.bucket.ReadAll(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

// TestSealingStreams: sealing and opening a 64 MiB file never hold more
// than a small fraction of it in memory (age works in 64 KiB chunks).
func TestSealingStreams(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "", t.TempDir(), storetest.Box(t))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "big")
	f, _ := os.Create(src)
	chunk := make([]byte, 1<<20)
	for range 64 {
		rand.Read(chunk)
		f.Write(chunk)
	}
	f.Close()
	defer debug.SetGCPercent(debug.SetGCPercent(10)) // collect garbage early: the peak then is what is held
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, uint64(0)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	if err := s.PutFile(ctx, "big", src); err != nil {
		t.Fatal(err)
	}
	if err := s.GetFile(ctx, "big", filepath.Join(t.TempDir(), "out")); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-done
	if held := int64(peak) - int64(base); held > 16<<20 {
		t.Fatalf("sealing and opening 64 MiB held %d MiB at the peak", held>>20)
	}
}

// BenchmarkSeal measures sealing into a directory bucket (the cost a kept
// file adds to its ingest), beside a plain copy of the same file.
func BenchmarkSeal(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, "", b.TempDir(), storetest.Box(b))
	if err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(b.TempDir(), "census")
	data := bytes.Repeat([]byte("E1001,Ada,Lovelace,03/13/1982,149-19-9779,F,A,PT,10/02/2017,,Analyst,Human Resources\n"), 32<<20/86)
	os.WriteFile(src, data, 0o600)
	b.Run("seal", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := s.PutFile(ctx, "k", src); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		dst := filepath.Join(b.TempDir(), "copy")
		for b.Loop() {
			in, _ := os.Open(src)
			out, _ := os.Create(dst)
			io.Copy(out, in)
			out.Close()
			in.Close()
		}
	})
}
