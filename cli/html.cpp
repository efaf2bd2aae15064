#include "cli/html.hpp"

#include <nlohmann/json.hpp>

#include "core/file_io.hpp"

namespace trm::cli {

using json = nlohmann::json;

static json grid_json(const DraftGrid& g) {
    return json{{"rows", g.rows}, {"cols", g.cols}, {"cells", g.cells}};
}

static std::string escape_html(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '<') o += "&lt;";
        else if (c == '>') o += "&gt;";
        else if (c == '&') o += "&amp;";
        else o += c;
    }
    return o;
}

// The page's script and style. Data: {"domain", "style" (Domain::grid_style: how cells are drawn),
// "puzzles": [{"title", "input", "answer", "verified", "check",
// "steps", "halt_prob", "trace": [{"step", "cycle", "view", "draft", "halt_prob", "model_halts", "stopped", "verified",
// "check", "changed"}], "extra": [{"title", "grid"}]}]}; a grid is {"rows", "cols", "cells"} (maze cells are
// character codes, ARC cells colours, Sudoku digits with 0 for blank).
constexpr const char* kHead = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trm trace</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}
h1{font-size:1.3em;margin:0 0 .2em}.sub{color:#666;margin-bottom:1em}
.controls{display:flex;gap:.6em;align-items:center;flex-wrap:wrap;margin:.8em 0}
.row{display:flex;gap:2em;align-items:flex-start;flex-wrap:wrap}
.panel h3{font-size:.95em;margin:.2em 0 .4em;color:#444}
.grid{display:grid;gap:1px;background:#999;border:2px solid #333;width:max-content}
.cell{width:var(--c);height:var(--c);display:flex;align-items:center;justify-content:center;font-size:calc(var(--c)*.6);background:#fff;box-sizing:border-box}
.sd .cell.given{font-weight:700}.sd .cell.model{color:#1565c0}.sd .cell.bad{color:#c62828}
.cell.changed{outline:2px solid #ff9800;outline-offset:-2px;background:#fff3c4}
.sd .bl{border-left:2px solid #333}.sd .bt{border-top:2px solid #333}
.mz .cell{font-size:0}.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}
.critique{font-family:ui-monospace,monospace;font-size:.9em;white-space:pre-wrap;max-width:40em}
.bar{height:8px;background:#ddd;width:12em;display:inline-block;vertical-align:middle}
.bar>i{display:block;height:100%;background:#5c6bc0}
</style></head><body>
)HTML";

constexpr const char* kScript = R"HTML(<script>
const D = JSON.parse(document.getElementById('data').textContent);
const PAL = ['#000000','#0074D9','#FF4136','#2ECC40','#FFDC00','#AAAAAA','#F012BE','#FF851B','#7FDBFF','#870C25'];
const MZ = {35:'#333',32:'#fff',83:'#2e7d32',71:'#c62828',111:'#ffb300',63:'#ab47bc'};
const sel = document.getElementById('puzzle'), slider = document.getElementById('step');
let P = 0, timer = null;
D.puzzles.forEach((p, i) => { const o = document.createElement('option'); o.value = i; o.textContent = p.title; sel.appendChild(o); });
function grid(g, input, prev) {
  const el = document.createElement('div');
  const big = Math.max(g.rows, g.cols);
  const c = D.style === 'sudoku' ? 28 : Math.max(8, Math.min(26, Math.floor(420 / Math.max(1, big))));
  el.className = 'grid ' + (D.style === 'sudoku' ? 'sd' : D.style === 'maze' ? 'mz' : 'arc');
  el.style.setProperty('--c', c + 'px');
  el.style.gridTemplateColumns = 'repeat(' + Math.max(1, g.cols) + ', var(--c))';
  if (g.rows * g.cols === 0) { el.textContent = '(empty)'; return el; }
  const same = prev && prev.rows === g.rows && prev.cols === g.cols;
  const bad = D.style === 'sudoku' ? sudokuClashes(g.cells) : null;
  for (let i = 0; i < g.cells.length; i++) {
    const v = g.cells[i], d = document.createElement('div');
    d.className = 'cell';
    if (prev && (!same || prev.cells[i] !== v)) d.classList.add('changed');
    if (D.style === 'sudoku') {
      d.textContent = v ? v : '';
      d.classList.add(input && input.cells[i] ? 'given' : 'model');
      if (bad && bad[i]) d.classList.add('bad');
      const r = Math.floor(i / 9), cc = i % 9;
      if (cc % 3 === 0 && cc) d.classList.add('bl');
      if (r % 3 === 0 && r) d.classList.add('bt');
    } else if (D.style === 'maze') {
      d.style.background = MZ[v] || '#ab47bc';
      if (d.classList.contains('changed')) d.style.outlineColor = '#1e88e5';
    } else {
      d.style.background = PAL[v] || '#fff';
      if (d.classList.contains('changed')) d.style.outline = '2px dashed #fff';
    }
    el.appendChild(d);
  }
  return el;
}
function sudokuClashes(c) {
  const bad = new Array(81).fill(false);
  const units = [];
  for (let k = 0; k < 9; k++) {
    const r = [], col = [], b = [];
    for (let j = 0; j < 9; j++) { r.push(9*k+j); col.push(9*j+k); b.push(9*(3*Math.floor(k/3)+Math.floor(j/3)) + 3*(k%3) + j%3); }
    units.push(r, col, b);
  }
  for (const u of units) { const seen = {}; for (const i of u) if (c[i]) (seen[c[i]] = seen[c[i]] || []).push(i);
    for (const k in seen) if (seen[k].length > 1) seen[k].forEach(i => bad[i] = true); }
  return bad;
}
function panel(title, node) {
  const p = document.createElement('div'); p.className = 'panel';
  const h = document.createElement('h3'); h.textContent = title; p.appendChild(h); p.appendChild(node); return p;
}
function pct(x) { return (100 * x).toFixed(1) + '%'; }
function show() {
  const p = D.puzzles[P], n = p.trace.length, k = +slider.value;
  slider.max = n; document.getElementById('stepno').textContent = k === 0 ? 'input' : ('entry ' + k + ' / ' + n);
  const view = document.getElementById('view'); view.innerHTML = '';
  const row = document.createElement('div'); row.className = 'row';
  const t = k > 0 ? p.trace[k - 1] : null;
  const prev = k > 1 ? p.trace[k - 2].draft : p.input;
  if (!t) row.appendChild(panel('input', grid(p.input, p.input, null)));
  else {
    row.appendChild(panel('draft · ' + (t.view > 1 ? 'view ' + t.view + ' · ' : '') + 'step ' + t.step + (t.cycle >= 0 ? ' · cycle ' + (t.cycle + 1) : ''), grid(t.draft, p.input, prev)));
    const c = document.createElement('div'); c.className = 'critique';
    const next = k < n ? p.trace[k].changed : null;
    c.innerHTML = '<b>DRAFT</b>    ' + t.changed + (t.changed === 1 ? ' cell changed\n' : ' cells changed\n') +
      '<b>CRITIQUE</b> halt <span class="bar"><i style="width:' + pct(t.halt_prob) + '"></i></span> ' + pct(t.halt_prob) +
      (t.model_halts ? ' (model: halt)' : ' (model: continue)') + (t.stopped ? ' → stopped' : '') + '\n' +
      '         <span class="' + (t.verified ? 'ok' : 'bad') + '"></span>\n' +
      '<b>REFINE</b>   ' + (next === null ? (t.stopped ? 'halted here' : 'last entry') : 'next entry changes ' + next + ' cells');
    c.querySelector('span.ok, span.bad').textContent = (t.verified ? '✓ ' : '✗ ') + t.check;
    row.appendChild(panel('critique', c));
  }
  view.appendChild(row);
  const fin = document.createElement('div'); fin.className = 'row'; fin.style.marginTop = '1.5em';
  fin.appendChild(panel('answer (' + p.steps + ' steps, halt ' + pct(p.halt_prob) + ')', grid(p.answer, p.input, null)));
  (p.extra || []).forEach(e => fin.appendChild(panel(e.title, grid(e.grid, p.input, null))));
  const v = document.createElement('div'); v.className = p.verified ? 'ok' : 'bad';
  v.textContent = (p.verified ? '✓ verified: ' : '✗ not verified: ') + p.check;
  fin.appendChild(panel('verdict', v));
  view.appendChild(fin);
}
sel.onchange = () => { P = +sel.value; slider.value = 0; show(); };
slider.oninput = show;
document.getElementById('prev').onclick = () => { slider.value = Math.max(0, +slider.value - 1); show(); };
document.getElementById('next').onclick = () => { slider.value = Math.min(+slider.max, +slider.value + 1); show(); };
document.getElementById('play').onclick = () => {
  if (timer) { clearInterval(timer); timer = null; return; }
  if (+slider.value >= +slider.max) slider.value = 0;
  timer = setInterval(() => { if (+slider.value >= +slider.max) { clearInterval(timer); timer = null; return; }
    slider.value = +slider.value + 1; show(); }, 700);
};
document.addEventListener('keydown', e => { if (e.key === 'ArrowRight') document.getElementById('next').click();
  if (e.key === 'ArrowLeft') document.getElementById('prev').click(); });
slider.max = D.puzzles.length ? D.puzzles[0].trace.length : 0;
slider.value = slider.max;
if (D.puzzles.length) show();
</script></body></html>
)HTML";

std::string trace_html(const Domain& d, const std::string& subtitle, const std::vector<HtmlPuzzle>& puzzles) {
    json data;
    data["domain"] = d.name();
    data["style"] = d.grid_style();
    json list = json::array();
    for (const auto& hp : puzzles) {
        const SolveOutcome& o = hp.outcome;
        json p;
        p["title"] = hp.title;
        p["input"] = grid_json(o.input);
        p["answer"] = grid_json(o.answer);
        p["verified"] = o.verified;
        p["check"] = o.check;
        p["steps"] = o.steps;
        p["halt_prob"] = sigmoid(o.q_halt);
        json tr = json::array();
        for (const auto& t : o.trace)
            tr.push_back({{"step", t.step}, {"cycle", t.cycle}, {"view", t.view}, {"draft", grid_json(t.draft)},
                          {"halt_prob", sigmoid(t.q_halt)}, {"model_halts", t.model_halts}, {"stopped", t.stopped},
                          {"verified", t.verified}, {"check", t.check}, {"changed", t.changed}});
        p["trace"] = std::move(tr);
        json extra = json::array();
        for (const auto& [title, g] : hp.extra) extra.push_back({{"title", title}, {"grid", grid_json(g)}});
        p["extra"] = std::move(extra);
        list.push_back(std::move(p));
    }
    data["puzzles"] = std::move(list);
    // '<' only occurs inside JSON strings, where \u003c is the same character: no "</script>" can appear.
    std::string payload;
    for (char c : data.dump(-1, ' ', false, json::error_handler_t::replace)) {
        if (c == '<') payload += "\\u003c";
        else payload += c;
    }
    std::string page = kHead;
    page += "<h1>trm · " + std::string(d.name()) + " trace</h1>\n<div class=\"sub\">" + escape_html(subtitle) +
            "</div>\n";
    page += "<div class=\"controls\"><select id=\"puzzle\"></select><button id=\"prev\">◀</button>"
            "<input type=\"range\" id=\"step\" min=\"0\" value=\"0\"><button id=\"next\">▶</button>"
            "<button id=\"play\">play</button><span id=\"stepno\"></span></div>\n<div id=\"view\"></div>\n";
    page += "<script type=\"application/json\" id=\"data\">" + payload + "</script>\n";
    page += kScript;
    return page;
}

void write_trace_html(const std::string& path, const Domain& d, const std::string& subtitle,
                      const std::vector<HtmlPuzzle>& puzzles) {
    write_file_atomic(path, trace_html(d, subtitle, puzzles));
}

}  // namespace trm::cli
