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
#pragma once
#include <array>
#include <cstddef>
#include <functional>
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

struct Tool {
    std::string name, title, description;
    json input_schema;   // JSON Schema (type object) of `arguments`; checked with schema_violation before `call`
    json output_schema;  // JSON Schema of structuredContent; null = none
    json annotations;    // MCP ToolAnnotations, e.g. {"readOnlyHint": true}; null = none
    // Runs the tool. trm::Error (message and hint), std::bad_alloc and other std::exception become isError results.
    std::function<ToolResult(const json& arguments)> call;
};

struct ServerInfo {
    std::string name, version, title;
    std::string instructions;  // initialize's `instructions`: how to use the tools ("" = none)
};

using LogFn = std::function<void(const std::string&)>;  // one line, no '\n'; a server never prints itself

class Server {
public:
    Server(ServerInfo info, std::vector<Tool> tools, LogFn log = {});

    // One message line (without its '\n') -> the reply line (without '\n'), or "" when nothing is to be sent.
    // Never throws.
    std::string handle_line(std::string_view line);
    // One parsed message or batch -> the reply, or null when nothing is to be sent. Never throws.
    json handle(const json& message);

    // The version agreed by the last initialize; "" before it.
    const std::string& protocol_version() const { return protocol_version_; }
    const std::vector<Tool>& tools() const { return tools_; }

private:
    json handle_one(const json& message);
    json dispatch(const std::string& method, const json& params);
    json call_tool(const json& params);
    void log(const std::string& line) const;

    ServerInfo info_;
    std::vector<Tool> tools_;
    LogFn log_;
    std::string protocol_version_;
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

// Reads messages from in_fd in bounded chunks and writes each reply line to out_fd, until one of ServeEnd.
// Blocking or non-blocking descriptors both work. Never throws.
ServeEnd serve(Server& server, int in_fd, int out_fd, size_t max_line_bytes = kMaxLineBytes);

}  // namespace trm::mcp
