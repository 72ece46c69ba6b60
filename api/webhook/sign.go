// Package webhook delivers a tenant's change events to its endpoints as
// Standard Webhooks (standardwebhooks.com, v1): signed POSTs, in event
// order per endpoint, at least once, retried on a schedule that spans more
// than a day before the endpoint is disabled.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// NewSecret returns a signing secret: "whsec_" and 32 random bytes in
// base64.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // never fails
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// secretKey decodes a whsec_ secret to its HMAC key.
func secretKey(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(k) < 24 {
		return nil, errors.New("webhook secret must be whsec_ and at least 24 bytes of base64")
	}
	return k, nil
}

// Sign returns the webhook-signature header value for a message: "v1,"
// and the base64 HMAC-SHA256 of "{id}.{timestamp}.{body}".
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Tolerance is how far a delivery's webhook-timestamp may be from the
// receiver's clock before Verify refuses it (a replayed delivery).
const Tolerance = 5 * time.Minute

// ErrSignature is a delivery whose signature, or timestamp, does not hold.
var ErrSignature = errors.New("webhook: signature does not verify")

// Verify checks a delivery as a receiver should: one of the space-separated
// v1 signatures of the webhook-signature header is the HMAC of
// webhook-id, webhook-timestamp and body under the endpoint's secret, and
// the timestamp is within Tolerance of now.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > Tolerance {
		return fmt.Errorf("%w: timestamp missing or more than %s off", ErrSignature, Tolerance)
	}
	want, err := Sign(secret, h.Get("webhook-id"), ts, body)
	if err != nil {
		return err
	}
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return ErrSignature
}
