// `trm mcp` without stdio: JSON-RPC/MCP handling, argument schemas, line framing, the fd loop (including a
// reader that goes away) and the tools with zero-weight models. tests/e2e_mcp.sh drives the real binary with the
// official TypeScript SDK client.
//
// Tests link the libraries, not cli/, so the cli units under test are compiled into this file (as llm.c's
// test_gpt2.c includes train_gpt2.c).
#include "cli/mcp_protocol.cpp"
#include "cli/mcp_tools.cpp"
#include "cli/models.cpp"

#include <csignal>
#include <doctest/doctest.h>

#include "tests/test_util.hpp"
#include <fcntl.h>
#include <fstream>
#include <set>
#include <thread>

#include "core/model_io.hpp"
#include "puzzles/maze.hpp"
#include "puzzles/present.hpp"
#include "puzzles/sudoku.hpp"

using namespace trm;
using namespace trm::mcp;

namespace {

const char* kPuzzle = "6..21345.7.168.92.2.5.9......6......8...29.61.1.7..2......56.49.679.2.35.5....61.";
const char* kSolution = "698213457741685923235497186926831574874529361513764298382156749167942835459378612";
const std::vector<std::string> kMaze{"...#.......", ".#.###G#.##", ".#...#.#...", ".###.#####.",
                                     ".#...#...#.", ".###.#.#.#.", ".....#.#.#.", "##.#.#.#.#.",
                                     "..S#.#.#.#.", "##.#.#.#.#.", ".......#..."};

json request(int id, const std::string& method, json params = json::object()) {
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

json reply_to(Server& s, const json& msg) {
    std::string line = s.handle_line(dump_line(msg));
    REQUIRE(!line.empty());
    return json::parse(line);
}

int error_code(const json& reply) {
    REQUIRE(reply.contains("error"));
    return reply["error"]["code"].get<int>();
}

json call(Server& s, const std::string& tool, json args) {
    return reply_to(s, request(7, "tools/call", json{{"name", tool}, {"arguments", std::move(args)}}));
}

// A tool that echoes its arguments, to test dispatch without trm's tools.
Tool echo_tool() {
    return Tool{"echo", "Echo", "returns its text",
                json{{"type", "object"},
                     {"properties", {{"text", {{"type", "string"}}}, {"n", {{"type", "integer"}, {"minimum", 1}}}}},
                     {"required", {"text"}},
                     {"additionalProperties", false}},
                json(), json(),
                [](const json& a, ToolContext&) {
                    if (a["text"] == "fail") fail("echo: asked to fail");
                    if (a["text"] == "throw") throw std::runtime_error("boom");
                    return ToolResult{a["text"].get<std::string>(), json{{"text", a["text"]}}, false};
                }};
}

std::string temp_dir(const std::string& tag) {
    auto d = fs::temp_directory_path() / fmt::format("trm_test_mcp_{}_{}", tag, getpid());
    fs::remove_all(d);
    fs::create_directories(d);
    return d.string();
}

// A zero-weight model (every answer blank, q_halt 0 so it never halts on its own) saved as <dir>/<domain>.safetensors.
void save_zero_model(const std::string& dir, const std::string& domain, int seq_len, int vocab) {
    save_model(dir + "/" + domain + ".safetensors", trm::test::zero_model(seq_len, vocab, domain, 3));
}

std::string maze_answer_text() {
    Maze m = parse_one_maze(text_arg(json(kMaze), "maze"), "maze");
    std::vector<char> a = maze_solve(m);
    REQUIRE(a.size() == size_t(m.rows * m.cols));
    std::string s;
    for (int r = 0; r < m.rows; r++) s += std::string(a.begin() + r * m.cols, a.begin() + (r + 1) * m.cols) + "\n";
    return s;
}

}  // namespace

TEST_CASE("protocol version negotiation answers a supported version, else the newest") {
    CHECK(negotiate_protocol_version("2025-06-18") == "2025-06-18");
    CHECK(negotiate_protocol_version("2025-03-26") == "2025-03-26");
    CHECK(negotiate_protocol_version("2024-11-05") == "2024-11-05");
    CHECK(negotiate_protocol_version("2025-11-25") == "2025-06-18");
    CHECK(negotiate_protocol_version(20250618) == "2025-06-18");
}

TEST_CASE("initialize, ping, tools/list and notifications") {
    Server s(ServerInfo{"trm", "1.2.3", "", "use the tools"}, {echo_tool()});
    json r = reply_to(s, request(1, "initialize", {{"protocolVersion", "2024-11-05"}, {"capabilities", json::object()},
                                                   {"clientInfo", {{"name", "t"}, {"version", "0"}}}}));
    CHECK(r["jsonrpc"] == "2.0");
    CHECK(r["id"] == 1);
    CHECK(r["result"]["protocolVersion"] == "2024-11-05");
    CHECK(r["result"]["serverInfo"]["name"] == "trm");
    CHECK(r["result"]["serverInfo"]["version"] == "1.2.3");
    CHECK(r["result"]["capabilities"]["tools"].is_object());
    CHECK(r["result"]["instructions"] == "use the tools");
    CHECK(s.protocol_version() == "2024-11-05");

    CHECK(error_code(reply_to(s, request(2, "initialize", {{"capabilities", json::object()}}))) == kInvalidParams);
    CHECK(s.handle_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})").empty());
    CHECK(s.handle_line(R"({"jsonrpc":"2.0","method":"no/such/notification"})").empty());
    CHECK(s.handle_line(R"({"jsonrpc":"2.0","id":5,"result":{}})").empty());  // a response: never answered
    CHECK(s.handle_line("").empty());
    CHECK(s.handle_line(" \r").empty());

