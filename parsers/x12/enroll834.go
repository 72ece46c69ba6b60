package x12

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Header is an 834 transaction set's header: its envelope and the
// beginning segment, sponsor and payer.
type Header struct {
	Segment     int    // the ST's number
	Control     string // ST02
	Version     string // ST03 (005010X220A1)
	Purpose     string // BGN01: 00 original, 15 re-submission, 22 information copy
	Reference   string // BGN02
	Action      string // BGN08: 2 change, 4 verify, RX replace
	Policy      string // REF*38 master policy number
	Sponsor     string // N1*P5 name (1000A)
	SponsorID   string
	Payer       string // N1*IN name (1000B)
	PayerID     string
	Quantities  map[string]int // QTY: TO total, ET employees, DT dependents
	Test        bool           // ISA15 T
	Interchange string         // ISA13
	Group       string         // GS06
	Sender      string         // ISA06
	Receiver    string         // ISA08
}

// Full reports whether the transaction set is a full file (a snapshot: who
// is absent is gone) rather than a change file: BGN08 4 (verify) or RX
// (replace). A set whose every member's INS03 is 030 (audit) is read as
// BGN08 4.
func (h *Header) Full() bool { return h.Action == "4" || h.Action == "RX" }

// Member is one 2000 loop: a subscriber or a dependent, with its
// coverages (2300) and reporting categories (2700).
type Member struct {
	Segment          int    // the INS segment's number
	Subscriber       bool   // INS01 Y
	Relationship     string // INS02 (18 self, 01 spouse, 19 child, ...)
	Maintenance      string // INS03: 001 change, 021 add, 024 cancel/term, 025 reinstate, 030 audit
	Reason           string // INS04
	BenefitStatus    string // INS05
	EmploymentStatus string // INS08
	Student          string // INS09
	SubscriberID     string // REF*0F
	GroupID          string // REF*1L
	Refs             map[string]string
	Dates            map[string]string // DTP qualifier -> CCYYMMDD (2000)
	Last, First      string
	Middle, Suffix   string
	SSN              string // NM109 when NM108 is 34
	MemberID         string // NM109 otherwise
	Phone, Email     string
	Address1         string
	Address2         string
	City, State, Zip string
	Country          string
	BirthDate        string // DMG02 CCYYMMDD
	Gender, Marital  string
	Coverages        []Coverage
	Reporting        map[string]string // 2700/2750: N1*75 name -> REF02
	Ignored          int               // segments accepted but not read (2100B-H, 2200, 2310, 2320, ...)
}

// Coverage is one 2300 loop.
type Coverage struct {
	Segment       int    // the HD segment's number
	Maintenance   string // HD01
	InsuranceLine string // HD03: HLT, DEN, VIS, ...
	Plan          string // HD04 plan coverage description
	Level         string // HD05: EMP, ESP, ECH, FAM, ...
	Begin, End    string // DTP*348, DTP*349 (CCYYMMDD)
	Refs          map[string]string
}

// Handler receives an interchange's 834 transaction sets as they are read.
// Begin gets a set's header before its first member; End gets it after
// SE, with the set's structural error, if any: then every member it was
// given must be dropped (the standard rejects the set, not the
// interchange).
type Handler interface {
	Begin(h *Header) error
	Member(h *Header, m *Member) error
	End(h *Header, err *Error) error
}

// Stats count what Read834 read.
type Stats struct {
	Segments, Transactions, Rejected, Members, Coverages, Ignored int
}

// Read834 reads an interchange of 834 transaction sets from r, checking
// its envelopes. It returns an error (and the caller applies nothing)
// when the interchange itself is broken: no ISA, an ISA/IEA or GS/GE
// control number or count that disagrees, a missing trailer.
func Read834(r *Reader, h Handler) (Stats, error) {
	var st Stats
	p := &parser834{r: r, h: h, st: &st}
	return st, p.run()
}

type parser834 struct {
	r  *Reader
	h  Handler
	st *Stats

	isa, gs      Segment
	groups, sets int // in the interchange, in the group
	inGroup      bool

	// the transaction set being read
	hdr      *Header
	started  bool // Begin was called
	txSegs   int
	txErr    *Error
	mem      *Member
	cov      *Coverage
	loop     string
	ls       string // the 2700 category being read
	allAudit bool
	members  int
	subs     int
}

func (p *parser834) fail(s Segment, code, format string, args ...any) *Error {
	return &Error{Segment: s.Number, ID: s.ID, Loop: p.loop, Code: code, Err: fmt.Errorf(format, args...)}
}

