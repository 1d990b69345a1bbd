# The Mooring image for Docker users: one image for the controller and the speaker
# (`mooring controller|speaker`). Equivalent to `npm run image` (scripts/image.mjs), which builds the
# same image without Docker or a registry: Debian trixie with Debian's nodejs (20.19), libpcap,
# iproute2 (`ip link set ... allmulticast`) and the CA certificates; the app is bin/mooring, the
# esbuild bundle (dist/bundle, run with MOORING_DIST=1) and the only node_modules it loads at run
# time, the native addons pcap and koffi.
#   docker build -t ghcr.io/mooring/mooring:0.1.0 .
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpcap-dev python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# The official image keeps Node's headers under /usr/local (the repo's .npmrc says /usr, Debian's place).
ENV npm_config_nodedir=/usr/local
RUN npm ci
# .dockerignore keeps the host's node_modules and dist out of the context.
COPY . .
RUN npm run build
# The run-time tree: what bin/mooring needs with MOORING_DIST=1, nothing else.
RUN mkdir -p /out/app/dist /out/app/node_modules/@koromix \
  && cp -a bin package.json /out/app/ \
  && cp -a dist/bundle /out/app/dist/ && rm -f /out/app/dist/bundle/*.map \
  && cp -a node_modules/pcap node_modules/koffi /out/app/node_modules/ \
  && cp -a node_modules/@koromix/koffi-linux-x64 /out/app/node_modules/@koromix/ \
  && rm -rf /out/app/node_modules/pcap/build/Release/obj.target /out/app/node_modules/pcap/node_modules \
     /out/app/node_modules/koffi/doc /out/app/node_modules/koffi/vendor

FROM debian:trixie-slim
RUN apt-get update && apt-get install -y --no-install-recommends nodejs libpcap0.8t64 iproute2 ca-certificates \
  && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man
COPY --from=build /out/app /app
WORKDIR /app
ENV MOORING_DIST=1 NODE_ENV=production
ENTRYPOINT ["/app/bin/mooring"]
