package parsers

import (
	"testing"
	"time"
)

// TestDateFormatsAgreeWithTimeParse checks the fast parser against
// time.Parse on every layout the built-ins use.
func TestDateFormatsAgreeWithTimeParse(t *testing.T) {
	layouts := []string{"2006-01-02", "01/02/2006", "1/2/2006", "20060102", "01-02-2006", "2006/01/02", "01/02/06", "1/2/06", "Jan 2, 2006"}
	inputs := []string{"2026-11-22", "11/22/2026", "1/2/2006", "01/02/2006", "12/31/1999", "20261122", "2/29/2024", "2/29/2023",
		"02/30/1990", "13/01/2024", "1/2/26", "01/02/70", "11-22-2026", "2026/11/22", "", "1/2/", "11/22/2026 ", "0/1/2020", "Nov 22, 2026", "11/22/20266", "+1/2/2006"}
	for _, l := range layouts {
		f := compileDate(l)
		for _, in := range inputs {
			got, ok := f.parse(in)
			tt, err := time.Parse(l, in)
			want, wantOK := "", err == nil
			if wantOK {
				want = tt.Format("2006-01-02")
			}
			if ok != wantOK || got != want {
				t.Errorf("layout %q input %q: fast = %q %v, time.Parse = %q %v", l, in, got, ok, want, wantOK)
			}
		}
	}
}
