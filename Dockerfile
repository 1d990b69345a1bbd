# The Mooring image: one image for the controller and the speaker (`mooring controller|speaker`).
# The speaker needs libpcap at run time and the pcap addon built against it.
# (Not built in CI: these machines have no container engine; the tests run the same processes.)
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpcap-dev python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# The official image keeps Node's headers under /usr/local (the repo's .npmrc says /usr, Debian's place).
ENV npm_config_nodedir=/usr/local
RUN npm ci
COPY . .
# Compiled output (dist/): the components run with plain node, not through tsx.
RUN npm run build

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpcap0.8 iproute2 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
ENV MOORING_DIST=1
ENTRYPOINT ["/app/bin/mooring"]