    json p = reply_to(s, request(3, "ping"));
    CHECK(p["result"] == json::object());
    json ps = reply_to(s, json{{"jsonrpc", "2.0"}, {"id", "str-id"}, {"method", "ping"}});
    CHECK(ps["id"] == "str-id");

    json l = reply_to(s, request(4, "tools/list"));
    REQUIRE(l["result"]["tools"].size() == 1);
    CHECK(l["result"]["tools"][0]["name"] == "echo");
    CHECK(l["result"]["tools"][0]["inputSchema"]["type"] == "object");
    CHECK_FALSE(l["result"]["tools"][0].contains("outputSchema"));
}

TEST_CASE("JSON-RPC errors: parse, invalid request, method not found, invalid params") {
    Server s(ServerInfo{"trm", "0", "", ""}, {echo_tool()});
    auto check_error = [&](const std::string& line, int code, bool null_id) {
        CAPTURE(line);
        std::string out = s.handle_line(line);
        REQUIRE(!out.empty());
        json r = json::parse(out);
        CHECK(error_code(r) == code);
        CHECK(r["error"]["message"].is_string());
        if (null_id) CHECK(r["id"].is_null());
    };
    check_error("not json", kParseError, true);
    check_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"", kParseError, true);
    check_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xff\"}", kParseError, true);  // invalid UTF-8
    check_error(std::string(1000, '[') + std::string(1000, ']'), kParseError, true);
    check_error("42", kInvalidRequest, true);
    check_error(R"({"jsonrpc":"1.0","id":1,"method":"ping"})", kInvalidRequest, false);
    check_error(R"({"id":1,"method":"ping"})", kInvalidRequest, false);
    check_error(R"({"jsonrpc":"2.0","id":1,"method":7})", kInvalidRequest, false);
    check_error(R"({"jsonrpc":"2.0","id":null,"method":"ping"})", kInvalidRequest, true);
    check_error(R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})", kInvalidRequest, true);
    check_error(R"({"jsonrpc":"2.0","id":1})", kInvalidRequest, false);
    check_error("[]", kInvalidRequest, true);
    check_error(R"({"jsonrpc":"2.0","id":1,"method":"resources/list"})", kMethodNotFound, false);
    check_error(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":[1]})", kInvalidParams, false);
    check_error(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}})", kInvalidParams, false);
    check_error(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}})", kInvalidParams, false);
    check_error(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":[]}})",
                kInvalidParams, false);
    check_error(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}})",
                kInvalidParams, false);
    check_error(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a","n":0}}})",
                kInvalidParams, false);
    // the server still answers after all that
    CHECK(reply_to(s, request(9, "ping"))["result"] == json::object());
}

TEST_CASE("batches are answered with an array, notifications left out") {
    Server s(ServerInfo{"trm", "0", "", ""}, {echo_tool()});
    json batch = json::array({request(1, "ping"), json{{"jsonrpc", "2.0"}, {"method", "notifications/x"}},
                              request(2, "nope")});
    json r = reply_to(s, batch);
    REQUIRE(r.is_array());
    REQUIRE(r.size() == 2);
    CHECK(r[0]["id"] == 1);
    CHECK(error_code(r[1]) == kMethodNotFound);
    CHECK(s.handle_line(R"([{"jsonrpc":"2.0","method":"notifications/initialized"}])").empty());
}

