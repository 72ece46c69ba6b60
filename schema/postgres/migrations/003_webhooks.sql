-- Webhook delivery state per endpoint: the last event delivered (events
-- go out in sequence order), the retry schedule of the next one, and a
-- lease so that one replica delivers at a time.
ALTER TABLE webhook_endpoints ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN attempt integer NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN next_attempt_at timestamptz;
ALTER TABLE webhook_endpoints ADD COLUMN failing_since timestamptz;
ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason text NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN lease_owner text NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN lease_until timestamptz;
ALTER TABLE webhook_deliveries ADD COLUMN tenant_id text NOT NULL DEFAULT '';
ALTER TABLE webhook_deliveries ADD COLUMN event_id text NOT NULL DEFAULT '';
ALTER TABLE webhook_deliveries ADD COLUMN duration_ms integer NOT NULL DEFAULT 0;
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, id);
