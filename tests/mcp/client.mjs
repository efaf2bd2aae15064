// End-to-end test of `trm mcp` against the official MCP TypeScript SDK client (run by tests/e2e_mcp.sh).
//
//   node tests/mcp/client.mjs TRM MODEL_DIR EMPTY_DIR SHIPPED_MAZE_MODEL SHIPPED_ANY_MAZE_MODEL
//
// MODEL_DIR holds tiny sudoku/maze/arc models, EMPTY_DIR none; SHIPPED_MAZE_MODEL is models/maze-small.safetensors
// (trained), for answering like `trm solve`, SHIPPED_ANY_MAZE_MODEL models/maze.safetensors (any size), for the
// pick between a kind's two models. Part 1 talks to the server through the SDK's
// Client + StdioClientTransport (which also validates every structuredContent against the tool's outputSchema);
// part 2 spawns the server itself and writes raw bytes the SDK would never send. Prints one line per check;
// exits 1 if any failed.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, copyFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { McpError, ErrorCode } from "@modelcontextprotocol/sdk/types.js";

const [trm, modelDir, emptyDir, shippedMaze, shippedAnyMaze] = process.argv.slice(2);
if (!trm || !modelDir || !emptyDir || !shippedMaze || !shippedAnyMaze) {
    console.error("usage: node client.mjs TRM MODEL_DIR EMPTY_DIR SHIPPED_MAZE_MODEL SHIPPED_ANY_MAZE_MODEL");
    process.exit(2);
}

let failures = 0;
async function check(name, fn) {
    try {
        await fn();
        console.log(`ok   ${name}`);
    } catch (e) {
        failures++;
        console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
    }
}

// ---- puzzles --------------------------------------------------------------------------------------------------
const PUZZLE = "6..21345.7.168.92.2.5.9......6......8...29.61.1.7..2......56.49.679.2.35.5....61.";
const SOLUTION = "698213457741685923235497186926831574874529361513764298382156749167942835459378612";
const MAZE = ["...#.......", ".#.###G#.##", ".#...#.#...", ".###.#####.", ".#...#...#.", ".###.#.#.#.",
              ".....#.#.#.", "##.#.#.#.#.", "..S#.#.#.#.", "##.#.#.#.#.", ".......#..."];
const ARC_TASK = {
    train: [{ input: [[3, 3, 8], [3, 7, 0], [5, 0, 0]], output: [[0, 0, 5], [0, 7, 3], [8, 3, 3]] },
            { input: [[5, 5, 2], [1, 0, 0], [0, 0, 0]], output: [[0, 0, 0], [0, 0, 1], [2, 5, 5]] }],
    test: [{ input: [[6, 3, 5], [6, 8, 0], [4, 0, 0]] }],
};

// The puzzle as a 9x9 grid text with separators ("6 . . | 2 1 3 | 4 5 .", "------+-------+------").
function sudokuGrid(line) {
    const rows = [];
    for (let r = 0; r < 9; r++) {
        const c = [...line.slice(9 * r, 9 * r + 9)];
        rows.push(`${c.slice(0, 3).join(" ")} | ${c.slice(3, 6).join(" ")} | ${c.slice(6).join(" ")}`);
        if (r === 2 || r === 5) rows.push("------+-------+------");
    }
    return rows.join("\n") + "\n";
}

// A shortest S-G path by BFS, marked 'o' (independent of trm's solver).
function solveMaze(rows) {
    const R = rows.length, C = rows[0].length, at = (r, c) => rows[r][c];
    let start, goal;
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) {
        if (at(r, c) === "S") start = [r, c];
        if (at(r, c) === "G") goal = [r, c];
    }
    const prev = new Map([[start.join(), null]]);
    const queue = [start];
    while (queue.length) {
        const [r, c] = queue.shift();
        for (const [dr, dc] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
            const nr = r + dr, nc = c + dc, key = `${nr},${nc}`;
            if (nr < 0 || nc < 0 || nr >= R || nc >= C || at(nr, nc) === "#" || prev.has(key)) continue;
            prev.set(key, [r, c]);
            queue.push([nr, nc]);
        }
    }
    const grid = rows.map(row => [...row]);
    for (let p = prev.get(goal.join()); p && p.join() !== start.join(); p = prev.get(p.join())) grid[p[0]][p[1]] = "o";
    return grid.map(row => row.join(""));
}

