// The Model Context Protocol (MCP) server core: JSON-RPC 2.0 messages, the MCP lifecycle, tool dispatch with
// argument validation, line framing and the stdio loop. Nothing trm-specific: tools come in as a table
// (cli/mcp_tools.hpp), so this unit is tested without a model or a terminal (tests/test_mcp.cpp).
//
// Transport (MCP "stdio"): one JSON-RPC message per line on stdin, one reply per line on stdout, UTF-8,
// '\n'-terminated ('\r\n' accepted); stdout carries nothing else. Reference: modelcontextprotocol.io/specification
// (2025-06-18: basic/transports, basic/lifecycle, server/tools).
//
//   client                                   trm mcp
//   {"id":1,"method":"initialize",...}   ->  {"id":1,"result":{"protocolVersion":..,"capabilities":{"tools":{}},..}}
//   {"method":"notifications/initialized"}   (notification: never answered)
//   {"id":2,"method":"tools/list"}       ->  {"id":2,"result":{"tools":[{name, title, description, inputSchema,
//                                                                         outputSchema, annotations}, ...]}}
//   {"id":3,"method":"tools/call","params":{"name":..,"arguments":{..}}}
//                                        ->  {"id":3,"result":{"content":[{"type":"text","text":..}],
//                                                              "structuredContent":{..},"isError":false}}
//   {"id":4,"method":"ping"}             ->  {"id":4,"result":{}}
//   end of input                             the loop returns; the process exits 0
//
// Errors are JSON-RPC error objects {"code", "message"}:
//   -32700 parse error: invalid JSON or UTF-8, nesting deeper than kMaxJsonDepth (id null)
//   -32600 invalid request: not an object, jsonrpc != "2.0", id not a string/number, method not a string, a line
//          longer than the line cap (id null unless the request's id could be read)
//   -32601 method not found
//   -32602 invalid params: params not an object, unknown tool, arguments that break the tool's inputSchema,
//          initialize without a protocolVersion string
//   -32603 internal error: a handler threw something unexpected
// A tool that runs and fails (bad puzzle text, missing model) answers a RESULT with isError true and the message
// as text, as MCP asks, so that the calling model can read it and correct itself.
// Notifications (no id) and responses sent to the server are never answered. A JSON array is a JSON-RPC batch
// (allowed up to protocol 2025-03-26) and is answered with an array of the replies, or nothing if none.
//
// Long work (serve): the reader thread answers everything cheap itself (initialize, ping, tools/list, a `quick`
// tool such as verify) and hands every other tools/call to a pool of workers, so it keeps reading while models
// run. Replies go out whole lines under one lock, in the order they finish, not the order requests came.
//   {"method":"notifications/cancelled","params":{"requestId":3}}
//       request 3 stops at its next supervision (or adaptation) step and gets NO reply; a request still queued
//       never starts. An unknown or finished id is ignored.
//   {"id":5,"method":"tools/call","params":{"name":..,"arguments":..,"_meta":{"progressToken":"p"}}}
//       the tool reports {"method":"notifications/progress","params":{"progressToken":"p","progress":3,
//       "total":16,"message":"step 3 of 16"}} at most every kProgressInterval, progress always growing.
// A batch runs whole on one worker and cannot be cancelled.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace trm::mcp {

using json = nlohmann::ordered_json;

constexpr size_t kMaxLineBytes = size_t(16) << 20;  // longer messages are skipped with a -32600 reply
constexpr int kMaxJsonDepth = 64;                    // deeper nesting is refused before parsing (bounded stack)

constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;

// Protocol revisions served, newest first. initialize answers the client's version when it is listed, else
// the newest.
constexpr std::array<const char*, 3> kProtocolVersions{"2025-06-18", "2025-03-26", "2024-11-05"};
std::string negotiate_protocol_version(const json& requested);

// What a tool returns. `text` becomes the one text content item; `structured` (an object, or null for none)
// becomes structuredContent and must match the tool's outputSchema.
struct ToolResult {
    std::string text;
    json structured;
    bool is_error = false;
};

