package main

import (
	"bufio"
	"context"
	"io"
	"os"

	"github.com/hrisbridge/hrisbridge/parsers/synth"
)

// cmdSynth writes a synthetic census (22-column CSV for census-csv, or the
// payroll-census-fixed format) for load tests and benchmarks.
func cmdSynth(_ context.Context, args []string, out io.Writer) error {
	fs, _ := flags("synth")
	rows := fs.Int("rows", 1000, "number of employees")
	format := fs.String("format", "csv", "csv (census-csv) or fixed (payroll-census-fixed)")
	seed := fs.Uint64("seed", 1, "seed; the same seed writes the same people")
	output := fs.String("o", "", "output file (default standard output)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *format != "csv" && *format != "fixed" {
		return usageError{"--format must be csv or fixed"}
	}
	w := out
	if *output != "" {
		f, err := os.Create(*output)
		if err != nil {
			return err
		}
		defer f.Close()
		bw := bufio.NewWriter(f)
		defer bw.Flush()
		w = bw
	}
	if *format == "fixed" {
		return synth.PayrollFixed(w, *rows, *seed)
	}
	return synth.Census(w, *rows, *seed, nil)
}
