# One of our Go services (static binary, CGO_ENABLED=0) on the Debian image:
# it shares its layers and gives the health checks bash.
ARG BASE_IMAGE=whatif/debian:dev
FROM ${BASE_IMAGE}
ARG BIN
COPY ${BIN} /usr/local/bin/${BIN}
