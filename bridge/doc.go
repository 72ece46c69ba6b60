// Package bridge runs hrisbridge's ingest pipeline:
//
//	fetch (SFTP pull, upload) -> spool to disk while hashing -> skip a
//	duplicate delivery -> parse with the connection's layout -> validate ->
//	apply valid rows and keep invalid ones, in one store transaction that
//	also writes the change events -> acknowledge the source (archive or
//	delete the remote file) only after that transaction commits.
//
// Bytes are spooled to disk, not memory, so a file of any size costs
// constant memory, and the spool is what a replay re-reads.
package bridge
