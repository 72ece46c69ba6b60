// Package parsers reads provider files into normalized records, driven by
// declarative layouts rather than per-provider code.
//
// A Layout (YAML) says how to read a file (CSV or fixed-width, encoding,
// header, record types) and how each source column maps to a normalized
// field (type, date formats, code maps, defaults, required-ness). Compile
// checks it once; Open streams a file through it, one Row at a time, with
// constant memory and positioned errors. Parsers are pure: reader in, rows
// and errors out; no network, database, clock or logging.
package parsers
