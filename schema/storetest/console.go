package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

// testConsole: operators are unique by e-mail; a magic link is spent
// once, by one of many racing uses, and not after it expired or was
// revoked; revoking a link ends its sessions; sessions expire.
func testConsole(t *testing.T, s schema.Store) {
	ctx := context.Background()
	email := unique("ops") + "@example.com"
	if err := s.CreateOperator(ctx, &schema.Operator{Email: email, PasswordHash: "h1", PII: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOperator(ctx, &schema.Operator{Email: email, PasswordHash: "h2"}); !errors.Is(err, schema.ErrDuplicate) {
		t.Fatalf("second operator with one e-mail: %v", err)
	}
	if err := s.SetOperatorPassword(ctx, email, "h3"); err != nil {
		t.Fatal(err)
	}
	if o, err := s.OperatorByEmail(ctx, email); err != nil || o.PasswordHash != "h3" || !o.PII || o.ID == "" {
		t.Fatalf("operator = %+v %v", o, err)
	}
	if _, err := s.OperatorByEmail(ctx, "nobody@example.com"); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("unknown operator: %v", err)
	}
	if err := s.SetOperatorPassword(ctx, "nobody@example.com", "h"); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("password of an unknown operator: %v", err)
	}

	tn := mustTenant(t, s)
	hash := func(v string) []byte { h := sha256.Sum256([]byte(v + unique(""))); return h[:] }
	now := time.Now()
	l := schema.MagicLink{TenantID: tn.ID, Hash: hash("a"), Email: "hr@example.com", Creator: "operator:x", Expires: now.Add(time.Hour)}
	if err := s.CreateMagicLink(ctx, &l); err != nil {
		t.Fatal(err)
	}
	// Eight racing uses: one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.UseMagicLink(ctx, l.Hash, time.Now())
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
				if got.ID != l.ID || got.TenantID != tn.ID || got.UsedAt == nil {
					t.Errorf("used link = %+v", got)
				}
			} else if !errors.Is(err, schema.ErrNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d of 8 racing uses won", wins)
	}
	expired := schema.MagicLink{TenantID: tn.ID, Hash: hash("b"), Expires: now.Add(time.Minute)}
	if err := s.CreateMagicLink(ctx, &expired); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseMagicLink(ctx, expired.Hash, now.Add(2*time.Minute)); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("expired link: %v", err)
	}

	sess := schema.ConsoleSession{Hash: hash("s"), LinkID: l.ID, TenantID: tn.ID, Actor: "link:hr@example.com", ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, &sess); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, sess.Hash, now); err != nil || got.TenantID != tn.ID || got.LinkID != l.ID || got.Actor != sess.Actor {
		t.Fatalf("session = %+v %v", got, err)
	}
	if _, err := s.Session(ctx, sess.Hash, now.Add(2*time.Hour)); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	if err := s.RevokeMagicLink(ctx, "another-tenant", l.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("revoke through another tenant: %v", err)
	}
	if err := s.RevokeMagicLink(ctx, tn.ID, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, sess.Hash, now); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("a revoked link's session lives: %v", err)
	}
	links, err := s.MagicLinks(ctx, tn.ID)
	if err != nil || len(links) != 2 || links[0].ID != expired.ID || links[1].RevokedAt == nil || links[1].UsedAt == nil {
		t.Fatalf("links = %+v %v", links, err)
	}
	op := schema.ConsoleSession{Hash: hash("o"), OperatorID: "op", Actor: "operator:" + email, PII: true, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, &op); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, op.Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, op.Hash, now); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
}
