package bridge

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

// TestReingestRecognisesUnchangedRows: a re-delivered snapshot's rows
// whose raw bytes did not change are taken without parsing, yet every
// outcome is the one a full read gives: changed rows are written with
// their events, duplicates of recognised rows are caught, a person flagged
// missing comes back, and a layout change reads every row again.
func TestReingestRecognisesUnchangedRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s schema.Store) {
		ctx := context.Background()
		lenient := 0.5
		f := newIngest(t, s, "census-csv", Policy{MaxInvalidRatio: &lenient})
		base := people(10, "A")
		first := f.ingest(census(base...))
		if first.Recognised != 0 || first.File.Created != 10 {
			t.Fatalf("first delivery: %+v", first)
		}
		f.newEvents()

		// Same people, E03 terminated: 9 rows recognised, 1 read and updated.
		next := append([]string(nil), base...)
		next[2] = "E03:T"
		res := f.ingest(census(next...))
		if res.Recognised != 9 || counts(res) != "applied c0 u1 s9 m0 e1" {
			t.Fatalf("second delivery: recognised %d, %s", res.Recognised, counts(res))
		}
		if evs := f.newEvents(); strings.Join(evs, " ") != "employee.terminated:E03" {
			t.Fatalf("events = %v", evs)
		}

		// A recognised row repeated later in the file is a duplicate.
		dup := f.ingest(census(append(append([]string(nil), next...), "E05:A")...))
		if dup.File.Status != schema.FileAppliedWithErrors || dup.File.Invalid != 1 {
			t.Fatalf("duplicate of a recognised row: %s invalid %d", dup.File.Status, dup.File.Invalid)
		}
		errs, _ := s.RecordErrors(ctx, f.conn.TenantID, dup.File.ID)
		if len(errs) != 1 || errs[0].Code != schema.ECodeDuplicate || errs[0].RecordID != "E05" || errs[0].Line != 12 {
			t.Fatalf("record errors = %+v", errs)
		}

		// E07 missing from a snapshot, then back with the very same row:
		// it is read (not recognised) and unflagged.
		without := append(append([]string(nil), next[:6]...), next[7:]...)
		if r := f.ingest(census(without...)); r.Missing != 1 {
			t.Fatalf("snapshot without E07: %s", counts(r))
		}
		back := f.ingest(census(next...))
		if back.Recognised != 9 || back.File.Updated != 1 || f.employee("E07").MissingFromSnapshot {
			t.Fatalf("E07 back: recognised %d, %s, missing=%v", back.Recognised, counts(back), f.employee("E07").MissingFromSnapshot)
		}

		// A layout override changes how rows read: nothing is recognised.
		if err := s.PutLayout(ctx, f.conn.TenantID, "", "census-csv", []byte("fields:\n  department:\n    default: Unassigned\n")); err != nil {
			t.Fatal(err)
		}
		again := f.ingest(census(next...))
		if again.Recognised != 0 || again.File.Unchanged != 10 {
			t.Fatalf("after a layout change: recognised %d, %s", again.Recognised, counts(again))
		}
		// ... and the delivery after it recognises rows again.
		if r := f.ingest(census(next...)); r.Recognised != 10 {
			t.Fatalf("after the re-read: recognised %d", r.Recognised)
		}
	})
}

// TestKeptFilesAndPrune: every received file's bytes are kept; pruning
// removes those past retention except a held file's.
func TestKeptFilesAndPrune(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	f := newIngest(t, s, "census-csv", Policy{})
	applied := f.ingest(census(people(10, "A")...))
	held := f.ingestRaw(census(people(5, "A")...)) // shrank by half: held
	if held.File.Status != schema.FileHeld {
		t.Fatalf("second file = %s", held.File.Status)
	}
	// Kept sealed, in the files directory (a bucket of files).
	keptPath := func(file schema.File) string {
		return filepath.Join(f.bridge.cfg.FilesDir, file.ConnectionID, file.SHA256)
	}
	for _, file := range []schema.File{applied.File, held.File} {
		b, err := os.ReadFile(keptPath(file))
		if err != nil {
			t.Fatalf("bytes of %s file not kept: %v", file.Status, err)
		}
		if !bytes.HasPrefix(b, []byte("age-encryption.org/v1\n")) || bytes.Contains(b, []byte("Employee ID")) {
			t.Fatalf("kept bytes of %s file are not sealed: %.40q", file.Status, b)
		}
	}
	if n, err := f.bridge.PruneFiles(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("prune of fresh files = %d, %v", n, err)
	}
	old := time.Now().Add(-48 * time.Hour)
	for _, file := range []schema.File{applied.File, held.File} {
		os.Chtimes(keptPath(file), old, old)
	}
	if n, err := f.bridge.PruneFiles(ctx, 24*time.Hour); err != nil || n != 1 {
		t.Fatalf("prune = %d, %v; want the applied file's bytes only", n, err)
	}
	if _, err := os.Stat(keptPath(held.File)); err != nil {
		t.Fatal("a held file's bytes were pruned")
	}
	if err := f.bridge.CheckReplay(ctx, applied.File); err == nil || !errors.Is(err, ErrGone) {
		t.Fatalf("replay of a pruned file: %v; want E_FILE_GONE", err)
	}
}
