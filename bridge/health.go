package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hrisbridge/hrisbridge/schema"
)

// Health thresholds.
const (
	// failingAfter consecutive failed runs make a connection failing;
	// fewer make it degraded.
	failingAfter = 3
)

// Health computes a connection's health from its recent runs and its
// latest file. The worst finding wins: a refused login or host key is
// failing at once; failed runs in a row are degraded, and failing from
// the third; scheduled runs that keep finding no file when the connection
// expects one, and a latest file that was held (sharp drop in records,
// schema drift) or rejected, are degraded.
func (b *Bridge) Health(ctx context.Context, conn schema.Connection) (schema.Health, error) {
	h, err := b.health(ctx, conn)
	return h.Resolved(), err
}

func (b *Bridge) health(ctx context.Context, conn schema.Connection) (schema.Health, error) {
	ok := schema.Health{State: schema.HealthHealthy}
	runs, err := b.cfg.Store.SyncRuns(ctx, conn.TenantID, schema.ListQuery{ConnectionID: conn.ID, Limit: 50})
	if err != nil {
		return ok, err
	}
	var failed []schema.SyncRun
	for _, r := range runs {
		if r.Status == schema.RunQueued || r.Status == schema.RunRunning {
			continue
		}
		if r.Status != schema.RunFailed && r.Status != schema.RunRetrying {
			break
		}
		failed = append(failed, r)
	}
	if len(failed) > 0 {
		last := failed[0]
		if last.ErrorCode == schema.ECodeSFTPAuth || last.ErrorCode == schema.ECodeSFTPHostKey {
			return schema.Health{State: schema.HealthFailing, Code: last.ErrorCode, Reason: "authentication failed: " + last.Error}, nil
		}
		if last.ErrorCode == schema.ECodeAPIAuth {
			return schema.Health{State: schema.HealthAuthExpired, Code: last.ErrorCode, Reason: "authorization expired: " + last.Error}, nil
		}
		h := schema.Health{State: schema.HealthDegraded, Code: schema.ECodeSyncFailing,
			Reason: fmt.Sprintf("the last %d sync run(s) failed: %s", len(failed), last.Error)}
		if last.ErrorCode != "" {
			h.Code = last.ErrorCode
		}
		if len(failed) >= failingAfter {
			h.State = schema.HealthFailing
		}
		return h, nil
	}
	if c, _ := commonOf(conn.Config); c.ExpectFileEvery > 0 {
		n := c.ExpectFileEvery
		empty := 0
		for _, r := range runs {
			if !scheduledTrigger(r.Trigger) || r.Status != schema.RunSucceeded {
				continue
			}
			if r.Files > 0 {
				break
			}
			if empty++; empty >= n {
				return schema.Health{State: schema.HealthDegraded, Code: schema.ECodeNoFile,
					Reason: fmt.Sprintf("%d scheduled syncs in a row found no file; one is expected at least every %d", empty, n)}, nil
			}
		}
	}
	files, err := b.cfg.Store.Files(ctx, conn.TenantID, schema.ListQuery{ConnectionID: conn.ID, Limit: 5})
	if err != nil {
		return ok, err
	}
	for _, f := range files {
		switch f.Status {
		case schema.FileDuplicate, schema.FileReplayed, schema.FileProcessing:
			continue // says nothing about the source
		case schema.FileHeld:
			code := schema.ECodeShrink
			if strings.HasPrefix(f.Detail, "schema drift") {
				code = schema.ECodeSchemaDrift
			}
			return schema.Health{State: schema.HealthDegraded, Code: code, Reason: fmt.Sprintf("file %s (%s) is held: %s", f.Name, f.ID, f.Detail)}, nil
		case schema.FileRejected:
			return schema.Health{State: schema.HealthDegraded, Code: schema.ECodeFileRejected, Reason: fmt.Sprintf("file %s (%s) was rejected: %s", f.Name, f.ID, f.Detail)}, nil
		}
		break
	}
	return ok, nil
}

func scheduledTrigger(t string) bool {
	return t == schema.TriggerScheduled || t == schema.TriggerWindow || t == schema.TriggerCatchUp || t == schema.TriggerFinalPull
}

// UpdateHealth computes a connection's health and stores it when it
// changed, with a connection.unhealthy event when it got worse or its
// cause changed, or connection.recovered when it is healthy again.
func (b *Bridge) UpdateHealth(ctx context.Context, conn schema.Connection) (schema.Health, error) {
	cur, err := b.cfg.Store.Connection(ctx, conn.TenantID, conn.ID)
	if err != nil {
		return schema.Health{}, err
	}
	h, err := b.Health(ctx, cur)
	if err != nil {
		return h, err
	}
	old := cur.Health
	if h.State == old.State && h.Code == old.Code {
		h.Since = old.Since
		if h.Reason == old.Reason {
			return h, nil
		}
		return h, b.cfg.Store.SetConnectionHealth(ctx, conn.ID, h, nil)
	}
	now := time.Now().UTC()
	h.Since = &now
	typ := "connection.unhealthy"
	if h.State == schema.HealthHealthy {
		typ = "connection.recovered"
	}
	data, _ := json.Marshal(map[string]any{"connection_id": conn.ID, "connection": conn.Name, "state": h.State, "previous_state": old.State,
		"code": h.Code, "reason": h.Reason, "fix": h.Fix})
	e := &schema.Event{TenantID: conn.TenantID, Type: typ, Subject: conn.ID, Data: data}
	b.cfg.Logger.WarnContext(ctx, typ, "tenant", conn.TenantID, "connection", conn.Name, "state", h.State, "code", h.Code, "reason", h.Reason)
	return h, b.cfg.Store.SetConnectionHealth(ctx, conn.ID, h, e)
}