// ---- requests in flight ----------------------------------------------------------------------------------------

constexpr std::chrono::milliseconds kProgressInterval{250};  // notifications/progress at most 4 a second

// Thrown through a tool (and the model code's step callbacks) by ToolContext when the client cancelled the
// request; the server then sends nothing for it. Not a std::exception, so no tool's error handling swallows it.
struct Cancelled {};

// Decides which progress reports become notifications: the first, then at most one per interval; a report that
// does not grow progress is dropped (MCP: "progress MUST increase with each notification").
class ProgressThrottle {
public:
    using Clock = std::chrono::steady_clock;
    explicit ProgressThrottle(Clock::duration interval = kProgressInterval) : interval_(interval) {}
    bool admit(double progress, double total, Clock::time_point now = Clock::now());

private:
    Clock::duration interval_;
    Clock::time_point last_time_{};
    double last_ = 0;
    bool sent_ = false;
};

struct RequestState {
    std::atomic<bool> cancelled{false};
};

// The tools/call requests queued or running, by id (1 and "1" are different ids). Thread-safe.
class InFlight {
public:
    // Registers `id`; null when a request with that id is already in flight (ids must be unique among them).
    std::shared_ptr<RequestState> begin(const json& id);
    bool cancel(const json& id);  // marks the request cancelled; false when no such request is in flight
    void cancel_all();
    void end(const json& id);
    size_t size() const;

private:
    mutable std::mutex mu_;
    std::map<std::string, std::shared_ptr<RequestState>> map_;
};

// What a running tool sees of its request. Default: not cancellable, no progress (direct calls, batches).
class ToolContext {
public:
    using NotifyFn = std::function<void(const json& notification)>;
    ToolContext() = default;
    ToolContext(std::shared_ptr<const RequestState> state, json progress_token, NotifyFn notify)
        : state_(std::move(state)), token_(std::move(progress_token)), notify_(std::move(notify)) {}

    bool cancelled() const { return state_ && state_->cancelled.load(std::memory_order_relaxed); }
    void check_cancelled() const {
        if (cancelled()) throw Cancelled{};
    }
    // Throws Cancelled when cancelled; else, when the request carried _meta.progressToken and the throttle admits
    // it, sends notifications/progress {progressToken, progress, total, message}. The last report (progress >=
    // total) is not sent: the reply follows at once, and the TypeScript SDK handles a notification after a reply
    // in the same read (notifications in a microtask, replies at once), reporting it as for an unknown token.
    void progress(double progress, double total, const std::string& message);

private:
    std::shared_ptr<const RequestState> state_;
    json token_;
    NotifyFn notify_;
    ProgressThrottle throttle_;
};

struct Tool {
    std::string name, title, description;
    json input_schema;   // JSON Schema (type object) of `arguments`; checked with schema_violation before `call`
    json output_schema;  // JSON Schema of structuredContent; null = none
    json annotations;    // MCP ToolAnnotations, e.g. {"readOnlyHint": true}; null = none
    // Runs the tool; long work calls ctx.progress (or ctx.check_cancelled) between steps. trm::Error (message and
    // hint), std::bad_alloc and other std::exception become isError results; Cancelled means no reply.
    std::function<ToolResult(const json& arguments, ToolContext& ctx)> call;
    bool quick = false;  // cheap and model-free: serve answers it on the reader thread instead of a worker
    // Refreshes `description` before tools/list (e.g. from a model file's config); unset = fixed.
    std::function<std::string()> describe = {};
};

struct ServerInfo {
    std::string name, version, title;
    std::string instructions;  // initialize's `instructions`: how to use the tools ("" = none)
};

using LogFn = std::function<void(const std::string&)>;  // one line, no '\n'; a server never prints itself

class Server {
public:
    Server(ServerInfo info, std::vector<Tool> tools, LogFn log = {});

    // How serve() lets a request outlive handle_line: `spawn` runs a job on a worker, `send` writes one line to the
    // client (thread-safe, whole lines).
    struct Async {
        std::function<void(std::function<void()> job)> spawn;
        std::function<void(const std::string& line)> send;
    };

