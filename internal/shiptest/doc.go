// Package shiptest holds no code, only tests: they read the Dockerfile, the
// .dockerignore, the Kubernetes manifests and the Slack app manifest and
// check them against each other and against the code (the environment
// variables of internal/config, the built-in model, the HTTP routes), so
// that what we ship cannot drift from what we build. There is no Docker
// engine or cluster on the build machines; these tests are the check.
package shiptest
