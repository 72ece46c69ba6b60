package x12

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"
)

// Writer writes an 834 interchange (one group, one transaction set),
// streaming: members are written as they come. Delimiters are * : ^ and a
// ~ terminator followed by a newline.
type Writer struct {
	w    *bufio.Writer
	segs int
	ctrl string
	err  error
}

// NewWriter starts an interchange from sender to receiver: ISA, GS, ST,
// BGN (action 4 verify for a full file, 2 change otherwise) and the
// sponsor and payer (1000A/B).
func NewWriter(w io.Writer, sender, receiver, sponsor, sponsorID, payer string, full bool, now time.Time) *Writer {
	x := &Writer{w: bufio.NewWriterSize(w, 64<<10), ctrl: now.Format("150405") + "001"}
	fmt.Fprintf(x.w, "ISA*00*%-10s*00*%-10s*ZZ*%-15.15s*ZZ*%-15.15s*%s*%s*^*00501*%s*0*P*:~\n", "", "", clean(sender), clean(receiver),
		now.Format("060102"), now.Format("1504"), x.ctrl)
	fmt.Fprintf(x.w, "GS*BE*%s*%s*%s*%s*1*X*005010X220A1~\n", clean(sender), clean(receiver), now.Format("20060102"), now.Format("1504"))
	x.seg("ST", "834", "0001", "005010X220A1")
	action := "2"
	if full {
		action = "4"
	}
	x.seg("BGN", "00", now.Format("20060102150405"), now.Format("20060102"), now.Format("1504"), "", "", "", action)
	x.seg("N1", "P5", sponsor, "FI", sponsorID)
	x.seg("N1", "IN", payer, "FI", "")
	return x
}

// clean keeps a value from carrying the delimiters.
func clean(v string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '*', '~', ':', '^', '\n', '\r':
			return ' '
		}
		return r
	}, v)
}

func (x *Writer) seg(id string, elements ...string) {
	if x.err != nil {
		return
	}
	for i := range elements {
		elements[i] = clean(elements[i])
	}
	for len(elements) > 0 && elements[len(elements)-1] == "" {
		elements = elements[:len(elements)-1]
	}
	x.segs++
	_, x.err = fmt.Fprintf(x.w, "%s*%s~\n", id, strings.Join(elements, "*"))
}

// Member writes one 2000 loop with its name (2100A) and coverages (2300).
func (x *Writer) Member(m *Member) error {
	ins := "N"
	if m.Subscriber {
		ins = "Y"
	}
	x.seg("INS", ins, m.Relationship, m.Maintenance, m.Reason, cmp.Or(m.BenefitStatus, "A"), "", "", m.EmploymentStatus, m.Student)
	x.seg("REF", "0F", m.SubscriberID)
	if m.GroupID != "" {
		x.seg("REF", "1L", m.GroupID)
	}
	for _, q := range []string{"336", "337", "356", "357"} {
		if d := m.Dates[q]; d != "" {
			x.seg("DTP", q, "D8", d)
		}
	}
	if m.SSN != "" {
		x.seg("NM1", "IL", "1", m.Last, m.First, m.Middle, "", m.Suffix, "34", m.SSN)
	} else {
		qualifier := "" // NM108 of a member id
		if m.MemberID != "" {
			qualifier = "ZZ"
		}
		x.seg("NM1", "IL", "1", m.Last, m.First, m.Middle, "", m.Suffix, qualifier, m.MemberID)
	}
	if m.Email != "" || m.Phone != "" {
		per := []string{"IP", ""}
		if m.Phone != "" {
			per = append(per, "HP", m.Phone)
		}
		if m.Email != "" {
			per = append(per, "EM", m.Email)
		}
		x.seg("PER", per...)
	}
	if m.Address1 != "" {
		x.seg("N3", m.Address1, m.Address2)
		x.seg("N4", m.City, m.State, m.Zip, m.Country)
	}
	if m.BirthDate != "" || m.Gender != "" {
		x.seg("DMG", "D8", m.BirthDate, m.Gender)
	}
	for _, c := range m.Coverages {
		x.seg("HD", c.Maintenance, "", c.InsuranceLine, c.Plan, c.Level)
		if c.Begin != "" {
			x.seg("DTP", "348", "D8", c.Begin)
		}
		if c.End != "" {
			x.seg("DTP", "349", "D8", c.End)
		}
	}
	return x.err
}

// Close writes SE, GE and IEA.
func (x *Writer) Close() error {
	x.segs++ // SE counts itself
	fmt.Fprintf(x.w, "SE*%d*0001~\nGE*1*1~\nIEA*1*%s~\n", x.segs, x.ctrl)
	if x.err != nil {
		return x.err
	}
	return x.w.Flush()
}
