//go:build tools

// Package tools pins Prometheus's module so that e2e/build.sh can build its promtool command, with which the
// chart's alerts are tested (operator test AlertRulesTest: promtool test rules).
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
