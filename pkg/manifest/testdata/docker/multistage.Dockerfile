# syntax=docker/dockerfile:1.7
# escape=\

ARG GO_VERSION=1.22
ARG BASE=gcr.io/distroless/static-debian12

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN <<EOF
FROM this-is-not-an-instruction
go build -o /out/app ./cmd/app
EOF

from node:20.15-bookworm-slim as web
RUN npm ci \
# a comment inside a continuation
    && npm run build

FROM build AS test
RUN go test ./...

FROM \
    docker.io/library/alpine:3.20@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5 \
    AS certs

FROM localhost:5000/team/base

FROM ${BASE}
COPY --from=build /out/app /app
COPY --from=certs /etc/ssl/certs /etc/ssl/certs

FROM scratch AS final
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]

FROM golang:1.22-alpine
