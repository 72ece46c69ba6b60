package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Policy holds a connection's ingest guards (connections.config "policy").
// Zero values take the safe defaults.
type Policy struct {
	// MaxInvalidRatio rejects a file whose share of invalid rows is above
	// it; default the bridge's (0.05).
	MaxInvalidRatio *float64 `json:"max_invalid_ratio,omitempty"`
	// MaxShrinkRatio holds a full snapshot for approval when it has this
	// much fewer people than the last one; default 0.2.
	MaxShrinkRatio *float64 `json:"max_shrink_ratio,omitempty"`
	// MinOverlapRatio holds a full snapshot for approval when fewer than
	// this share of the people present before it are in it (another
	// employer's export, or a re-keyed one); default 0.5, 0 turns it off.
	MinOverlapRatio *float64 `json:"min_overlap_ratio,omitempty"`
	// Absent is what a full snapshot's absence means: flag (default: set
	// missing_from_snapshot and emit employee.missing_from_snapshot) or
	// terminate.
	Absent string `json:"absent,omitempty"`
	// Drift is what an API read whose required field no record has
	// (E_API_DRIFT) does: fail (default: the run fails, nothing applied)
	// or hold (the read is kept as a held file for an operator to release
	// or discard).
	Drift string `json:"drift,omitempty"`
}

// Validate names the bad key.
func (p Policy) Validate() error {
	for name, v := range map[string]*float64{"max_invalid_ratio": p.MaxInvalidRatio, "max_shrink_ratio": p.MaxShrinkRatio, "min_overlap_ratio": p.MinOverlapRatio} {
		if v != nil && (*v < 0 || *v > 1) {
			return fmt.Errorf("policy.%s %v must be between 0 and 1", name, *v)
		}
	}
	if p.Drift != "" && p.Drift != "fail" && p.Drift != "hold" {
		return fmt.Errorf("policy.drift %q must be fail or hold", p.Drift)
	}
	if p.Absent != "" && p.Absent != "flag" && p.Absent != "terminate" {
		return fmt.Errorf("policy.absent %q must be flag or terminate", p.Absent)
	}
	return nil
}

// common is the kind-independent part of a connection's config.
type common struct {
	Policy Policy `json:"policy"`
	// ExpectFileEvery: degraded after that many scheduled syncs in a row
	// found no file; 0 expects nothing.
	ExpectFileEvery int `json:"expect_file_every"`
}

// commonOf reads and validates the kind-independent keys of a
// connection's config.
func commonOf(config []byte) (common, error) {
	var c common
	if len(bytes.TrimSpace(config)) > 0 {
		if err := json.Unmarshal(config, &c); err != nil {
			return c, fmt.Errorf("connection config: %w", err)
		}
	}
	if c.ExpectFileEvery < 0 {
		return c, fmt.Errorf("expect_file_every %d must be 0 (off) or more", c.ExpectFileEvery)
	}
	return c, c.Policy.Validate()
}

// CheckConfig validates the kind-independent keys of a connection's
// config: policy and expect_file_every.
func CheckConfig(config []byte) error {
	_, err := commonOf(config)
	return err
}

// policyOf reads the policy of any connection kind.
func policyOf(config []byte) (Policy, error) {
	c, err := commonOf(config)
	return c.Policy, err
}

func (b *Bridge) maxInvalid(p Policy) float64 {
	if p.MaxInvalidRatio != nil {
		return *p.MaxInvalidRatio
	}
	return b.cfg.MaxInvalidRatio
}

func maxShrink(p Policy) float64 {
	if p.MaxShrinkRatio != nil {
		return *p.MaxShrinkRatio
	}
	return 0.2
}

func minOverlap(p Policy) float64 {
	if p.MinOverlapRatio != nil {
		return *p.MinOverlapRatio
	}
	return 0.5
}
