# hrisbridge appliance image: a static, non-root binary on distroless.
#
#   docker build -t hrisbridge .
#   docker run -p 8080:8080 -v hrisbridge-data:/data hrisbridge            # embedded SQLite in /data
#   docker run -p 8080:8080 -e HRISBRIDGE_DATABASE_URL=postgres://... \
#     -e HRISBRIDGE_MASTER_KEY_FILE=/run/secrets/master_key hrisbridge     # PostgreSQL
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/hrisbridge ./cmd/hrisbridge \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hrisbridge /usr/local/bin/hrisbridge
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV HRISBRIDGE_DATA_DIR=/data \
    HRISBRIDGE_ADDR=:8080
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/hrisbridge", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/hrisbridge"]
CMD ["serve"]