async function expectRpcError(promise, code, pattern) {
    await assert.rejects(promise, e => {
        assert.ok(e instanceof McpError, `expected McpError, got ${e}`);
        assert.equal(e.code, code, e.message);
        if (pattern) assert.match(e.message, pattern);
        return true;
    });
}

const text = result => result.content.map(c => c.text).join("\n");

// ---- part 1: the SDK client -----------------------------------------------------------------------------------
async function connect(dir) {
    const transport = new StdioClientTransport({ command: trm, args: ["mcp", "--model-dir", dir], stderr: "pipe" });
    let stderr = "";
    transport.stderr.on("data", d => { stderr += d; });
    let negotiated = null;
    transport.setProtocolVersion = v => { negotiated = v; };
    const client = new Client({ name: "trm-e2e", version: "1.0.0" });
    // tool calls wait up to 10 minutes (the SDK's default is 60 s): the suite also runs under AddressSanitizer on
    // a loaded 2-core machine, where a 64-view solve with the e2e's untrained models takes a while; the checks
    // that need a reply sooner set their own timeout
    const callTool = client.callTool.bind(client);
    client.callTool = (params, schema, options = {}) => callTool(params, schema, { timeout: 600000, ...options });
    const errors = [];
    client.onerror = e => errors.push(e);
    await client.connect(transport, { timeout: 20000 });
    return { client, transport, negotiated: () => negotiated, errors, stderr: () => stderr };
}

