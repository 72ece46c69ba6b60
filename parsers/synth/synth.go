// Package synth writes synthetic but realistic HRIS exports for benchmarks
// and load tests: a 22-column census CSV (quoted fields, US dates, money
// with thousands separators, a few percent terminated) and the matching
// fixed-width payroll census. Output is deterministic for a seed.
package synth

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/gocarina/gocsv"
)

// CensusRow is one row of the synthetic census; its csv tags are the
// header, in the spellings real exports use.
type CensusRow struct {
	EmployeeID   string `csv:"Employee ID"`
	FirstName    string `csv:"First Name"`
	MiddleName   string `csv:"Middle Name"`
	LastName     string `csv:"Last Name"`
	DOB          string `csv:"DOB"`
	SSN          string `csv:"SSN"`
	Gender       string `csv:"Gender"`
	Status       string `csv:"Status"`
	Type         string `csv:"FT/PT"`
	HireDate     string `csv:"Hire Date"`
	TermDate     string `csv:"Term Date"`
	JobTitle     string `csv:"Job Title"`
	Department   string `csv:"Department"`
	Location     string `csv:"Location"`
	Salary       string `csv:"Annual Salary"`
	PayFrequency string `csv:"Pay Frequency"`
	WorkEmail    string `csv:"Work Email"`
	Address      string `csv:"Address 1"`
	City         string `csv:"City"`
	State        string `csv:"State"`
	Zip          string `csv:"Zip"`
	BenefitClass string `csv:"Benefit Class"`
}

var (
	firsts = []string{"Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances", "Dennis", "Radia", "Ken", "Margaret", "John", "Hedy", "Tim", "Shafi", "José", "Zoë"}
	lasts  = []string{"Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen", "Ritchie", "Perlman", "Thompson", "O'Neil", "Hamilton", "van Rossum", "Müller"}
	depts  = []string{"Engineering", "Finance", "Operations", "Sales, West", "Sales, East", "Human Resources", "Customer Success"}
	cities = [][3]string{{"Chicago", "IL", "60616"}, {"Austin", "TX", "78701"}, {"Denver", "CO", "80202"}, {"Madison", "WI", "53703"}, {"Boston", "MA", "02110"}}
	titles = []string{"Analyst", "Engineer", "Senior Engineer", "Manager", "Specialist", "Director", "Associate"}
)

// Row returns census row i for a seed.
func Row(seed uint64, i int) CensusRow {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	first, last := firsts[r.IntN(len(firsts))], lasts[r.IntN(len(lasts))]
	c := cities[r.IntN(len(cities))]
	row := CensusRow{
		EmployeeID: fmt.Sprintf("E%07d", i+1), FirstName: first, MiddleName: string(rune('A' + r.IntN(26))), LastName: last,
		DOB:    fmt.Sprintf("%02d/%02d/%d", 1+r.IntN(12), 1+r.IntN(28), 1955+r.IntN(50)),
		SSN:    fmt.Sprintf("%03d-%02d-%04d", 100+r.IntN(565), 10+r.IntN(89), 1000+r.IntN(8999)),
		Gender: []string{"F", "M", "X", "U"}[r.IntN(4)], Status: "A", Type: []string{"FT", "FT", "FT", "PT"}[r.IntN(4)],
		HireDate: fmt.Sprintf("%02d/%02d/%d", 1+r.IntN(12), 1+r.IntN(28), 2005+r.IntN(20)),
		JobTitle: titles[r.IntN(len(titles))], Department: depts[r.IntN(len(depts))], Location: c[0] + ", " + c[1],
		Salary:       "$" + thousands(30000+r.IntN(170000)) + ".00",
		PayFrequency: []string{"B", "S", "W", "M"}[r.IntN(4)],
		WorkEmail:    strings.ToLower(first) + fmt.Sprintf(".%d@example.com", i+1),
		Address:      fmt.Sprintf("%d %s", 1+r.IntN(9999), []string{"Main St", "Oak Ave", "Elm St, Apt 4B", "Lake Shore Dr"}[r.IntN(4)]),
		City:         c[0], State: c[1], Zip: c[2], BenefitClass: []string{"Salaried", "Hourly", "Executive"}[r.IntN(3)],
	}
	if r.IntN(100) < 4 {
		row.Status, row.TermDate = "T", fmt.Sprintf("%02d/%02d/2026", 1+r.IntN(10), 1+r.IntN(28))
	}
	return row
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Census writes a census of n rows, with header, streaming: memory does not
// grow with n. changed selects rows (by index) to alter, for re-ingest
// benchmarks; nil changes none.
func Census(w io.Writer, n int, seed uint64, changed func(i int) bool) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	c := make(chan any, 1024)
	go func() {
		defer close(c)
		for i := 0; i < n; i++ {
			row := Row(seed, i)
			if changed != nil && changed(i) {
				row.JobTitle = "Principal " + row.JobTitle
			}
			c <- row
		}
	}()
	if err := gocsv.MarshalChan(c, gocsv.NewSafeCSVWriter(csv.NewWriter(bw))); err != nil {
		for range c {
		}
		return err
	}
	return bw.Flush()
}