TEST_CASE("tool results and tool failures") {
    Server s(ServerInfo{"trm", "0", "", ""}, {echo_tool()});
    json ok = call(s, "echo", {{"text", "hi"}});
    CHECK(ok["result"]["isError"] == false);
    CHECK(ok["result"]["content"][0]["type"] == "text");
    CHECK(ok["result"]["content"][0]["text"] == "hi");
    CHECK(ok["result"]["structuredContent"]["text"] == "hi");
    json bad = call(s, "echo", {{"text", "fail"}});
    CHECK(bad["result"]["isError"] == true);
    CHECK(bad["result"]["content"][0]["text"] == "error: echo: asked to fail");
    CHECK_FALSE(bad["result"].contains("structuredContent"));
    json thrown = call(s, "echo", {{"text", "throw"}});
    CHECK(thrown["result"]["isError"] == true);
    CHECK(thrown["result"]["content"][0]["text"] == "error: boom");
}

TEST_CASE("schema_violation checks the subset of JSON Schema the tools use") {
    json schema{{"type", "object"},
                {"properties",
                 {{"s", {{"type", "string"}, {"minLength", 2}, {"maxLength", 3}}},
                  {"i", {{"type", "integer"}, {"minimum", 1}, {"maximum", 5}}},
                  {"e", {{"type", "string"}, {"enum", {"a", "b"}}}},
                  {"g", {{"type", "array"}, {"minItems", 1}, {"items", {{"type", "array"}, {"items", {{"type", "integer"}}}}}}},
                  {"u", {{"anyOf", {{{"type", "string"}}, {{"type", "array"}, {"items", {{"type", "string"}}}}}}}}}},
                {"required", {"s"}},
                {"additionalProperties", false}};
    CHECK(schema_violation(schema, {{"s", "ab"}}) == "");
    CHECK(schema_violation(schema, {{"s", "ab"}, {"i", 3}, {"e", "b"}, {"g", {{1, 2}}}, {"u", {"x"}}}) == "");
    CHECK(schema_violation(schema, {{"s", "ab"}, {"i", 3.0}}) == "");  // 3.0 is an integer in JSON Schema
    CHECK(schema_violation(schema, {{"s", "\xc3\xa9\xc3\xa9"}}) == "");  // two code points
    CHECK(schema_violation(schema, json::object()) == "arguments.s: required property missing");
    CHECK(schema_violation(schema, {{"s", 1}}) == "arguments.s: expected string, got integer");
    CHECK(schema_violation(schema, {{"s", "a"}}) == "arguments.s: string of 1 characters, at least 2 expected");
    CHECK(schema_violation(schema, {{"s", "abcd"}}) == "arguments.s: string of 4 characters, at most 3 allowed");
    CHECK(schema_violation(schema, {{"s", "ab"}, {"i", 2.5}}) == "arguments.i: expected integer, got number");
    CHECK(schema_violation(schema, {{"s", "ab"}, {"i", 6}}) == "arguments.i: 6 is above the maximum 5");
    CHECK(schema_violation(schema, {{"s", "ab"}, {"e", "c"}}) == "arguments.e: \"c\" is not one of \"a\", \"b\"");
    CHECK(schema_violation(schema, {{"s", "ab"}, {"g", json::array()}}) == "arguments.g: 0 items, at least 1 expected");
    CHECK(schema_violation(schema, {{"s", "ab"}, {"g", {{1, "x"}}}}) == "arguments.g[0][1]: expected integer, got string");
    CHECK(schema_violation(schema, {{"s", "ab"}, {"u", 3}}) ==
          "arguments.u: expected string, got integer; or arguments.u: expected array, got integer");
    CHECK(schema_violation(schema, {{"s", "ab"}, {"zz", 1}}) == "arguments: unknown property 'zz' (known: s, i, e, g, u)");
}