let s;
try {
    s = await connect(modelDir);
} catch (e) {
    console.log(`FAIL connect and initialize through the SDK: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
}
const { client } = s;

await check("initialize: serverInfo, capabilities, version negotiated down from the SDK's newest", async () => {
    assert.equal(client.getServerVersion().name, "trm");
    assert.match(client.getServerVersion().version, /^\d+\.\d+\.\d+/);
    assert.ok(client.getServerCapabilities().tools, "tools capability");
    assert.equal(s.negotiated(), "2025-06-18");
    assert.match(client.getInstructions(), /verified/);
});

await check("ping", async () => {
    assert.deepEqual(await client.ping(), {});
});

let tools;
await check("tools/list: four tools with input and output schemas", async () => {
    tools = (await client.listTools()).tools;
    assert.deepEqual(tools.map(t => t.name), ["solve_sudoku", "solve_maze", "solve_arc", "verify"]);
    for (const t of tools) {
        assert.equal(t.inputSchema.type, "object", t.name);
        assert.equal(t.outputSchema.type, "object", t.name);
        assert.ok(t.description.length > 40, t.name);
        assert.equal(t.annotations.readOnlyHint, true, t.name);
    }
    assert.deepEqual(tools[0].inputSchema.required, ["puzzle"]);
    assert.deepEqual(tools[0].inputSchema.properties.halt.enum, ["auto", "model", "never", "verified"]);
    assert.equal(tools[0].inputSchema.properties.halt.default, "auto");
    assert.equal(tools[2].inputSchema.properties.adapt_steps.type, "integer");
    assert.deepEqual(tools[3].inputSchema.properties.domain.enum, ["sudoku", "maze"]);
});

await check("solve_sudoku (81-char line): answer, verified, steps, confidence, trace", async () => {
    const r = await client.callTool({ name: "solve_sudoku", arguments: { puzzle: PUZZLE } });
    assert.equal(r.isError, false, text(r));
    const sc = r.structuredContent;
    assert.match(sc.answer, /^[1-9.]{81}$/);
    assert.equal(typeof sc.verified, "boolean");
    assert.equal(sc.verified, sc.check === "solved");
    // halt auto = verified: a draft that does not verify refines to 16 steps, past the model's 2
    assert.ok(sc.steps >= 1 && sc.steps <= 16, `steps ${sc.steps}`);
    assert.equal(sc.max_steps, 16);
    assert.ok(sc.halt_probability >= 0 && sc.halt_probability <= 1);
    // every view tried is traced: its steps, in order, each entry naming its view
    assert.equal(sc.views.length, sc.views_used);
    assert.equal(sc.trace.length, sc.views.reduce((n, v) => n + v.steps, 0));
    assert.equal(sc.trace[0].step, 1);
    assert.equal(sc.trace[0].view, 1);
    assert.equal(sc.trace[sc.trace.length - 1].view, sc.views_used);
    assert.equal(sc.views[0].name, "as given");
    assert.ok(sc.view >= 1 && sc.view <= sc.views_used);
    assert.ok(sc.model.endsWith("sudoku.safetensors"));
    assert.match(text(r), new RegExp(`answer: ${sc.answer.replace(/\./g, "\\.")}`));
});

await check("solve_sudoku (9x9 grid text, halt never, drafts): same answer as the line, every step run", async () => {
    const args = { halt: "never", max_steps: 2, trace: "drafts" };
    const r = await client.callTool({ name: "solve_sudoku", arguments: { puzzle: sudokuGrid(PUZZLE), ...args } });
    const line = await client.callTool({ name: "solve_sudoku", arguments: { puzzle: PUZZLE, ...args } });
    assert.equal(r.isError, false, text(r));
    assert.equal(r.structuredContent.steps, 2);
    assert.equal(r.structuredContent.stopped_by, "max_steps");
    assert.equal(r.structuredContent.trace[1].draft, r.structuredContent.answer);
    assert.equal(r.structuredContent.answer, line.structuredContent.answer);
});

await check("solve_maze (array of rows and string with newlines): same marked maze", async () => {
    const a = await client.callTool({ name: "solve_maze", arguments: { maze: MAZE, halt: "never" } });
    const b = await client.callTool({ name: "solve_maze", arguments: { maze: MAZE.join("\n"), halt: "never" } });
    assert.equal(a.isError, false, text(a));
    assert.equal(b.isError, false, text(b));
    const sc = a.structuredContent;
    assert.equal(sc.answer.length, 11);
    for (const row of sc.answer) assert.equal(row.length, 11);
    assert.deepEqual(b.structuredContent.answer, sc.answer);
    assert.ok(["optimal", "valid but longer", "broken"].includes(sc.verdict));
    assert.equal(sc.verified, sc.verdict === "optimal");
    assert.equal(sc.shortest_cells, solveMaze(MAZE).join("").split("o").length - 1 + 2);
    assert.equal(sc.steps, 2);
    assert.match(text(a), /Maze (NOT solved|solved)/);
});

await check("solve_arc: attempts, votes, check against the demonstrations", async () => {
    // a short adaptation of the unseen task: adaptation itself is exercised by the progress checks below
    const r = await client.callTool({ name: "solve_arc", arguments: { task: ARC_TASK, num_aug: 2, adapt_steps: 5 } });
    assert.equal(r.isError, false, text(r));
    const sc = r.structuredContent;
    assert.equal(sc.results.length, 1);
    const t = sc.results[0];
    assert.ok(t.attempts.length >= 1 && t.attempts.length <= 2);
    assert.equal(t.copies, 3);
    assert.equal(t.expected_known, false);
    assert.equal(t.verified, false);
    assert.match(t.check, /no expected output/);
});

await check("verify: correct and wrong Sudoku answers", async () => {
    const ok = await client.callTool({ name: "verify", arguments: { domain: "sudoku", puzzle: PUZZLE, answer: SOLUTION } });
    assert.equal(ok.structuredContent.verified, true, text(ok));
    assert.equal(ok.structuredContent.check, "solved");
    const wrong = SOLUTION.slice(0, 40) + SOLUTION[41] + SOLUTION[40] + SOLUTION.slice(42);
    const bad = await client.callTool({ name: "verify", arguments: { domain: "sudoku", puzzle: PUZZLE, answer: wrong } });
    assert.equal(bad.isError, false);
    assert.equal(bad.structuredContent.verified, false);
    assert.ok(bad.structuredContent.clashes.length > 0, JSON.stringify(bad.structuredContent));
    assert.match(text(bad), /NOT verified/);
});

await check("verify: correct and wrong maze answers", async () => {
    const answer = solveMaze(MAZE);
    const ok = await client.callTool({ name: "verify", arguments: { domain: "maze", puzzle: MAZE, answer } });
    assert.equal(ok.structuredContent.verified, true, text(ok));
    assert.equal(ok.structuredContent.verdict, "optimal");
    const broken = answer.map(row => row.replace("o", "."));
    const bad = await client.callTool({ name: "verify", arguments: { domain: "maze", puzzle: MAZE, answer: broken } });
    assert.equal(bad.structuredContent.verified, false);
    assert.equal(bad.structuredContent.verdict, "broken");
});

await check("bad arguments are JSON-RPC errors -32602", async () => {
    await expectRpcError(client.callTool({ name: "solve_sudoku", arguments: {} }), ErrorCode.InvalidParams,
                         /arguments\.puzzle: required property missing/);
    await expectRpcError(client.callTool({ name: "solve_sudoku", arguments: { puzzle: PUZZLE, halt: "sometimes" } }),
                         ErrorCode.InvalidParams, /halt/);
    await expectRpcError(client.callTool({ name: "solve_maze", arguments: { maze: MAZE, max_steps: 0 } }),
                         ErrorCode.InvalidParams, /minimum/);
    await expectRpcError(client.callTool({ name: "verify", arguments: { domain: "go", puzzle: "x", answer: "y" } }),
                         ErrorCode.InvalidParams, /domain/);
    await expectRpcError(client.callTool({ name: "no_such_tool", arguments: {} }), ErrorCode.InvalidParams,
                         /unknown tool/);
});

await check("unreadable puzzles are tool errors (isError) naming the problem", async () => {
    const clash = await client.callTool({ name: "solve_sudoku", arguments: { puzzle: "11" + ".".repeat(79) } });
    assert.equal(clash.isError, true);
    assert.match(text(clash), /clashes/);
    const maze = await client.callTool({ name: "solve_maze", arguments: { maze: ["S..", "..."] } });
    assert.equal(maze.isError, true);
    assert.match(text(maze), /^error: /);
    const ragged = await client.callTool({
        name: "solve_arc", arguments: { task: { train: [{ input: [[1, 2], [3]], output: [[1]] }], test: [{ input: [[1]] }] } },
    });
    assert.equal(ragged.isError, true);
    assert.match(text(ragged), /row 1/);
});

await check("tools/list: descriptions state the sizes of the loaded models (read from the model files)", async () => {
    assert.match(tools[0].description, /takes 9x9 Sudoku; at most 16 supervision steps/);
    assert.match(tools[1].description, /mazes up to 11x11 cells/);
    assert.match(tools[2].description, /grids up to 10x10/);
});

// A solve that would run for minutes even with the tiny model: test-time adaptation of an unseen ARC task with
// 2000 steps. Each check cancels it once it has seen what it needs, so nothing waits on a timing.
function longSolve(args = { adapt_steps: 2000 }) {
    const ac = new AbortController(), progress = [], waiters = [];
    let done = false;
    const promise = client.callTool({ name: "solve_arc", arguments: { task: ARC_TASK, num_aug: 2, ...args } },
                                    undefined, {
        signal: ac.signal, timeout: 600000,
        onprogress: p => { progress.push(p); while (waiters.length && waiters[0].n <= progress.length) waiters.shift().resolve(); },
    }).finally(() => { done = true; });
    promise.catch(() => {});
    return {
        progress, isDone: () => done, promise,
        // resolves once n progress notifications arrived (the first one says the request is running)
        progressCount: n => n <= progress.length ? Promise.resolve() : new Promise(resolve => waiters.push({ n, resolve })),
        cancel: reason => ac.abort(reason),
    };
}

await check("a ping sent while a long solve runs is answered first", async () => {
    const long = longSolve();
    await long.progressCount(1);
    assert.deepEqual(await client.ping(), {});
    assert.equal(long.isDone(), false, "the ping was answered only after the solve finished");
    const v = await client.callTool({ name: "verify", arguments: { domain: "sudoku", puzzle: PUZZLE, answer: SOLUTION } });
    assert.equal(v.structuredContent.verified, true);
    assert.equal(long.isDone(), false, "verify was answered only after the solve finished");
    long.cancel("e2e: done with it");
    await assert.rejects(long.promise);
});

await check("progress notifications arrive for a request with a progress token", async () => {
    const long = longSolve();
    await long.progressCount(3);
    long.cancel("e2e: done with it");
    await assert.rejects(long.promise);
    const seen = long.progress;
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].progress > seen[i - 1].progress, "progress grows");
    assert.ok(seen.every(p => p.total > p.progress), JSON.stringify(seen));
    assert.match(seen[0].message, /^test-time adaptation: step \d+ of 2000$/);
    // no adaptation, 64 copies x 256 steps: the supervision steps are reported
    const solving = longSolve({ adapt_steps: 0, num_aug: 64, max_steps: 256, halt: "never" });
    await solving.progressCount(1);
    solving.cancel("e2e: done with it");
    await assert.rejects(solving.promise);
    assert.match(solving.progress[0].message, /^solving: supervision step 1 of at most 256$/);
});

await check("a cancelled request is stopped, gets no result (the SDK would report a stray one) and the next request works", async () => {
    const long = longSolve();
    await long.progressCount(1);
    long.cancel("e2e: cancelled on purpose");
    await assert.rejects(long.promise);
    const r = await client.callTool({ name: "solve_sudoku", arguments: { puzzle: PUZZLE } });
    assert.equal(r.isError, false, text(r));
    // this request's own log lines, by its id: the earlier checks' cancellations may still land at any time
    const mine = () => s.stderr().match(/id (\d+): cancelled by the client \(e2e: cancelled on purpose\)/);
    const ended = id => new RegExp(`id ${id} tools/call solve_arc: cancelled, no reply`).test(s.stderr());
    for (let i = 0; i < 100 && !(mine() && ended(mine()[1])); i++) await new Promise(r => setTimeout(r, 100));
    const m = mine();
    assert.ok(m, s.stderr());
    assert.ok(ended(m[1]), s.stderr());
    assert.doesNotMatch(s.stderr(), new RegExp(`id ${m[1]} tools/call solve_arc: ok`));
});

await check("ten concurrent solve_sudoku calls all finish, each with the answer a lone call gives", async () => {
    const one = await client.callTool({ name: "solve_sudoku", arguments: { puzzle: PUZZLE, halt: "never" } });
    const all = await Promise.all(Array.from({ length: 10 }, () =>
        client.callTool({ name: "solve_sudoku", arguments: { puzzle: PUZZLE, halt: "never" } })));
    for (const r of all) {
        assert.equal(r.isError, false, text(r));
        assert.equal(r.structuredContent.answer, one.structuredContent.answer);
        assert.equal(r.structuredContent.steps, one.structuredContent.steps);
    }
});

// The maze of issue 23: `trm solve` stops at the first verified draft (step 1); MCP used to answer "#GoG#".
const SG_MAZE = ["#####", "#S.G#", "#####"];
await check("solve_maze answers '#S.G#' like `trm solve` (halt auto: verified, one step; shipped maze model)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trm-e2e-maze-"));
    try {
        copyFileSync(shippedMaze, join(dir, "maze-small.safetensors"));
        copyFileSync(shippedAnyMaze, join(dir, "maze.safetensors"));
        const out = execFileSync(trm, ["solve", "maze", "-m", shippedMaze, "--format", "json"],
                                 { input: SG_MAZE.join("\n") + "\n" });
        const cli = out.toString().trim().split("\n").map(l => JSON.parse(l)).find(m => m.type === "result");
        const e = await connect(dir);
        const r = await e.client.callTool({ name: "solve_maze", arguments: { maze: SG_MAZE } });
        await e.client.close();
        assert.equal(r.isError, false, text(r));
        const sc = r.structuredContent;
        assert.deepEqual(sc.answer, cli.answer);
        assert.equal(sc.verified, cli.verified);
        assert.equal(sc.steps, cli.steps);
        assert.equal(sc.halt, "verified");
        assert.equal(sc.verified, true, text(r));
        assert.equal(sc.steps, 1);
        assert.deepEqual(sc.answer, ["#####", "#SoG#", "#####"]);
        assert.equal(sc.model, join(dir, "maze-small.safetensors"));  // the 9x9 model takes it: the one picked
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});

// A maze the 9x9 model does not take goes to the kind's any-size model in the same directory.
await check("solve_maze picks maze.safetensors for a 12x12 maze, maze-small.safetensors for a small one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trm-e2e-maze-"));
    try {
        copyFileSync(shippedMaze, join(dir, "maze-small.safetensors"));
        copyFileSync(shippedAnyMaze, join(dir, "maze.safetensors"));
        const big = execFileSync(trm, ["generate", "maze", "--size", "12", "--count", "1", "--seed", "3"])
            .toString().split("\n").filter(l => l.startsWith("#") || l.startsWith("."));
        assert.equal(big.length, 12, big.join("\n"));
        const e = await connect(dir);
        const r = await e.client.callTool({ name: "solve_maze", arguments: { maze: big, views: 1 } });
        const small = await e.client.callTool({ name: "solve_maze", arguments: { maze: SG_MAZE } });
        await e.client.close();
        assert.equal(r.isError, false, text(r));
        assert.equal(r.structuredContent.model, join(dir, "maze.safetensors"));
        assert.equal(r.structuredContent.answer.length, 12);
        assert.equal(small.structuredContent.model, join(dir, "maze-small.safetensors"));
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});

await check("the server logs to stderr only and the SDK saw no transport error", async () => {
    // The SDK handles notifications in a microtask but replies at once, and forgets a request's progress handler
    // when it cancels it: a progress notification that was on its way then is reported as for an unknown token
    // (allowed by the specification's cancellation races). Anything else, e.g. a reply to a cancelled request
    // ("unknown message ID"), fails.
    const unexpected = s.errors.map(String).filter(e => !/progress notification for an unknown token/.test(e));
    assert.deepEqual(unexpected, []);
    assert.match(s.stderr(), /loaded the sudoku model/);
});

await check("close: the server exits 0 on end of input", async () => {
    const proc = s.transport._process;
    await client.close();
    if (proc.exitCode === null) await new Promise(resolve => proc.once("exit", resolve));
    assert.equal(proc.exitCode, 0);
});

await check("a missing model is a tool error with a hint", async () => {
    const e = await connect(emptyDir);
    const r = await e.client.callTool({ name: "solve_sudoku", arguments: { puzzle: PUZZLE } });
    assert.equal(r.isError, true);
    assert.match(text(r), /no sudoku model in/);
    assert.match(text(r), /hint: train one with `trm train sudoku/);
    const v = await e.client.callTool({ name: "verify", arguments: { domain: "sudoku", puzzle: PUZZLE, answer: SOLUTION } });
    assert.equal(v.structuredContent.verified, true);
    await e.client.close();
});

