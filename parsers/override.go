package parsers

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Merge applies overrides (YAML documents, most general first: tenant,
// then connection) to a base layout's YAML and returns the effective
// layout. Maps merge key by key, so an override can remap one column or
// add one code without copying the layout; any other value, lists
// included, replaces the one below it; a null removes it.
func Merge(base []byte, overrides ...[]byte) (*Layout, error) {
	out, err := MergeYAML(base, overrides...)
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	return ParseLayout(out)
}

// MergeYAML deep-merges YAML documents as Merge does layouts (maps key by
// key, anything else replaced, null removes); connector definitions are
// overridden the same way.
func MergeYAML(base []byte, overrides ...[]byte) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(base, &doc); err != nil {
		return nil, err
	}
	for i, o := range overrides {
		var over map[string]any
		if err := yaml.Unmarshal(o, &over); err != nil {
			return nil, fmt.Errorf("override %d: %w", i+1, err)
		}
		doc = mergeMaps(doc, over)
	}
	return yaml.Marshal(doc)
}

func mergeMaps(dst, src map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]any)
		dm, dok := dst[k].(map[string]any)
		if sok && dok {
			dst[k] = mergeMaps(dm, sm)
			continue
		}
		dst[k] = v
	}
	return dst
}

// YAML renders a layout as YAML (for `hrisbridge layouts show`).
func (l *Layout) YAML() ([]byte, error) { return yaml.Marshal(l) }

// Resolve builds the effective layout name from the built-in layout of that
// name (when there is one) and the tenant and connection overrides (nil
// when absent). Without a built-in, the first override present must be a
// whole layout: that is how a tenant adds a provider of its own.
func Resolve(name string, tenant, connection []byte) (*Layout, error) {
	base, berr := BuiltinYAML(name)
	merged, err := MergeOverrides(base, berr, tenant, connection)
	switch {
	case err == berr && err != nil:
		return nil, err // no such layout
	case err != nil:
		return nil, fmt.Errorf("layout: %w", err)
	}
	l, err := ParseLayout(merged)
	if err != nil {
		return nil, err
	}
	if l.Name != name {
		return nil, fmt.Errorf("layout %s: an override may not rename it (name: %s)", name, l.Name)
	}
	return l, nil
}

// MergeOverrides deep-merges the tenant's and then the connection's
// override (nil when absent) over base, the built-in document (or its
// lookup error: then the first override present must be a whole document,
// as a tenant's own layout or connector is, and without one the lookup
// error is returned as it is). Layouts and connector definitions resolve
// the same way.
func MergeOverrides(base []byte, baseErr error, tenant, connection []byte) ([]byte, error) {
	var docs [][]byte
	for _, d := range [][]byte{tenant, connection} {
		if len(d) > 0 {
			docs = append(docs, d)
		}
	}
	if baseErr != nil {
		if len(docs) == 0 {
			return nil, baseErr
		}
		base, docs = docs[0], docs[1:]
	}
	return MergeYAML(base, docs...)
}
