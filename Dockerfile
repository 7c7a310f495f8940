# syntax=docker/dockerfile:1
# Multi-stage build: the SQL checks use the committed .sqlx/ data, so no database is needed here.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
ENV SQLX_OFFLINE=true CARGO_TERM_COLOR=never
# Dependencies first, in their own layer: a change to Folio's code does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY .sqlx ./.sqlx
COPY migrations ./migrations
COPY templates ./templates
COPY assets ./assets
COPY src ./src
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home folio
COPY --from=build /src/target/release/folio /usr/local/bin/folio
USER folio
ENV FOLIO_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["folio"]
CMD ["serve"]
