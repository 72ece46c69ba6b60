package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hrisbridge/hrisbridge/schema"
)

// recordWriter applies a file of dependents, plans or enrollments row by
// row: it reads what is stored for the row's employee (once per employee
// and file), decides new, changed or unchanged by content hash, writes
// what changed and gathers the events.
type recordWriter struct {
	in       schema.Ingest
	baseline bool
	hashKey  *schema.HashKey
	events   []schema.Event
	// listed maps an employee's id to the keys of its records the file
	// listed.
	listed      map[string][]string
	dependents  map[string][]schema.Dependent  // employee id -> stored before the file
	enrollments map[string][]schema.Enrollment // employee id -> stored before the file
	plans       map[string]schema.BenefitPlan  // plan code -> stored
}

func (w *recordWriter) event(e schema.Event) {
	if !w.baseline {
		w.events = append(w.events, e)
	}
}

func (w *recordWriter) put(ctx context.Context, rec any) (change, error) {
	switch r := rec.(type) {
	case *schema.Dependent:
		return w.putDependent(ctx, r)
	case *schema.Enrollment:
		return w.putEnrollment(ctx, r)
	case *schema.BenefitPlan:
		return w.putPlan(ctx, r)
	}
	return 0, fmt.Errorf("no ingest for %T", rec)
}

// cached returns (*m)[key], read with load the first time it is asked
// for in a file.
func cached[V any](m *map[string]V, key string, load func() (V, error)) (V, error) {
	if v, ok := (*m)[key]; ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	if *m == nil {
		*m = map[string]V{}
	}
	(*m)[key] = v
	return v, nil
}

func (w *recordWriter) putDependent(ctx context.Context, d *schema.Dependent) (change, error) {
	empID, err := w.in.EmployeeID(ctx, d.EmployeeExternalID)
	if err != nil {
		return 0, err
	}
	stored, err := cached(&w.dependents, empID, func() ([]schema.Dependent, error) { return w.in.Dependents(ctx, empID) })
	if err != nil {
		return 0, err
	}
	w.listed[empID] = append(w.listed[empID], d.ExternalID)
	c := *d
	c.EmployeeID, c.Hash = empID, d.ContentHash(w.hashKey)
	i := slices.IndexFunc(stored, func(o schema.Dependent) bool { return o.ExternalID == d.ExternalID })
	typ, ch := schema.EventDependentAdded, added
	switch {
	case i < 0:
		c.ID = schema.NewID()
	case stored[i].Hash == c.Hash:
		return unchanged, nil
	case stored[i].ContentHash(w.hashKey) == c.Hash:
		// Stored under another hash key: the same content.
		c.ID = stored[i].ID
		return unchanged, w.in.SaveDependent(ctx, &c, false)
	default:
		c.ID, typ, ch = stored[i].ID, schema.EventDependentUpdated, changed
	}
	if err := w.in.SaveDependent(ctx, &c, ch == added); err != nil {
		return 0, err
	}
	w.event(schema.DependentEvent(typ, &c))
	return ch, nil
}

func (w *recordWriter) putPlan(ctx context.Context, p *schema.BenefitPlan) (change, error) {
	c := *p
	c.Hash = p.ContentHash(w.hashKey)
	old, err := w.in.Plan(ctx, p.PlanCode)
	ch := changed
	switch {
	case err == nil && old.Hash == c.Hash:
		return unchanged, nil
	case err == nil && old.ContentHash(w.hashKey) == c.Hash:
		c.ID = old.ID // stored under another hash key: the same content
		return unchanged, w.in.SavePlan(ctx, &c, false)
	case err == nil:
		c.ID = old.ID
	case errors.Is(err, schema.ErrNoPlan):
		c.ID, ch = schema.NewID(), added
	default:
		return 0, err
	}
	return ch, w.in.SavePlan(ctx, &c, ch == added)
}

func (w *recordWriter) putEnrollment(ctx context.Context, n *schema.Enrollment) (change, error) {
	empID, err := w.in.EmployeeID(ctx, n.EmployeeExternalID)
	if err != nil {
		return 0, err
	}
	plan, err := cached(&w.plans, n.PlanCode, func() (schema.BenefitPlan, error) { return w.in.Plan(ctx, n.PlanCode) })
	if err != nil {
		return 0, err
	}
	stored, err := cached(&w.enrollments, empID, func() ([]schema.Enrollment, error) { return w.in.Enrollments(ctx, empID) })
	if err != nil {
		return 0, err
	}
	key := n.PlanCode + "|" + n.EffectiveDate
	w.listed[empID] = append(w.listed[empID], key)
	c := *n
	c.EmployeeID, c.PlanID, c.Hash = empID, plan.ID, n.ContentHash(w.hashKey)
	i := slices.IndexFunc(stored, func(o schema.Enrollment) bool { return o.PlanCode+"|"+o.EffectiveDate == key })
	var old *schema.Enrollment
	ch := added
	switch {
	case i < 0:
		c.ID = schema.NewID()
	case stored[i].Hash == c.Hash:
		return unchanged, nil
	case stored[i].ContentHash(w.hashKey) == c.Hash:
		c.ID = stored[i].ID // stored under another hash key: the same content
		return unchanged, w.in.SaveEnrollment(ctx, &c, false)
	default:
		old, c.ID, ch = &stored[i], stored[i].ID, changed
	}
	if err := w.in.SaveEnrollment(ctx, &c, ch == added); err != nil {
		return 0, err
	}
	w.event(schema.EnrollmentEvent(schema.EnrollmentEventType(old, &c), &c))
	return ch, nil
}

// endUnlisted removes the dependents, or ends (as of date) the active
// enrollments, of each listed employee that the full file no longer
// lists, and returns how many.
func (w *recordWriter) endUnlisted(ctx context.Context, entity, date string) (int, error) {
	n := 0
	for _, empID := range sortedKeys(w.listed) {
		keep := w.listed[empID]
		switch entity {
		case "dependent":
			for _, d := range w.dependents[empID] {
				if slices.Contains(keep, d.ExternalID) {
					continue
				}
				if err := w.in.DeleteDependent(ctx, d.ID); err != nil {
					return n, err
				}
				w.event(schema.DependentEvent(schema.EventDependentRemoved, &d))
				n++
			}
		case "enrollment":
			for _, e := range w.enrollments[empID] {
				if e.Status == "terminated" || slices.Contains(keep, e.PlanCode+"|"+e.EffectiveDate) {
					continue
				}
				e.Status, e.EndDate = "terminated", date
				e.Hash = e.ContentHash(w.hashKey)
				if err := w.in.SaveEnrollment(ctx, &e, false); err != nil {
					return n, err
				}
				w.event(schema.EnrollmentEvent(schema.EventEnrollmentEnded, &e))
				n++
			}
		}
	}
	return n, nil
}
