# syntax=docker/dockerfile:1
# Build: a static binary, no cgo.
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Only scimbridge's module: the repository's go.work also names the demo's (demo/go.mod), whose embedded
# database engine the binary never links and the image need not download.
ENV GOWORK=off
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/scimbridge ./cmd/scimbridge

# Run: distroless static, as a non-root user. Mount the config at /etc/scimbridge/scimbridge.toml and
# pass secrets as SCIMBRIDGE_DSN / SCIMBRIDGE_TOKEN (or files, see README).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scimbridge /usr/local/bin/scimbridge
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/scimbridge"]
CMD ["serve", "--config", "/etc/scimbridge/scimbridge.toml"]