func (p *parser834) run() error {
	for {
		s, err := p.r.Next()
		if err == io.EOF {
			if p.isa.ID != "" {
				return &Error{Segment: p.st.Segments, Code: CodeEnvelope, Err: errors.New("the file ends inside the interchange: no IEA (truncated?)")}
			}
			return nil
		}
		if err != nil {
			var xe *Error
			if errors.As(err, &xe) {
				return xe
			}
			return err
		}
		p.st.Segments++
		if err := p.segment(s); err != nil {
			return err
		}
	}
}

// segment routes one segment: envelopes here, transaction content to tx.
func (p *parser834) segment(s Segment) error {
	switch s.ID {
	case "ISA":
		if p.isa.ID != "" {
			return p.fail(s, CodeEnvelope, "an ISA inside interchange %s: the previous one has no IEA", p.isa.E(13))
		}
		p.isa, p.groups = s, 0
		return nil
	case "IEA":
		if p.isa.ID == "" || p.inGroup || p.hdr != nil {
			return p.fail(s, CodeEnvelope, "an IEA outside an interchange, or before the GE/SE it closes")
		}
		if n, _ := strconv.Atoi(s.E(1)); n != p.groups {
			return &Error{Segment: s.Number, ID: "IEA", Element: 1, Code: CodeEnvelope, Err: fmt.Errorf("IEA01 counts %s functional groups, the interchange has %d", s.E(1), p.groups)}
		}
		if strings.TrimSpace(s.E(2)) != strings.TrimSpace(p.isa.E(13)) {
			return &Error{Segment: s.Number, ID: "IEA", Element: 2, Code: CodeEnvelope, Err: fmt.Errorf("IEA02 %s is not the ISA13 control number %s", s.E(2), p.isa.E(13))}
		}
		p.isa = Segment{}
		return nil
	case "GS":
		if p.isa.ID == "" || p.inGroup {
			return p.fail(s, CodeEnvelope, "a GS outside an interchange, or inside an open group")
		}
		p.gs, p.inGroup, p.sets = s, true, 0
		p.groups++
		return nil
	case "GE":
		if !p.inGroup || p.hdr != nil {
			return p.fail(s, CodeEnvelope, "a GE outside a functional group, or before the SE of its last transaction set")
		}
		if n, _ := strconv.Atoi(s.E(1)); n != p.sets {
			return &Error{Segment: s.Number, ID: "GE", Element: 1, Code: CodeEnvelope, Err: fmt.Errorf("GE01 counts %s transaction sets, the group has %d", s.E(1), p.sets)}
		}
		if s.E(2) != p.gs.E(6) {
			return &Error{Segment: s.Number, ID: "GE", Element: 2, Code: CodeEnvelope, Err: fmt.Errorf("GE02 %s is not the GS06 control number %s", s.E(2), p.gs.E(6))}
		}
		p.inGroup = false
		return nil
	case "ST":
		if !p.inGroup || p.hdr != nil {
			return p.fail(s, CodeEnvelope, "an ST outside a functional group, or before the SE of the set before it")
		}
		p.sets++
		p.st.Transactions++
		p.hdr = &Header{Segment: s.Number, Control: s.E(2), Version: s.E(3), Quantities: map[string]int{},
			Test: strings.TrimSpace(p.isa.E(15)) == "T", Interchange: strings.TrimSpace(p.isa.E(13)), Group: p.gs.E(6),
			Sender: strings.TrimSpace(p.isa.E(6)), Receiver: strings.TrimSpace(p.isa.E(8))}
		p.started, p.txSegs, p.txErr, p.mem, p.cov, p.loop, p.ls = false, 1, nil, nil, nil, "header", ""
		p.allAudit, p.members, p.subs = true, 0, 0
		if s.E(1) != "834" {
			p.txErr = &Error{Segment: s.Number, ID: "ST", Element: 1, Code: CodeSegment, Err: fmt.Errorf("transaction set %s is not an 834 (benefit enrollment)", s.E(1))}
		}
		return nil
	case "SE":
		if p.hdr == nil {
			return p.fail(s, CodeEnvelope, "an SE without its ST")
		}
		p.txSegs++
		return p.endSet(s)
	}
	if p.hdr == nil {
		return p.fail(s, CodeEnvelope, "segment %s outside a transaction set", s.ID)
	}
	p.txSegs++
	if p.txErr != nil {
		return nil // the set is rejected already: read to its SE
	}
	if err := p.tx(s); err != nil {
		var xe *Error
		if errors.As(err, &xe) {
			p.txErr = xe
			return nil
		}
		return err
	}
	return nil
}

