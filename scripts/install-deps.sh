#!/usr/bin/env bash
# Installs the Debian 12 packages sluice builds, tests and runs its example with.
# Idempotent: packages already installed are not fetched again.
set -euo pipefail

packages=(
  # build
  g++ cmake ninja-build make pkg-config
  # libraries (DESIGN.md: Dependencies)
  libgit2-dev libyaml-cpp-dev libboost-dev libboost-filesystem-dev libboost-system-dev
  libcurl4-openssl-dev nlohmann-json3-dev libsqlite3-dev libcli11-dev libssl-dev
  libgtest-dev libgmock-dev libarchive-dev zlib1g-dev libjemalloc-dev
  # tests and the example project (only /usr/bin/python3 sees these)
  git sqlite3 time python3 python3-sklearn python3-pandas python3-pytest
  python3-fastapi python3-uvicorn python3-httpx
  # image and push stages' tests: a real OCI registry, skopeo to check it, htpasswd
  docker-registry skopeo apache2-utils
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
