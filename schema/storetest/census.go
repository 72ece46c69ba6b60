package storetest

import (
	"fmt"
	"strings"
)

// Census is a census-csv file of n active people, E000000 upward, with
// the fewest columns the layout needs (about 26 bytes a row): what the
// fault and scheduling tests push through a sync.
func Census(n int) string {
	var b strings.Builder
	b.WriteString("Employee ID,First Name,Last Name,Status\n")
	for i := range n {
		fmt.Fprintf(&b, "E%06d,First,Last,A\n", i)
	}
	return b.String()
}
