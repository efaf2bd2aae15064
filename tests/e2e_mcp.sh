#!/usr/bin/env bash
# End-to-end test of `trm mcp` with the official MCP TypeScript SDK (@modelcontextprotocol/sdk, version pinned in
# tests/mcp/package.json and package-lock.json) as the client.
# Usage (from the source root, as ctest runs it): bash tests/e2e_mcp.sh path/to/trm
# Needs node >= 18 and npm. The SDK is installed with `npm ci` into tests/mcp/node_modules (skipped when the
# lock file has not changed since the last install). If it cannot be installed -- no npm, no registry, no cache --
# the test FAILS: it never passes without having run the client.
# Tiny untrained models (sudoku, 11x11 maze, 10x10 ARC) are trained on the spot into a temporary directory; the
# shipped models/maze-small.safetensors checks that solve_maze answers like `trm solve`, and with
# models/maze.safetensors beside it that the any-size model takes the mazes the 9x9 one does not.
set -euo pipefail

TRM=$(realpath "${1:?usage: e2e_mcp.sh path/to/trm}")
DIR=tests/mcp
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS

die() { echo "FAIL: $*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed (the MCP SDK client needs node >= 18)"
command -v npm >/dev/null || die "npm is not installed (needed to install @modelcontextprotocol/sdk)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[[ $node_major -ge 18 ]] || die "node $(node --version) is too old; the MCP SDK needs node >= 18"

# Install the pinned SDK unless this exact lock file was installed before.
stamp=$DIR/node_modules/.trm-lock-sha256
want=$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    echo "installing the MCP SDK: npm ci --prefix $DIR" >&2
    if ! npm ci --prefix "$DIR" --prefer-offline --no-audit --no-fund --fetch-retries=1 --fetch-timeout=30000 \
            >"$tmp/npm.log" 2>&1; then
        tail -n 15 "$tmp/npm.log" >&2
        die "npm ci could not install @modelcontextprotocol/sdk into $DIR/node_modules (is the npm registry" \
            "reachable, or its cache filled?); this test needs the official MCP client and does not pass without it"
    fi
    echo "$want" >"$stamp"
fi
[[ -f $DIR/node_modules/@modelcontextprotocol/sdk/package.json ]] || die "$DIR/node_modules lacks the MCP SDK"

# Tiny models: a few optimizer steps, just enough to be valid files of the right shapes.
tiny=(--hidden 16 --heads 2 --H-cycles 1 --L-cycles 1 --halt-max-steps 2 --steps 2 --batch 4 --eval-count 4
      --eval-every 0 --threads 1)
mkdir -p "$tmp/models" "$tmp/empty"
"$TRM" train sudoku "${tiny[@]}" -o "$tmp/models/sudoku.safetensors" >"$tmp/train.log" 2>&1 ||
    { cat "$tmp/train.log" >&2; die "trm train sudoku failed"; }
"$TRM" train maze --grid 11 "${tiny[@]}" -o "$tmp/models/maze.safetensors" >"$tmp/train.log" 2>&1 ||
    { cat "$tmp/train.log" >&2; die "trm train maze failed"; }
"$TRM" train arc --data examples/arc_6150a2bd.json --grid 10 --num-aug 2 --puzzle-emb-ndim 16 "${tiny[@]}" \
    -o "$tmp/models/arc.safetensors" >"$tmp/train.log" 2>&1 ||
    { cat "$tmp/train.log" >&2; die "trm train arc failed"; }

rc=0
node "$DIR/client.mjs" "$TRM" "$tmp/models" "$tmp/empty" models/maze-small.safetensors models/maze.safetensors || rc=$?
echo "e2e_mcp: $((SECONDS - t0)) s" >&2
[[ $rc -eq 0 ]] || die "the MCP client checks failed (see above)"
echo "e2e_mcp: all checks passed"
