# syntax=docker/dockerfile:1
#
# pqlbot container image: a static Go binary on distroless, running as the
# distroless "nonroot" user (65532). No shell, no package manager.
#   make docker                      # docker build -t pqlbot:dev .
# Base images are pinned to exact tags; when you have registry access, pin
# digests too (image@sha256:...) so a rebuild is byte-for-byte reproducible.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOOS=linux GOFLAGS=-buildvcs=false
# Dependencies first: this layer is reused until go.mod or go.sum changes.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/pqlbot ./cmd/pqlbot

FROM gcr.io/distroless/static-debian12:nonroot
# Migrations and the example model are embedded in the binary: it is the
# only file the image needs (CA certificates for slack.com come with the base).
COPY --from=build /out/pqlbot /pqlbot
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/pqlbot"]
CMD ["serve"]