    // One message line (without its '\n') -> the reply line (without '\n'), or "" when nothing is to be sent now.
    // With `io`, a tools/call of a tool that is not quick and a batch are validated here, run by io->spawn and
    // answered through io->send later (or never, when cancelled). Never throws.
    std::string handle_line(std::string_view line, const Async* io = nullptr);
    // One parsed message or batch -> the reply, or null when nothing is to be sent. Never throws.
    json handle(const json& message);

    // The version agreed by the last initialize; "" before it.
    std::string protocol_version() const;
    const std::vector<Tool>& tools() const { return tools_; }
    InFlight& in_flight() { return in_flight_; }

private:
    json handle_one(const json& message, const Async* io = nullptr);
    json dispatch(const json& id, const std::string& method, const json& params, const Async* io);
    json call_tool(const json& id, const json& params, const Async* io);
    // Runs the tool and builds the tools/call result; logs one line. Lets Cancelled through.
    json run_tool(const json& id, const Tool& tool, const json& args, ToolContext& ctx);
    void log(const std::string& line) const;

    ServerInfo info_;
    std::vector<Tool> tools_;
    LogFn log_;
    mutable std::mutex version_mu_;  // initialize may come in a batch, on a worker
    std::string protocol_version_;
    InFlight in_flight_;
};

// {"jsonrpc":"2.0","id":id,"error":{"code":code,"message":message}}
json error_reply(const json& id, int code, const std::string& message);
// Compact one-line JSON; invalid UTF-8 in strings is replaced by U+FFFD rather than thrown.
std::string dump_line(const json& j);

// True when `text` nests arrays/objects deeper than max_depth (strings and escapes honoured). Linear, no stack.
bool json_too_deep(std::string_view text, int max_depth);

// Checks `value` against a JSON Schema (draft 2020-12) subset: type (a name or a list of names), enum, properties,
// required, additionalProperties (boolean), items (one schema), minItems, maxItems, minLength, maxLength (in code
// points), minimum, maximum, anyOf. Other keywords (description, default, title, ...) are ignored. Returns ""
// when it conforms, else the first problem, e.g. "arguments.max_steps: expected integer, got string".
std::string schema_violation(const json& schema, const json& value, const std::string& where = "arguments");

// Splits a byte stream into lines of at most max_bytes (without '\n' and a trailing '\r'). A longer line is
// reported once through on_oversized when it passes the limit and the rest of it, up to its '\n', is skipped.
// Memory: at most max_bytes plus the chunk being fed.
class LineSplitter {
public:
    using LineFn = std::function<void(std::string_view)>;
    using OversizedFn = std::function<void()>;
    explicit LineSplitter(size_t max_bytes = kMaxLineBytes) : max_(max_bytes) {}
    void feed(std::string_view bytes, const LineFn& on_line, const OversizedFn& on_oversized);
    void finish(const LineFn& on_line);  // end of input: the last line when it had no '\n'

private:
    size_t max_;
    std::string line_;
    bool skipping_ = false;
};

enum class ServeEnd {
    InputClosed,   // end of input: the client is done
    OutputClosed,  // the client stopped reading (EPIPE; SIGPIPE must be ignored by the caller)
    ReadError,     // reading the input failed
};

struct ServeOptions {
    size_t max_line_bytes = kMaxLineBytes;
    int workers = 1;                       // threads running tool calls (trm mcp: one per core)
    // Each worker thread runs its loop as worker_scope(loop), so the caller can wrap it (trm mcp: inside
    // core/parallel's ScopedSolo); unset = loop().
    std::function<void(const std::function<void()>& loop)> worker_scope = {};
};

// Reads messages from in_fd in bounded chunks and writes each reply line to out_fd, until one of ServeEnd, while
// `workers` threads run tool calls. At end of input the requests still queued or running are finished and
// answered first; when the client stops reading they are cancelled. Blocking or non-blocking descriptors both
// work. Never throws.
ServeEnd serve(Server& server, int in_fd, int out_fd, const ServeOptions& opt = {});

}  // namespace trm::mcp
