#!/usr/bin/env python3
"""Sends N solve_sudoku calls to `trm mcp` at once and reports wall time, answers and the server's peak RSS.

  python3 scripts/mcp-load.py build/trm [N] [--halt H] [--threads T] [--model-dir DIR]

The puzzles are N medium ones from `trm generate sudoku --seed 1000000007` (held out from training). Every call is
written before any reply is read, so the server has N requests in flight; a ping is sent right after them and must
come back before the last solve. Each answer must be verified and equal to what `trm solve` answers for the same
puzzle (the CLI's defaults, one process). Peak RSS is VmHWM from /proc/<pid>/status, read just before stdin is
closed. Exits 1 when a check fails. Needs only the Python standard library.
"""
import json, subprocess, sys, time

args = sys.argv[1:]
trm = args.pop(0)
halt = "auto"
if "--halt" in args:  # the tool's halt argument (never: every call runs all 16 steps), not a server flag
    i = args.index("--halt")
    halt = args[i + 1]
    del args[i:i + 2]
n = int(args.pop(0)) if args and not args[0].startswith("-") else 10
gen = subprocess.run([trm, "generate", "sudoku", "--count", str(n), "--difficulty", "medium", "--seed", "1000000007"],
                     capture_output=True, text=True, check=True).stdout
puzzles = [l.split()[0] for l in gen.splitlines() if l.strip() and l[0] != "#"][:n]
model_dir = args[args.index("--model-dir") + 1] if "--model-dir" in args else None
cli = subprocess.run([trm, "solve", "sudoku", "--format", "json", "--halt", halt, *(["-m", model_dir + "/sudoku.safetensors"] if model_dir else [])],
                     input="\n".join(puzzles) + "\n", capture_output=True, text=True).stdout
cli_answers = [m["answer"] for m in map(json.loads, cli.splitlines()) if m.get("type") == "result"]
assert len(cli_answers) == n, cli
proc = subprocess.Popen([trm, "mcp", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, bufsize=1)

def send(msg):
    proc.stdin.write(json.dumps(msg) + "\n")
    proc.stdin.flush()

def read():
    line = proc.stdout.readline()
    if not line:
        sys.exit("the server closed its output: " + proc.stderr.read())
    return json.loads(line)

send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
      "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "mcp-load", "version": "1"}}})
read()
send({"jsonrpc": "2.0", "method": "notifications/initialized"})
t0 = time.time()
for i, p in enumerate(puzzles):
    send({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
          "params": {"name": "solve_sudoku", "arguments": {"puzzle": p, "trace": "off", "halt": halt}}})
send({"jsonrpc": "2.0", "id": "ping", "method": "ping"})
done, order, verified, same = {}, [], 0, 0
while len(done) < n + 1:
    m = read()
    order.append(m["id"])
    done[m["id"]] = time.time() - t0
    if m["id"] != "ping":
        sc = m["result"]["structuredContent"]
        verified += sc["verified"]
        same += sc["answer"] == cli_answers[m["id"] - 1]
with open(f"/proc/{proc.pid}/status") as f:
    hwm = next(l.split()[1] for l in f if l.startswith("VmHWM"))
proc.stdin.close()
proc.wait()
wall = max(done.values())
print(f"{n} concurrent solve_sudoku: {verified}/{n} verified, {same}/{n} as `trm solve`, all answered in {wall:.2f} s "
      f"(first {min(v for k, v in done.items() if k != 'ping'):.2f} s), ping answered {order.index('ping') + 1}. "
      f"of {n + 1} at {done['ping']:.3f} s, peak RSS (VmHWM) {int(hwm) / 1024:.1f} MiB")
sys.exit(0 if verified == n and same == n and order.index("ping") < n else 1)
