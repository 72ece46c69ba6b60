package bridge

import "strconv"

// checkpoint calls Config.Checkpoint, when set, at a named point of an
// ingest; the crash tests kill the process there to prove that a crash
// anywhere in an ingest loses and duplicates nothing.
func (b *Bridge) checkpoint(name string) {
	if b.cfg.Checkpoint != nil {
		b.cfg.Checkpoint(name)
	}
}

// rowCheckpoint is checkpoint("row-N") for the n-th row of a file.
func (b *Bridge) rowCheckpoint(n int) {
	if b.cfg.Checkpoint != nil {
		b.cfg.Checkpoint("row-" + strconv.Itoa(n))
	}
}