// ---- part 2: raw bytes ----------------------------------------------------------------------------------------
// A server spawned directly; lines() yields its stdout one parsed JSON message at a time.
function rawServer() {
    const child = spawn(trm, ["mcp", "--model-dir", modelDir], { stdio: ["pipe", "pipe", "pipe"] });
    let buf = "", stderr = "";
    const messages = [], waiters = [];
    child.stderr.on("data", d => { stderr += d; });
    child.stdin.on("error", () => {});  // EPIPE once the server is gone: its exit status tells
    child.stdout.on("data", d => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            const msg = JSON.parse(line);  // throws (and fails the check) if stdout carries anything else
            if (waiters.length) waiters.shift()(msg);
            else messages.push(msg);
        }
    });
    const exited = new Promise(resolve => child.on("exit", (code, signal) => resolve({ code, signal })));
    return {
        child, exited, stderr: () => stderr,
        send: data => child.stdin.write(typeof data === "string" ? data + "\n" : data),
        next: () => messages.length ? Promise.resolve(messages.shift()) : new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error("no reply within 20 s")), 20000);
            waiters.push(m => { clearTimeout(t); resolve(m); });
        }),
    };
}

const req = (id, method, params) => JSON.stringify({ jsonrpc: "2.0", id, method, ...(params ? { params } : {}) });

