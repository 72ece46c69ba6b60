-- An API key may be created with an expiry, after which it stops working.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