// endSet checks SE and hands the set's outcome to the handler.
func (p *parser834) endSet(s Segment) error {
	if p.txErr == nil {
		if err := p.flushMember(); err != nil {
			var xe *Error
			if !errors.As(err, &xe) {
				return err
			}
			p.txErr = xe
		}
	}
	switch {
	case p.txErr != nil:
	case s.E(2) != p.hdr.Control:
		p.txErr = &Error{Segment: s.Number, ID: "SE", Element: 2, Code: CodeEnvelope, Err: fmt.Errorf("SE02 %s is not the ST02 control number %s", s.E(2), p.hdr.Control)}
	case s.E(1) != strconv.Itoa(p.txSegs):
		p.txErr = &Error{Segment: s.Number, ID: "SE", Element: 1, Code: CodeEnvelope, Err: fmt.Errorf("SE01 counts %s segments, the set has %d (ST to SE): a segment was lost or added", s.E(1), p.txSegs)}
	default:
		p.txErr = p.checkQuantities(s)
	}
	if !p.started && p.txErr == nil {
		if err := p.h.Begin(p.hdr); err != nil {
			return err
		}
	}
	if p.txErr != nil {
		p.st.Rejected++
	}
	if p.allAudit && p.members > 0 && p.hdr.Action == "" {
		p.hdr.Action = "4" // every member an audit (030): a full file
	}
	err := p.h.End(p.hdr, p.txErr)
	p.hdr = nil
	return err
}

// checkQuantities compares the header's QTY totals with what was read.
func (p *parser834) checkQuantities(s Segment) *Error {
	for q, want := range map[string]int{"TO": p.members, "ET": p.subs, "DT": p.members - p.subs} {
		if got, ok := p.hdr.Quantities[q]; ok && got != want {
			return &Error{Segment: s.Number, ID: "QTY", Code: CodeEnvelope, Err: fmt.Errorf("QTY*%s says %d, the set has %d: a truncated or filtered file?", q, got, want)}
		}
	}
	return nil
}

// tx reads one segment of a transaction set's content.
func (p *parser834) tx(s Segment) error {
	switch s.ID {
	case "BGN":
		p.hdr.Purpose, p.hdr.Reference, p.hdr.Action = s.E(1), s.E(2), s.E(8)
	case "QTY":
		if n, err := strconv.ParseFloat(s.E(2), 64); err == nil {
			p.hdr.Quantities[s.E(1)] = int(n)
		}
	case "N1":
		return p.n1(s)
	case "INS":
		if err := p.flushMember(); err != nil {
			return err
		}
		if !p.started {
			if p.hdr.Sponsor == "" && p.hdr.SponsorID == "" {
				return p.fail(s, CodeSegment, "no N1*P5 (sponsor, loop 1000A) before the first member")
			}
			p.started = true
			if err := p.h.Begin(p.hdr); err != nil {
				return err
			}
		}
		if s.E(1) != "Y" && s.E(1) != "N" {
			return &Error{Segment: s.Number, ID: "INS", Element: 1, Loop: "2000", Code: CodeValue, Err: fmt.Errorf("INS01 %q is not Y (subscriber) or N (dependent)", s.E(1))}
		}
		p.loop = "2000"
		p.mem = &Member{Segment: s.Number, Subscriber: s.E(1) == "Y", Relationship: s.E(2), Maintenance: s.E(3), Reason: s.E(4),
			BenefitStatus: s.E(5), EmploymentStatus: s.E(8), Student: s.E(9), Refs: map[string]string{}, Dates: map[string]string{}, Reporting: map[string]string{}}
		p.cov, p.ls = nil, ""
		if p.mem.Maintenance != "030" {
			p.allAudit = false
		}
	case "REF":
		switch {
		case p.loop == "header":
			if s.E(1) == "38" {
				p.hdr.Policy = s.E(2)
			}
		case p.loop == "2700":
			if p.ls != "" {
				p.mem.Reporting[p.ls] = s.E(2)
			}
		case p.cov != nil:
			p.cov.Refs[s.E(1)] = s.E(2)
		case p.mem != nil:
			switch s.E(1) {
			case "0F":
				p.mem.SubscriberID = s.E(2)
			case "1L":
				p.mem.GroupID = s.E(2)
			default:
				p.mem.Refs[s.E(1)] = s.E(2)
			}
		}
	case "DTP":
		date := s.E(3)
		if s.E(2) == "RD8" {
			date, _, _ = strings.Cut(date, "-")
		}
		switch {
		case p.loop == "header" || p.loop == "2700" || p.mem == nil:
		case p.cov != nil:
			switch s.E(1) {
			case "348":
				p.cov.Begin = date
			case "349":
				p.cov.End = date
			}
		default:
			p.mem.Dates[s.E(1)] = date
		}
	case "NM1":
		if p.mem == nil {
			return p.fail(s, CodeSegment, "NM1 before any INS")
		}
		if s.E(1) == "IL" || s.E(1) == "74" {
			if s.E(1) == "74" && p.mem.Last != "" {
				return nil // a corrected name after the member's name: keep IL
			}
			p.loop, p.cov = "2100A", nil
			p.mem.Last, p.mem.First, p.mem.Middle, p.mem.Suffix = s.E(3), s.E(4), s.E(5), s.E(7)
			if s.E(8) == "34" {
				p.mem.SSN = s.E(9)
			} else {
				p.mem.MemberID = s.E(9)
			}
			return nil
		}
		p.loop = "2100-" + s.E(1) // other parties (2100B-H) and 2310 providers: not read
		p.mem.Ignored++
	case "PER":
		if p.loop == "2100A" {
			for i := 3; i+1 <= len(s.Elements)-1; i += 2 {
				switch s.E(i) {
				case "EM":
					p.mem.Email = s.E(i + 1)
				case "HP", "CP", "TE", "WP":
					if p.mem.Phone == "" {
						p.mem.Phone = s.E(i + 1)
					}
				}
			}
		} else if p.mem != nil {
			p.mem.Ignored++
		}
	case "N3":
		if p.loop == "2100A" {
			p.mem.Address1, p.mem.Address2 = s.E(1), s.E(2)
		} else if p.mem != nil {
			p.mem.Ignored++
		}
	case "N4":
		if p.loop == "2100A" {
			p.mem.City, p.mem.State, p.mem.Zip, p.mem.Country = s.E(1), s.E(2), s.E(3), s.E(4)
		} else if p.mem != nil {
			p.mem.Ignored++
		}
	case "DMG":
		if p.loop == "2100A" {
			if s.E(1) != "" && s.E(1) != "D8" {
				return &Error{Segment: s.Number, ID: "DMG", Element: 1, Loop: p.loop, Code: CodeValue, Err: fmt.Errorf("DMG01 %q: the birth date's format must be D8 (CCYYMMDD)", s.E(1))}
			}
			p.mem.BirthDate, p.mem.Gender, p.mem.Marital = s.E(2), s.E(3), s.E(4)
		} else if p.mem != nil {
			p.mem.Ignored++
		}
	case "HD":
		if p.mem == nil {
			return p.fail(s, CodeSegment, "HD (coverage, loop 2300) before any INS")
		}
		p.loop = "2300"
		p.mem.Coverages = append(p.mem.Coverages, Coverage{Segment: s.Number, Maintenance: s.E(1), InsuranceLine: s.E(3), Plan: s.E(4), Level: s.E(5), Refs: map[string]string{}})
		p.cov = &p.mem.Coverages[len(p.mem.Coverages)-1]
	case "LS":
		if p.mem == nil {
			return p.fail(s, CodeSegment, "LS (reporting categories, loop 2700) before any INS")
		}
		p.loop, p.cov, p.ls = "2700", nil, ""
	case "LX":
		if p.loop == "2700" {
			p.ls = ""
		} else if p.mem != nil {
			p.loop = "2310"
			p.mem.Ignored++
		}
	case "LE":
		p.loop, p.ls = "2000", ""
	default:
		if p.mem != nil {
			p.mem.Ignored++
		}
		p.st.Ignored++ // EC, ICM, AMT, HLH, LUI, DSB, COB, IDC, ...: accepted, counted
	}
	return nil
}

