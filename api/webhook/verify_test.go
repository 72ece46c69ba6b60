package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	secret, other := NewSecret(), NewSecret()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"employee.hired"}`)
	sig, err := Sign(secret, "msg_1", now.Unix(), body)
	if err != nil {
		t.Fatal(err)
	}
	oldSig, _ := Sign(other, "msg_1", now.Unix(), body)
	headers := func(id string, ts int64, sigs string) http.Header {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		h.Set("webhook-signature", sigs)
		return h
	}
	for _, c := range []struct {
		name string
		h    http.Header
		body []byte
		ok   bool
	}{
		{"valid", headers("msg_1", now.Unix(), sig), body, true},
		{"one of several (a rotated secret)", headers("msg_1", now.Unix(), oldSig+" "+sig), body, true},
		{"body changed", headers("msg_1", now.Unix(), sig), []byte(`{"type":"employee.terminated"}`), false},
		{"id changed", headers("msg_2", now.Unix(), sig), body, false},
		{"other secret", headers("msg_1", now.Unix(), oldSig), body, false},
		{"too old", headers("msg_1", now.Add(-6*time.Minute).Unix(), sig), body, false},
		{"no signature", headers("msg_1", now.Unix(), ""), body, false},
	} {
		err := Verify(secret, c.h, c.body, now)
		if c.ok != (err == nil) || (err != nil && !errors.Is(err, ErrSignature)) {
			t.Errorf("%s: Verify = %v", c.name, err)
		}
	}
}
