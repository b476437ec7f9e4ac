package model

import (
	_ "embed"
	"fmt"

	// The time zone database is embedded so business_hours time zones load
	// in minimal container images without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// exampleYAML is the SPEC §4 example model, byte for byte; the README
// documents the same file.
//
//go:embed example.yaml
var exampleYAML []byte

// ExampleYAML returns the built-in example model's source.
func ExampleYAML() []byte { return append([]byte(nil), exampleYAML...) }

// Default returns the built-in example model, used when PQLBOT_MODEL_FILE is
// unset. Each call returns a fresh copy, so callers cannot alter each
// other's model.
func Default() *Model {
	m, err := Parse(exampleYAML)
	if err != nil {
		// The embedded file is checked by the package tests.
		panic(fmt.Sprintf("model: built-in example is invalid: %v", err))
	}
	return m
}