// n1 reads the header's parties, and 2700 category names.
func (p *parser834) n1(s Segment) error {
	if p.loop == "2700" {
		if s.E(1) == "75" {
			p.ls = s.E(2)
		}
		return nil
	}
	if p.mem != nil {
		p.mem.Ignored++
		return nil
	}
	switch s.E(1) {
	case "P5":
		p.loop = "1000A"
		p.hdr.Sponsor, p.hdr.SponsorID = s.E(2), s.E(4)
	case "IN":
		p.loop = "1000B"
		p.hdr.Payer, p.hdr.PayerID = s.E(2), s.E(4)
	default:
		p.loop = "1000C"
	}
	return nil
}

// flushMember hands the member being read to the handler.
func (p *parser834) flushMember() error {
	m := p.mem
	if m == nil {
		return nil
	}
	p.mem, p.cov = nil, nil
	if m.SubscriberID == "" {
		return &Error{Segment: m.Segment, ID: "INS", Loop: "2000", Code: CodeSegment, Err: errors.New("the member has no REF*0F (subscriber identifier), which the guide requires")}
	}
	if m.Last == "" && m.First == "" {
		return &Error{Segment: m.Segment, ID: "INS", Loop: "2000", Code: CodeSegment, Err: errors.New("the member has no NM1*IL (name, loop 2100A)")}
	}
	if m.Subscriber && m.Relationship != "18" {
		return &Error{Segment: m.Segment, ID: "INS", Element: 2, Loop: "2000", Code: CodeValue, Err: fmt.Errorf("a subscriber's INS02 must be 18 (self), not %q", m.Relationship)}
	}
	p.members++
	p.st.Members++
	p.st.Coverages += len(m.Coverages)
	if m.Subscriber {
		p.subs++
	}
	return p.h.Member(p.hdr, m)
}
