package x12

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
)

// Ack999 reads an 834 interchange and writes its 999 implementation
// acknowledgment (005010X231A1): per transaction set accepted (IK5 A) or
// rejected (IK5 R, with the segment in error as IK3 and the element as
// IK4), and for the group accepted, partially accepted or rejected (AK9).
// An interchange that cannot be read is acknowledged as rejected whole.
func Ack999(r io.Reader, now time.Time) ([]byte, error) {
	rd, err := NewReader(r, 0)
	if err != nil {
		return nil, err // no ISA: nothing to acknowledge to
	}
	acks := &ackSets{}
	_, ferr := Read834(rd, acks)
	var b bytes.Buffer
	seg := func(format string, args ...any) { fmt.Fprintf(&b, format+"~\n", args...) }
	sender, receiver, group := "SENDER", "RECEIVER", "1"
	if len(acks.sets) > 0 {
		h := acks.sets[0].h
		sender, receiver, group = h.Sender, h.Receiver, h.Group
	}
	// The acknowledgment goes back: its sender is the 834's receiver.
	ctrl := now.Format("150405") + "001"
	fmt.Fprintf(&b, "ISA*00*%-10s*00*%-10s*ZZ*%-15s*ZZ*%-15s*%s*%s*^*00501*%s*0*P*:~\n", "", "", receiver, sender, now.Format("060102"), now.Format("1504"), ctrl)
	seg("GS*FA*%s*%s*%s*%s*1*X*005010X231A1", receiver, sender, now.Format("20060102"), now.Format("1504"))
	n := 0
	body := func(format string, args ...any) { seg(format, args...); n++ }
	body("ST*999*0001*005010X231A1")
	body("AK1*BE*%s*005010X220A1", group)
	accepted := 0
	for _, s := range acks.sets {
		body("AK2*834*%s*005010X220A1", s.h.Control)
		if s.err == nil && ferr == nil {
			body("IK5*A")
			accepted++
			continue
		}
		e := s.err
		if e == nil {
			body("IK5*R*5")
			continue
		}
		if e.ID == "SE" || e.ID == "QTY" {
			code := "5" // one or more segments in error
			if e.Element == 2 {
				code = "4" // control numbers of ST and SE differ
			}
			body("IK5*R*%s", code)
			continue
		}
		body("IK3*%s*%d*%s*%s", e.ID, e.Segment-s.h.Segment+1, strings.TrimPrefix(e.Loop, "header"), ik3Code(e))
		if e.Element > 0 {
			body("IK4*%d**%s", e.Element, map[bool]string{true: "7", false: "1"}[e.Code == CodeValue])
		}
		body("IK5*R*5")
	}
	status := "A"
	switch {
	case accepted == 0:
		status = "R"
	case accepted < len(acks.sets):
		status = "P"
	}
	body("AK9*%s*%d*%d*%d", status, len(acks.sets), len(acks.sets), accepted)
	n++
	seg("SE*%d*0001", n)
	seg("GE*1*1")
	seg("IEA*1*%s", ctrl)
	return b.Bytes(), nil
}

// ik3Code is the 999's segment syntax error code.
func ik3Code(e *Error) string {
	switch {
	case e.Code == CodeSegment && strings.Contains(e.Err.Error(), "no "):
		return "3" // required segment missing
	case e.Code == CodeSegment:
		return "2" // unexpected segment
	}
	return "8" // segment has data element errors
}

type ackSet struct {
	h   *Header
	err *Error
}

type ackSets struct{ sets []ackSet }

func (a *ackSets) Begin(*Header) error           { return nil }
func (a *ackSets) Member(*Header, *Member) error { return nil }
func (a *ackSets) End(h *Header, err *Error) error {
	a.sets = append(a.sets, ackSet{h: h, err: err})
	return nil
}