// PayrollFixed writes the same people as a payroll-census-fixed file:
// header, 200-byte details and a trailer with count and salary total.
func PayrollFixed(w io.Writer, n int, seed uint64) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	pad := func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s + strings.Repeat(" ", n-len(s))
	}
	fmt.Fprintf(bw, "%s\r\n", pad("HACM20261101PAYROLL CENSUS", 200))
	var total int64
	for i := 0; i < n; i++ {
		r := Row(seed, i)
		cents := int64(0)
		fmt.Sscan(strings.NewReplacer("$", "", ",", "", ".", "").Replace(r.Salary), &cents)
		total += cents
		ymd := func(mdy string) string {
			if mdy == "" {
				return ""
			}
			p := strings.Split(mdy, "/")
			return p[2] + p[0] + p[1]
		}
		status := r.Status
		line := "D" + fmt.Sprintf("%09d", i+1) + strings.ReplaceAll(r.SSN, "-", "") + pad(strings.ToUpper(asciiOnly(r.LastName)), 25) +
			pad(strings.ToUpper(asciiOnly(r.FirstName)), 20) + r.MiddleName + ymd(r.DOB) + map[string]string{"F": "F", "M": "M", "X": "X", "U": "U"}[r.Gender] +
			status + r.Type[:1] + ymd(r.HireDate) + pad(ymd(r.TermDate), 8) + pad(strings.ToUpper(r.Department), 10) + pad(strings.ToUpper(r.City), 10) +
			fmt.Sprintf("%011d", cents) + r.PayFrequency + pad(strings.ToUpper(r.Address), 30) + pad(strings.ToUpper(r.City), 20) + r.State + pad(r.Zip, 10) + pad(r.BenefitClass[:4], 4)
		fmt.Fprintf(bw, "%s\r\n", pad(line, 200))
	}
	fmt.Fprintf(bw, "%s\r\n", pad(fmt.Sprintf("T%09d%015d", n, total), 200))
	return bw.Flush()
}

func asciiOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 127 {
			return 'E'
		}
		return r
	}, s)
}

// X12834 writes the same people as an 834 full file (BGN08 4, one
// transaction set): each a subscriber with a medical coverage, every third
// with a spouse, streaming.
func X12834(w io.Writer, n int, seed uint64) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	isa := fmt.Sprintf("ISA*00*%-10s*00*%-10s*ZZ*%-15s*ZZ*%-15s*261101*1200*^*00501*%09d*0*P*:~", "", "", "SYNTH", "CARRIER", 1)
	fmt.Fprint(bw, isa, "\n", "GS*BE*SYNTH*CARRIER*20261101*1200*1*X*005010X220A1~\n")
	segs := 0
	seg := func(format string, args ...any) {
		fmt.Fprintf(bw, format+"~\n", args...)
		segs++
	}
	seg("ST*834*0001*005010X220A1")
	seg("BGN*00*SYNTH*20261101*1200****4")
	seg("N1*P5*SYNTHETIC EMPLOYER*FI*123456789")
	seg("N1*IN*SYNTHETIC CARRIER*FI*987654321")
	d8 := func(us string) string { // MM/DD/YYYY -> CCYYMMDD
		p := strings.Split(us, "/")
		return p[2] + p[0] + p[1]
	}
	for i := range n {
		r := Row(seed, i)
		status := "FT"
		if r.Type == "PT" {
			status = "PT"
		}
		maint := "030"
		if r.Status == "T" {
			status = "TE"
		}
		seg("INS*Y*18*%s*XN*A***%s", maint, status)
		seg("REF*0F*%s", r.EmployeeID)
		seg("DTP*336*D8*%s", d8(r.HireDate))
		if r.TermDate != "" {
			seg("DTP*337*D8*%s", d8(r.TermDate))
		}
		seg("NM1*IL*1*%s*%s*%s***34*%s", asciiOnly(r.LastName), asciiOnly(r.FirstName), r.MiddleName, strings.ReplaceAll(r.SSN, "-", ""))
		seg("N3*%s", asciiOnly(r.Address))
		seg("N4*%s*%s*%s", r.City, r.State, r.Zip)
		g := r.Gender
		if g != "F" && g != "M" {
			g = "U"
		}
		seg("DMG*D8*%s*%s", d8(r.DOB), g)
		level := "EMP"
		if i%3 == 0 {
			level = "ESP"
		}
		seg("HD*030**HLT*PPO GOLD*%s", level)
		seg("DTP*348*D8*20260101")
		if i%3 == 0 {
			seg("INS*N*01*030*XN*A")
			seg("REF*0F*%s", r.EmployeeID)
			seg("NM1*IL*1*%s*SPOUSE%d", asciiOnly(r.LastName), i+1)
			seg("DMG*D8*19800101*U")
		}
	}
	fmt.Fprintf(bw, "SE*%d*0001~\nGE*1*1~\nIEA*1*000000001~\n", segs+1)
	return bw.Flush()
}
