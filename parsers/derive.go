package parsers

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Derived fields: a field whose value is computed from the row's columns
// by an expression (expr-lang, the language the API connectors' mappings
// use too) instead of read from one column: a "LAST, FIRST" name split in
// two, a status that is "T" when a termination date is present, a decimal
// comma. The expression sees the row as col["Header"] (every column,
// trimmed) and returns the raw value, which is then converted like a
// column's (dates, codes, money).

// deriveEnv is the shape an expression is compiled against.
type deriveEnv struct {
	Col map[string]string `expr:"col"`
}

// colRef finds the columns an expression names as col["Header"].
var colRef = regexp.MustCompile(`col\["((?:[^"\\]|\\.)*)"\]`)

// referencedColumns returns the header indexes the expressions name, or
// nil (every column) when one reads col otherwise (col[name]): a row
// then costs only the columns its expressions read.
func referencedColumns(exprs []string, header []string) map[int]bool {
	need := map[int]bool{}
	for _, src := range exprs {
		if strings.Count(src, "col") != len(colRef.FindAllStringIndex(src, -1)) {
			return nil
		}
		for _, m := range colRef.FindAllStringSubmatch(src, -1) {
			for i, h := range header {
				if strings.TrimSpace(h) == m[1] {
					need[i] = true
				}
			}
		}
	}
	return need
}

// compileExpr compiles a field's expression; a string result is what the
// field takes (other results are formatted).
func compileExpr(src string) (*vm.Program, error) {
	return expr.Compile(src, expr.Env(deriveEnv{}))
}

// derive evaluates a compiled expression over a row, on a reused VM
// (a new one per row was most of the cost).
func derive(v *vm.VM, p *vm.Program, row map[string]string) (string, error) {
	out, err := v.Run(p, deriveEnv{Col: row})
	if err != nil {
		return "", err
	}
	switch v := out.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return fmt.Sprint(v), nil
	}
}