TEST_CASE("json_too_deep counts brackets outside strings") {
    CHECK_FALSE(json_too_deep("[[[]]]", 3));
    CHECK(json_too_deep("[[[[]]]]", 3));
    CHECK_FALSE(json_too_deep(R"({"a":"[[[[[[[[\"[[[["})", 1));
    CHECK(json_too_deep(R"({"a":"\\",[[[]]]})", 3));
}

TEST_CASE("LineSplitter: chunk boundaries, CRLF, oversized lines, last line without newline") {
    LineSplitter ls(8);
    std::vector<std::string> lines;
    int oversized = 0;
    auto on_line = [&](std::string_view l) { lines.emplace_back(l); };
    auto on_big = [&] { oversized++; };
    ls.feed("ab", on_line, on_big);
    ls.feed("c\r\nde\n\nfg", on_line, on_big);
    ls.feed("0123456789", on_line, on_big);  // "fg0123456789" passes 8 bytes: reported once, skipped
    ls.feed("more junk\nok\n12345678\n", on_line, on_big);
    ls.feed("tail", on_line, on_big);
    ls.finish(on_line);
    CHECK(oversized == 1);
    CHECK(lines == std::vector<std::string>{"abc", "de", "", "ok", "12345678", "tail"});
}

TEST_CASE("serve: reads lines from a descriptor, answers each, survives garbage and oversized lines") {
    const std::string dir = temp_dir("serve");
    const std::string in_path = dir + "/in.txt", out_path = dir + "/out.txt";
    {
        std::ofstream f(in_path, std::ios::binary);
        f << dump_line(request(1, "ping")) << "\n"
          << "garbage\r\n"
          << std::string(300, 'x') << "\n"
          << R"({"jsonrpc":"2.0","method":"notifications/initialized"})" << "\n"
          << dump_line(request(2, "ping"));  // no final newline
    }
    Server s(ServerInfo{"trm", "0", "", ""}, {echo_tool()});
    int in = open(in_path.c_str(), O_RDONLY), out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(in >= 0);
    REQUIRE(out >= 0);
    CHECK(serve(s, in, out, ServeOptions{256}) == ServeEnd::InputClosed);
    close(in);
    close(out);
    std::ifstream f(out_path);
    std::vector<json> replies;
    for (std::string l; std::getline(f, l);) replies.push_back(json::parse(l));
    REQUIRE(replies.size() == 4);
    CHECK(replies[0]["id"] == 1);
    CHECK(error_code(replies[1]) == kParseError);
    CHECK(error_code(replies[2]) == kInvalidRequest);
    CHECK(replies[3]["id"] == 2);
    fs::remove_all(dir);
}

TEST_CASE("serve: a reader that goes away ends the loop (EPIPE), not the process") {
    std::signal(SIGPIPE, SIG_IGN);
    int to_server[2], from_server[2];
    REQUIRE(pipe(to_server) == 0);
    REQUIRE(pipe(from_server) == 0);
    close(from_server[0]);  // nobody reads the replies
    const std::string line = dump_line(request(1, "ping")) + "\n";
    REQUIRE(write(to_server[1], line.data(), line.size()) == ssize_t(line.size()));
    Server s(ServerInfo{"trm", "0", "", ""}, {echo_tool()});
    CHECK(serve(s, to_server[0], from_server[1]) == ServeEnd::OutputClosed);
    close(to_server[0]);
    close(to_server[1]);
    close(from_server[1]);
}

TEST_CASE("argument readers: Sudoku answers, mazes, grid text") {
    CHECK(parse_one_sudoku(kPuzzle, "puzzle").cells[0] == 6);
    CHECK_THROWS_WITH_AS(parse_one_sudoku(std::string(kPuzzle) + "\n" + kPuzzle, "puzzle"),
                         "puzzle: holds more than one Sudoku (a second starts at puzzle:2); pass one", Error);
    CHECK_THROWS_WITH_AS(parse_one_sudoku("", "puzzle"), doctest::Contains("no Sudoku found"), Error);
    SudokuGrid g = parse_sudoku_answer(sudoku_to_grid_text(parse_one_sudoku(kSolution, "s").cells), "answer");
    CHECK(sudoku_to_line(g) == kSolution);
    CHECK_THROWS_WITH_AS(parse_sudoku_answer(std::string(kSolution).substr(1), "answer"),
                         "answer: expected 81 cells, found 80", Error);
    CHECK_THROWS_WITH_AS(parse_sudoku_answer("12x", "answer"),
                         "answer: unexpected character 'x' at cell 3 (digits 1-9, '.' or 0 for blanks)", Error);
    CHECK(text_arg(json({"ab", "cd"}), "maze") == "ab\ncd\n");
    CHECK_THROWS_WITH_AS(text_arg(json({"ab", "c\nd"}), "maze"),
                         "maze[1]: holds a line break; pass one row per string", Error);
    Maze m = parse_one_maze(text_arg(json(kMaze), "maze"), "maze");
    CHECK(m.rows == 11);
    CHECK(m.cols == 11);
    CHECK_THROWS_WITH_AS(parse_one_maze("S.G\n\nS.G\n", "maze"), doctest::Contains("more than one maze"), Error);
    std::string problem;
    CHECK(parse_maze_answer("S.G\n", m, &problem).empty());
    CHECK(problem == "answer has 1 rows, the maze 11");
}

TEST_CASE("verify tool: correct and wrong Sudoku and maze answers") {
    Server s(ServerInfo{"trm", "0", "", ""}, make_trm_tools(ToolsOptions{}));
    json ok = call(s, "verify", {{"domain", "sudoku"}, {"puzzle", kPuzzle}, {"answer", kSolution}});
    CHECK(ok["result"]["isError"] == false);
    CHECK(ok["result"]["structuredContent"]["verified"] == true);
    CHECK(ok["result"]["structuredContent"]["check"] == "solved");

    std::string wrong = kSolution;
    std::swap(wrong[0], wrong[1]);  // breaks a given and makes columns clash
    json bad = call(s, "verify", {{"domain", "sudoku"}, {"puzzle", kPuzzle}, {"answer", wrong}});
    CHECK(bad["result"]["isError"] == false);
    CHECK(bad["result"]["structuredContent"]["verified"] == false);
    CHECK(bad["result"]["structuredContent"]["changed_givens"] == 1);
    CHECK(bad["result"]["structuredContent"]["clashes"].size() >= 2);
    CHECK(bad["result"]["content"][0]["text"].get<std::string>().rfind("Sudoku answer NOT verified", 0) == 0);

    const std::string answer = maze_answer_text();
    json mok = call(s, "verify", {{"domain", "maze"}, {"puzzle", kMaze}, {"answer", answer}});
    CHECK(mok["result"]["structuredContent"]["verified"] == true);
    CHECK(mok["result"]["structuredContent"]["verdict"] == "optimal");
    std::string broken = answer;
    broken[broken.find('o')] = '.';
    json mbad = call(s, "verify", {{"domain", "maze"}, {"puzzle", kMaze}, {"answer", broken}});
    CHECK(mbad["result"]["structuredContent"]["verified"] == false);
    CHECK(mbad["result"]["structuredContent"]["verdict"] == "broken");
    json mshape = call(s, "verify", {{"domain", "maze"}, {"puzzle", kMaze}, {"answer", json({"S.G"})}});
    CHECK(mshape["result"]["structuredContent"]["check"] == "broken: answer has 1 rows, the maze 11");

    json unreadable = call(s, "verify", {{"domain", "sudoku"}, {"puzzle", "123"}, {"answer", kSolution}});
    CHECK(unreadable["result"]["isError"] == true);
    CHECK(error_code(call(s, "verify", {{"domain", "arc"}, {"puzzle", "x"}, {"answer", "y"}})) == kInvalidParams);

    json list = reply_to(s, request(1, "tools/list"));
    std::vector<std::string> names;
    for (const auto& t : list["result"]["tools"]) {
        names.push_back(t["name"]);
        CHECK(t["inputSchema"]["type"] == "object");
        CHECK(t["outputSchema"]["type"] == "object");
        CHECK(t["annotations"]["readOnlyHint"] == true);
    }
    CHECK(names == std::vector<std::string>{"solve_sudoku", "solve_maze", "solve_arc", "verify"});
    // structuredContent matches the outputSchema (the SDK client validates it too)
    const json& vschema = list["result"]["tools"][3]["outputSchema"];
    CHECK(schema_violation(vschema, ok["result"]["structuredContent"]) == "");
    CHECK(schema_violation(vschema, mbad["result"]["structuredContent"]) == "");
}

TEST_CASE("solve tools with zero-weight models; a missing model is a tool error with a hint") {
    const std::string dir = temp_dir("models");
    save_zero_model(dir, "sudoku", 81, kSudokuVocab);
    save_zero_model(dir, "maze", 11 * 11, kMazeVocab);
    std::vector<std::string> logs;
    Server s(ServerInfo{"trm", "0", "", ""}, make_trm_tools(ToolsOptions{dir}, [&](const std::string& l) { logs.push_back(l); }));
    json list = reply_to(s, request(1, "tools/list"));

    json r = call(s, "solve_sudoku", {{"puzzle", kPuzzle}});
    REQUIRE(r["result"]["isError"] == false);
    const json& sc = r["result"]["structuredContent"];
    CHECK(schema_violation(list["result"]["tools"][0]["outputSchema"], sc) == "");
    CHECK(sc["answer"].get<std::string>().size() == 81);
    CHECK(sc["verified"] == false);  // a zero model answers blanks
    CHECK(sc["steps"] == kVerifiedMinSteps);  // blanks never verify: halt auto = verified runs at least 16 steps
    CHECK(sc["stopped_by"] == "max_steps");
    CHECK(sc["halt_probability"].get<double>() == doctest::Approx(0.5));
    CHECK(sc["views_used"] == kDefaultViews);  // nothing verifies: every view of the budget is tried
    CHECK(sc["view"] == 1);
    CHECK(sc["views"].size() == size_t(kDefaultViews));
    CHECK(sc["views"][0]["name"] == "as given");
    CHECK(sc["trace"].size() == size_t(kVerifiedMinSteps * kDefaultViews));
    CHECK(sc["trace"][kVerifiedMinSteps]["view"] == 2);
    CHECK_FALSE(sc["trace"][0].contains("draft"));
    CHECK(r["result"]["content"][0]["text"].get<std::string>().find("critique: 81 blank cells -> view 2/64: ") !=
          std::string::npos);
    CHECK(r["result"]["content"][0]["text"].get<std::string>().find("Sudoku NOT solved") == 0);

    json r2 = call(s, "solve_sudoku", {{"puzzle", kPuzzle}, {"max_steps", 1}, {"trace", "drafts"}, {"halt", "never"}});
    CHECK(r2["result"]["structuredContent"]["steps"] == 1);
    json r4 = call(s, "solve_sudoku", {{"puzzle", kPuzzle}, {"views", 2}});
    CHECK(r4["result"]["structuredContent"]["views_used"] == 2);
    CHECK(r4["result"]["structuredContent"]["trace"].size() == size_t(2 * kVerifiedMinSteps));
    json r5 = call(s, "solve_sudoku", {{"puzzle", kPuzzle}, {"halt", "model"}, {"views", 1}});
    CHECK(r5["result"]["structuredContent"]["steps"] == 3);  // q_halt = 0 never halts: the model's halt_max_steps
    CHECK(error_code(call(s, "solve_sudoku", {{"puzzle", kPuzzle}, {"views", 0}})) == kInvalidParams);
    CHECK(r2["result"]["structuredContent"]["trace"][0]["draft"].get<std::string>().size() == 81);
    json r3 = call(s, "solve_sudoku", {{"puzzle", kPuzzle}, {"trace", "off"}});
    CHECK_FALSE(r3["result"]["structuredContent"].contains("trace"));
    // loaded once, kept
    CHECK(std::count_if(logs.begin(), logs.end(), [](auto& l) { return l.find("loaded the sudoku") == 0; }) == 1);

    json m = call(s, "solve_maze", {{"maze", kMaze}, {"max_steps", 2}});
    REQUIRE(m["result"]["isError"] == false);
    CHECK(schema_violation(list["result"]["tools"][1]["outputSchema"], m["result"]["structuredContent"]) == "");
    CHECK(m["result"]["structuredContent"]["answer"].size() == 11);
    CHECK(m["result"]["structuredContent"]["steps"] == 2);
    CHECK(m["result"]["structuredContent"]["views_used"] == kMazeMaxViews);  // mazes have 8 views at most
    CHECK(m["result"]["structuredContent"]["shortest_cells"].get<int>() > 0);

    std::vector<std::string> big(12, std::string(12, '.'));
    big[0][0] = 'S';
    big[11][11] = 'G';
    json too_big = call(s, "solve_maze", {{"maze", big}});
    CHECK(too_big["result"]["isError"] == true);
    CHECK(too_big["result"]["content"][0]["text"].get<std::string>().find("larger than") != std::string::npos);

    json arc = call(s, "solve_arc", {{"task", {{"train", {{{"input", {{1}}}, {"output", {{2}}}}}}, {"test", {{{"input", {{1}}}}}}}}});
    CHECK(arc["result"]["isError"] == true);
    const std::string text = arc["result"]["content"][0]["text"];
    CHECK(text.find("no arc model in " + dir) != std::string::npos);
    CHECK(text.find("hint: train one with `trm train arc") != std::string::npos);
    fs::remove_all(dir);
}

// ---- requests in flight: cancellation, progress, the reader answering while tools run -----------------------

TEST_CASE("ProgressThrottle: the first report, then one per interval, never backwards") {
    using namespace std::chrono_literals;
    ProgressThrottle t(250ms);
    const auto t0 = ProgressThrottle::Clock::time_point{} + 1h;
    CHECK(t.admit(1, 10, t0));
    CHECK_FALSE(t.admit(2, 10, t0 + 100ms));  // too soon
    CHECK_FALSE(t.admit(3, 10, t0 + 249ms));
    CHECK(t.admit(4, 10, t0 + 250ms));
    CHECK_FALSE(t.admit(4, 10, t0 + 900ms));  // progress did not grow
    CHECK_FALSE(t.admit(3, 10, t0 + 900ms));
    CHECK_FALSE(t.admit(9, 10, t0 + 260ms));
    CHECK(t.admit(9, 10, t0 + 500ms));
}

TEST_CASE("InFlight: ids are unique while in flight, cancel marks, end forgets") {
    InFlight f;
    auto a = f.begin(1);
    REQUIRE(a);
    CHECK_FALSE(f.begin(1));       // same id while in flight
    auto b = f.begin("1");         // a string id is another id
    REQUIRE(b);
    CHECK(f.size() == 2);
    CHECK_FALSE(f.cancel(2));      // unknown
    CHECK(f.cancel(1));
    CHECK(a->cancelled);
    CHECK_FALSE(b->cancelled);
    f.end(1);
    CHECK_FALSE(f.cancel(1));      // finished: a late cancel is ignored
    CHECK(f.begin(1));             // and the id may be used again
    f.cancel_all();
    CHECK(b->cancelled);
}

TEST_CASE("ToolContext: progress only with a token, throttled, and cancellation throws") {
    auto st = std::make_shared<RequestState>();
    std::vector<json> sent;
    ToolContext ctx(st, "tok", [&](const json& n) { sent.push_back(n); });
    ctx.progress(1, 16, "step 1 of 16");
    ctx.progress(2, 16, "step 2 of 16");  // within the interval: dropped
    std::this_thread::sleep_for(kProgressInterval);
    ctx.progress(16, 16, "done");         // the last report: the reply says it
    ctx.progress(15, 0, "x");             // total unknown
    REQUIRE(sent.size() == 2);
    CHECK(sent[0]["method"] == "notifications/progress");
    CHECK(sent[0]["params"]["progressToken"] == "tok");
    CHECK(sent[0]["params"]["progress"] == 1);
    CHECK(sent[0]["params"]["total"] == 16);
    CHECK(sent[0]["params"]["message"] == "step 1 of 16");
    CHECK(sent[1]["params"]["progress"] == 15);
    CHECK_FALSE(sent[1]["params"].contains("total"));
    ToolContext silent(st, json(), [&](const json& n) { sent.push_back(n); });
    silent.progress(1, 2, "x");
    CHECK(sent.size() == 2);
    st->cancelled = true;
    CHECK_THROWS_AS(ctx.progress(17, 32, "more"), Cancelled);
    CHECK_THROWS_AS(silent.check_cancelled(), Cancelled);
    CHECK_NOTHROW(ToolContext().check_cancelled());
}

namespace {

// Reads '\n'-terminated lines from a descriptor; "" at end of input.
struct FdLines {
    int fd;
    std::string buf = {};
    std::string next() {
        while (true) {
            if (size_t nl = buf.find('\n'); nl != std::string::npos) {
                std::string l = buf.substr(0, nl);
                buf.erase(0, nl + 1);
                return l;
            }
            char tmp[4096];
            ssize_t n = read(fd, tmp, sizeof tmp);
            if (n <= 0) return "";
            buf.append(tmp, size_t(n));
        }
    }
};

// A tool that runs until cancelled (reporting progress) or until 30 s pass, when it answers "gave up": a server
// that cannot answer while it runs then fails the ordering checks below instead of hanging.
Tool slow_tool(std::atomic<int>& runs) {
    return Tool{"slow", "Slow", "runs until cancelled", json{{"type", "object"}}, json(), json(),
                [&runs](const json&, ToolContext& ctx) {
                    runs++;
                    for (int i = 1; i <= 30000; i++) {
                        ctx.progress(i, 0, fmt::format("tick {}", i));
                        std::this_thread::sleep_for(std::chrono::milliseconds(1));
                    }
                    return ToolResult{"gave up", json(), false};
                }};
}

}  // namespace

TEST_CASE("serve: ping answered while a tool runs; cancelled requests get no reply and free their worker") {
    std::signal(SIGPIPE, SIG_IGN);
    int to_server[2], from_server[2];
    REQUIRE(pipe(to_server) == 0);
    REQUIRE(pipe(from_server) == 0);
    std::atomic<int> runs{0};
    Server s(ServerInfo{"trm", "0", "", ""}, {echo_tool(), slow_tool(runs)});
    ServeOptions opt;
    opt.workers = 1;  // one worker: request 3 can only run once the cancelled request 1 has let go of it
    ServeEnd end = ServeEnd::ReadError;
    std::thread server([&] { end = serve(s, to_server[0], from_server[1], opt); });
    auto send = [&](const json& m) {
        const std::string l = dump_line(m) + "\n";
        REQUIRE(write(to_server[1], l.data(), l.size()) == ssize_t(l.size()));
    };
    FdLines out{from_server[0]};
    std::vector<json> seen;
    auto until_id = [&](const json& id) {
        while (true) {
            const std::string l = out.next();
            REQUIRE(!l.empty());
            seen.push_back(json::parse(l));
            if (seen.back().value("id", json()) == id) return seen.back();
        }
    };

    json slow = request(1, "tools/call", {{"name", "slow"}, {"arguments", json::object()}});
    slow["params"]["_meta"] = {{"progressToken", "tok"}};
    send(slow);
    // request 1 has started once its first progress notification is out (the first report is always sent)
    auto has_progress = [&] {
        return std::any_of(seen.begin(), seen.end(), [](const json& m) { return m.value("method", "") == "notifications/progress"; });
    };
    while (!has_progress()) {
        const std::string l = out.next();
        REQUIRE(!l.empty());
        seen.push_back(json::parse(l));
    }
    send(request(2, "ping"));
    CHECK(until_id(2)["result"] == json::object());  // answered while request 1 runs
    send(request(1, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "dup"}}}}));
    CHECK(error_code(until_id(1)) == kInvalidRequest);  // id 1 is in flight
    send(request(4, "tools/call", {{"name", "slow"}, {"arguments", json::object()}}));  // queued behind 1
    send(json{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 4}}}});
    send(json{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 1}, {"reason", "t"}}}});
    send(json{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 99}}}});
    send(request(3, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "after"}}}}));
    json r3 = until_id(3);
    CHECK(r3["result"]["content"][0]["text"] == "after");
    close(to_server[1]);
    server.join();
    close(from_server[1]);  // the server leaves its descriptors open: end of output for the reads below
    for (std::string l; !(l = out.next()).empty();) seen.push_back(json::parse(l));
    CHECK(end == ServeEnd::InputClosed);
    CHECK(runs == 1);  // request 4 was cancelled before it started
    int progress = 0;
    for (const auto& m : seen) {
        CHECK_FALSE((m.value("id", json()) == 4));
        CHECK_FALSE((m.value("id", json()) == 1 && m.contains("result")));  // no reply for the cancelled request
        if (m.value("method", "") == "notifications/progress") {
            CHECK(m["params"]["progressToken"] == "tok");
            progress++;
        }
    }
    CHECK(progress >= 1);
    CHECK(s.in_flight().size() == 0);
    close(to_server[0]);
    close(from_server[0]);
}

