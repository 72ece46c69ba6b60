package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/postgres/pgtest"
)

// TestEmployeePagesReadThePrimaryKey: a page of employees, in either
// order and with or without filters, is read in index order and never
// sorts the tenant (an order by the select list's id::text did, and made
// a page of 100,000 employees take 150 ms).
func TestEmployeePagesReadThePrimaryKey(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.URL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tenant, after := schema.NewID(), schema.NewID()
	if _, err := s.pool.Exec(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, 't', 't', now())`, tenant); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO employees (tenant_id, id, external_id, first_name, last_name, employment_status, content_hash, source_hash, created_at, updated_at)
SELECT $1, gen_random_uuid(), 'E' || i, 'F', 'L', 'active', i, i, now(), now() FROM generate_series(1, 20000) i`, tenant); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE employees`); err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]schema.EmployeeQuery{
		"first page":      {Limit: 101},
		"next page":       {Limit: 101, AfterID: after},
		"by updated_at":   {Limit: 101, ByUpdated: true, AfterID: after, AfterUpdated: time.Now()},
		"status filtered": {Limit: 101, EmploymentStatus: "active"},
	} {
		sql, args := employeePage(tenant, q)
		var plan strings.Builder
		rows, err := s.pool.Query(ctx, "EXPLAIN "+sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			rows.Scan(&line) //nolint:errcheck
			plan.WriteString(line + "\n")
		}
		rows.Close()
		if strings.Contains(plan.String(), "Sort") || !strings.Contains(plan.String(), "Index") {
			t.Errorf("%s sorts instead of reading an index:\n%s", name, plan.String())
		}
	}
}