await check("raw: garbage, invalid UTF-8, oversized and deep messages get errors; the server keeps answering", async () => {
    const r = rawServer();
    r.send("this is not json");
    let m = await r.next();
    assert.equal(m.error.code, -32700);
    assert.equal(m.id, null);
    r.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d, 0x0a]));  // {"\xff\xfe":1}
    m = await r.next();
    assert.equal(m.error.code, -32700);
    r.send(JSON.stringify({ jsonrpc: "2.0", id: 1 }));
    assert.equal((await r.next()).error.code, -32600);
    r.send(req(2, "no/such/method"));
    m = await r.next();
    assert.equal(m.id, 2);
    assert.equal(m.error.code, -32601);
    r.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));  // no reply
    r.send(req(3, "tools/call", { name: "solve_sudoku", arguments: { puzzle: 42 } }));
    m = await r.next();
    assert.equal(m.id, 3);
    assert.equal(m.error.code, -32602);
    r.send("[".repeat(100000));
    assert.equal((await r.next()).error.code, -32700);
    r.send(JSON.stringify({ jsonrpc: "2.0", id: 4, method: "ping", params: { pad: "x".repeat(17 << 20) } }));
    m = await r.next();
    assert.equal(m.error.code, -32600);
    assert.match(m.error.message, /longer than/);
    r.send(req(5, "initialize", { protocolVersion: "1999-01-01", capabilities: {}, clientInfo: { name: "raw", version: "0" } }));
    m = await r.next();
    assert.equal(m.id, 5);
    assert.equal(m.result.protocolVersion, "2025-06-18");
    r.send(req(6, "initialize", { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "raw", version: "0" } }));
    assert.equal((await r.next()).result.protocolVersion, "2025-03-26");
    r.send(req(7, "tools/call", { name: "solve_sudoku", arguments: { puzzle: PUZZLE } }));
    m = await r.next();
    assert.equal(m.id, 7);
    assert.match(m.result.structuredContent.answer, /^[1-9.]{81}$/);
    r.child.stdin.end();
    const { code, signal } = await r.exited;
    assert.equal(signal, null);
    assert.equal(code, 0);
    assert.match(r.stderr(), /end of input/);
});

await check("raw: a client that stops reading (EPIPE) ends the server cleanly", async () => {
    const r = rawServer();
    r.child.stdout.destroy();
    r.send(req(1, "tools/call", { name: "solve_sudoku", arguments: { puzzle: PUZZLE } }));
    r.send(req(2, "ping"));
    r.child.stdin.end();
    const { code, signal } = await r.exited;
    assert.equal(signal, null, `killed by ${signal}`);
    assert.equal(code, 0, r.stderr());
    assert.match(r.stderr(), /stopped reading/);
});

console.log(failures ? `${failures} check(s) FAILED` : "all checks passed");
process.exit(failures ? 1 : 0);
