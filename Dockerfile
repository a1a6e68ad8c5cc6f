# lsmd container image: build and test in one stage, run from a small one.
#
#   docker build -t lsmd .
#   printf '%s\n' "$(openssl rand -hex 24)" > lsmd_password   # keep it safe
#   docker run -d --name lsmd -p 127.0.0.1:7070:7070 -p 127.0.0.1:6379:6379 -v lsmd-data:/data \
#     -v "$PWD/lsmd_password:/run/secrets/lsmd_password:ro" \
#     -e LSMD_PASSWORD_FILE=/run/secrets/lsmd_password lsmd
#
# The image starts only with a password (LSMD_PASSWORD_FILE, a Docker secret,
# or LSMD_PASSWORD) or an explicit LSMD_PROTECTED_MODE=no: every client of a
# container comes from outside its loopback, so it is never open by accident.
#
# Two ports: 7070 speaks JSON lines, 6379 the Redis protocol (RESP2).
# Settings come from LSMD_* environment variables (see `docker run --rm lsmd
# --help`), e.g. -e LSMD_SYNC=none -e LSMD_MEMTABLE_BYTES=8388608.
# docker/README.md has more; docker/smoke-test.sh checks this image end to end.
#
# No `# syntax=` line on purpose: it makes BuildKit fetch a frontend image from
# a registry, and this file must build offline (podman, or Docker with only the
# debian base image available locally).

############################################################################
# Build stage: the Debian build packages, a Release build, the unit tests.
FROM debian:bookworm-slim AS build

# The project's own package list, so the image and a developer machine build
# with the same packages. Copied alone so this layer is reused until it changes.
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh

# The sources; .dockerignore keeps out build trees, data dirs, .git and what
# the build does not read (docs, docker/, bench/), so editing those keeps the
# layers below cached.
WORKDIR /src
COPY . .

# The machine this was written for has two cores shared with other work.
ARG JOBS=2
# The benchmarks are not part of the server image.
# The server and the unit suites: the engine (core/) and the protocol
# (proto/). The integration, torture and hostile-client suites run on the
# host in scripts/test.sh against this same code; building them here too
# would double the image build for no new coverage.
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLSMD_BUILD_BENCH=OFF \
 && cmake --build /build -j"${JOBS}" --target lsmd \
      $(cmake --build /build --target help | sed -n 's/^\(\(core\|proto\)_[a-z_]*_test\):.*/\1/p')

RUN ctest --test-dir /build -j"${JOBS}" --output-on-failure --timeout 300 -R '^(core|proto)/' \
 && strip /build/server/lsmd

############################################################################
# Runtime stage: the shared libraries `ldd lsmd` lists, the binary, nothing else.
FROM debian:bookworm-slim

# libstdc++6 and libgcc-s1 are already in the base image; named so the list
# matches ldd. The lsmd user's fixed uid lets a host directory be chown'ed to it.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libboost-json1.81.0 libboost-program-options1.81.0 libspdlog1.10 libfmt9 \
      libxxhash0 libssl3 libstdc++6 libgcc-s1 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && useradd --system --uid 10001 --user-group --no-create-home --home-dir /data \
      --shell /usr/sbin/nologin lsmd \
 && mkdir /data && chown lsmd:lsmd /data && chmod 0750 /data

COPY --from=build /build/server/lsmd /usr/local/bin/lsmd
# Fails the build here, not at `docker run`, if a runtime library is missing.
RUN ["/usr/local/bin/lsmd", "--version"]

# Numeric, so runtimes that enforce runAsNonRoot can tell it is not root.
USER 10001:10001
WORKDIR /data

# Listen on every interface inside the container (publishing a port decides
# who can reach it): JSON lines on 7070, the Redis protocol on 6379 (`-e
# LSMD_RESP_LISTEN=` turns that port off: an empty variable counts as unset).
# Keep the data in the volume; demand a password (docs/SECURITY.md); close
# clients idle for 5 minutes, so abandoned connections do not pile up. Every
# other LSMD_* setting keeps lsmd's default unless given with `docker run -e`.
ENV LSMD_LISTEN=0.0.0.0:7070 \
    LSMD_RESP_LISTEN=0.0.0.0:6379 \
    LSMD_DATA_DIR=/data \
    LSMD_REQUIRE_PASSWORD=yes \
    LSMD_TIMEOUT=300
# A named volume created from this image starts owned by the lsmd user.
VOLUME ["/data"]
EXPOSE 7070 6379

# The binary checks itself: `--check` logs in with the container's own
# LSMD_PASSWORD or LSMD_PASSWORD_FILE, sends a stats request to the JSON port
# and exits 0 only if a reply comes within 2 s. If LSMD_LISTEN moves the port,
# override this too (docker run --health-cmd, or healthcheck: in compose).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["lsmd", "--check", "127.0.0.1:7070"]

# Exec form: lsmd is PID 1, so `docker stop`'s SIGTERM reaches it directly and
# it closes the engine (WAL synced, files closed) before exiting 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["lsmd"]
CMD []