TEST_CASE("serve: requests still running at end of input are answered before serve returns") {
    int to_server[2], from_server[2];
    REQUIRE(pipe(to_server) == 0);
    REQUIRE(pipe(from_server) == 0);
    Server s(ServerInfo{"trm", "0", "", ""}, {echo_tool()});
    std::string in;
    for (int i = 1; i <= 5; i++)
        in += dump_line(request(i, "tools/call", {{"name", "echo"}, {"arguments", {{"text", std::to_string(i)}}}})) + "\n";
    in += "[" + dump_line(request(6, "ping")) + "]\n";  // a batch runs on a worker too
    REQUIRE(write(to_server[1], in.data(), in.size()) == ssize_t(in.size()));
    close(to_server[1]);
    ServeOptions opt;
    opt.workers = 3;
    CHECK(serve(s, to_server[0], from_server[1], opt) == ServeEnd::InputClosed);
    close(from_server[1]);
    FdLines out{from_server[0]};
    std::set<int> ids;
    for (std::string l; !(l = out.next()).empty();) {
        json m = json::parse(l);
        if (m.is_array()) ids.insert(m[0]["id"].get<int>());
        else ids.insert(m["id"].get<int>());
    }
    CHECK(ids == std::set<int>{1, 2, 3, 4, 5, 6});
    close(to_server[0]);
    close(from_server[0]);
}
