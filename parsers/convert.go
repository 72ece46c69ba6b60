package parsers

import (
	"strconv"
	"strings"

	"github.com/hrisbridge/hrisbridge/schema"
)

// convert turns one raw source value into the normalized string for its
// field, or returns a field error. name is the normalized field name.
func (f *Field) convert(name, raw string) (string, *schema.FieldError) {
	return f.convertWith(name, raw, nil)
}

// convertWith is convert with the field's date formats compiled once by
// the caller (nil compiles them here).
func (f *Field) convertWith(name, raw string, dates []dateFormat) (string, *schema.FieldError) {
	v := f.trim(raw)
	if f.Decimals > 0 && v != "" {
		v = implyDecimals(v, f.Decimals)
	}
	if v == "" {
		v = f.Default
	}
	if v == "" {
		if f.Required {
			return "", &schema.FieldError{Field: name, Code: schema.ECodeRequired, Message: "required field '" + name + "' is empty"}
		}
		return "", nil
	}
	switch f.Type {
	case "date":
		if dates == nil {
			dates = compileDates(f.Formats)
		}
		return f.date(name, v, dates)
	case "money", "decimal":
		return decimal(name, v, f.Type == "money")
	case "int":
		n, err := strconv.ParseInt(strings.ReplaceAll(v, ",", ""), 10, 64)
		if err != nil {
			return "", &schema.FieldError{Field: name, Code: schema.ECodeDecimal, Message: name + " " + schema.QuoteValue(name, v) + " is not a whole number"}
		}
		return strconv.FormatInt(n, 10), nil
	case "bool":
		return boolean(name, v)
	case "enum":
		return f.code(name, v)
	}
	switch f.Case {
	case "upper":
		v = strings.ToUpper(v)
	case "lower":
		v = strings.ToLower(v)
	}
	return v, nil
}

// trim removes padding per the field's trim and pad settings. Spaces are
// trimmed from both ends by default; a pad character (e.g. "0" for
// zero-filled ids) is trimmed from the left unless trim says otherwise.
func (f *Field) trim(v string) string {
	pad := f.Pad
	if pad == "" {
		pad = " \t"
	}
	switch f.Trim {
	case "none":
		return v
	case "left":
		return strings.TrimLeft(v, pad)
	case "right":
		return strings.TrimRight(v, pad)
	case "both":
		return strings.Trim(v, pad)
	}
	v = strings.TrimSpace(v)
	if f.Pad != "" {
		v = strings.TrimLeft(v, f.Pad)
	}
	return v
}

// implyDecimals places the decimal point of a fixed-width number:
// "0001234500" with 2 decimals is "00012345.00". A leading or trailing
// sign stays a sign.
func implyDecimals(v string, n int) string {
	sign := ""
	if v[0] == '-' || v[0] == '+' {
		sign, v = v[:1], v[1:]
	} else if last := v[len(v)-1]; last == '-' || last == '+' {
		sign, v = v[len(v)-1:], v[:len(v)-1]
	}
	if strings.Contains(v, ".") {
		return sign + v
	}
	for len(v) <= n {
		v = "0" + v
	}
	return sign + v[:len(v)-n] + "." + v[len(v)-n:]
}

func (f *Field) date(name, v string, dates []dateFormat) (string, *schema.FieldError) {
	for i := range dates {
		if iso, ok := dates[i].parse(v); ok {
			return iso, nil
		}
	}
	return "", &schema.FieldError{Field: name, Code: schema.ECodeDate,
		Message: name + " " + schema.QuoteValue(name, v) + " is not a date in any of the formats " + strings.Join(f.Formats, ", ")}
}

// code maps a source code through the code map, case-insensitively.
func (f *Field) code(name, v string) (string, *schema.FieldError) {
	if out, ok := f.Codes[v]; ok {
		return out, nil
	}
	for k, out := range f.Codes {
		if strings.EqualFold(k, v) {
			return out, nil
		}
	}
	return "", &schema.FieldError{Field: name, Code: schema.ECodeUnmapped,
		Message: name + " code " + schema.QuoteValue(name, v) + " is not in the layout's code map"}
}

// decimal accepts 52,000.00, $52,000 and (1,234.50) negatives for money.
func decimal(name, v string, money bool) (string, *schema.FieldError) {
	s := v
	neg := false
	if money {
		if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
			s, neg = s[1:len(s)-1], true
		}
		s = strings.TrimPrefix(strings.TrimSpace(s), "$")
	}
	s = strings.ReplaceAll(s, ",", "")
	if !schema.ValidDecimal(s) {
		return "", &schema.FieldError{Field: name, Code: schema.ECodeDecimal, Message: name + " " + schema.QuoteValue(name, v) + " is not a number"}
	}
	if s[0] == '+' {
		s = s[1:]
	} else if s[0] == '-' {
		s, neg = s[1:], !neg
	}
	for len(s) > 1 && s[0] == '0' && s[1] != '.' {
		s = s[1:]
	}
	if neg {
		s = "-" + s
	}
	return s, nil
}

func boolean(name, v string) (string, *schema.FieldError) {
	switch strings.ToLower(v) {
	case "y", "yes", "true", "t", "1", "x":
		return "true", nil
	case "n", "no", "false", "f", "0":
		return "false", nil
	}
	return "", &schema.FieldError{Field: name, Code: schema.ECodeEnum, Message: name + " " + schema.QuoteValue(name, v) + " is not yes/no"}
}

func compileDates(layouts []string) []dateFormat {
	out := make([]dateFormat, len(layouts))
	for i, l := range layouts {
		out[i] = compileDate(l)
	}
	return out
}

// headerKey folds a header name for matching: lowercase letters and digits
// only, so "Emp #", "EMP_#" and "emp" all match.
func headerKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 {
			b.WriteRune(r)
		}
	}
	return b.String()
}
