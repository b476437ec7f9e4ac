// Package sdk is the end-to-end suite of real Segment-compatible SDKs
// against the real pqlbot binary on real PostgreSQL: RudderStack's node SDK
// (default options: gzip on), Segment's analytics-node, and analytics.js
// (analytics-next) in headless Chromium. The npm pieces are pinned by
// package.json and package-lock.json here; sdk_test.go installs them
// (npm ci) when node_modules is absent.
package sdk
