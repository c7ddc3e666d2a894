# syntax=docker/dockerfile:1

# Node Community server image: one static binary on distroless, running as the
# non-root user 65532 with a writable /data (DATA_DIR: the JetStream store).
# docker-compose.yml runs three of these as one NATS cluster over PostgreSQL.

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/server ./cmd/server
# An empty /data for the final stage, which has no shell to create it.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /server
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# Listen on all interfaces inside the container and keep state under /data;
# DATABASE_URL must be set (the image has no PostgreSQL of its own).
ENV HTTP_ADDR=0.0.0.0:8080 \
    DATA_DIR=/data
# 8080 HTTP, 6222 NATS cluster routes, 4222 NATS clients (only with NATS_LISTEN).
EXPOSE 8080 6222 4222
ENTRYPOINT ["/server"]
