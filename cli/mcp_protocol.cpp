#include "cli/mcp_protocol.hpp"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <thread>
#include <fmt/format.h>
#include <new>
#include <poll.h>
#include <unistd.h>

#include "core/error.hpp"

namespace trm::mcp {

namespace {

// A protocol error raised while handling one request; becomes its error reply.
struct RpcError {
    int code;
    std::string message;
};

// nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 3: ..." without the bracketed tag.
std::string clean_json_error(const std::string& what) {
    if (!what.empty() && what[0] == '[') {
        size_t end = what.find("] ");
        if (end != std::string::npos) return what.substr(end + 2);
    }
    return what;
}

bool valid_id(const json& id) { return id.is_string() || id.is_number(); }

const char* type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return "null";
        case json::value_t::boolean: return "boolean";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: return "integer";
        case json::value_t::number_float: return "number";
        case json::value_t::string: return "string";
        case json::value_t::array: return "array";
        case json::value_t::object: return "object";
        default: return "value";
    }
}

bool is_integer(const json& v) {
    if (v.is_number_integer()) return true;
    if (!v.is_number_float()) return false;
    double d = v.get<double>();
    return std::isfinite(d) && d == std::floor(d);
}

bool has_type(const json& v, const std::string& t) {
    if (t == "integer") return is_integer(v);
    if (t == "number") return v.is_number();
    if (t == "string") return v.is_string();
    if (t == "boolean") return v.is_boolean();
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "null") return v.is_null();
    return false;
}

size_t code_points(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

std::string short_json(const json& v) {
    std::string s = dump_line(v);
    return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

}  // namespace

std::string negotiate_protocol_version(const json& requested) {
    if (requested.is_string())
        for (const char* v : kProtocolVersions)
            if (requested.get<std::string>() == v) return v;
    return kProtocolVersions[0];
}

json error_reply(const json& id, int code, const std::string& message) {
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

std::string dump_line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool json_too_deep(std::string_view text, int max_depth) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) return true;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return false;
}

std::string schema_violation(const json& schema, const json& v, const std::string& where) {
    if (!schema.is_object()) return "";
    if (auto t = schema.find("type"); t != schema.end()) {
        bool ok = false;
        std::string want;
        if (t->is_string()) {
            ok = has_type(v, t->get<std::string>());
            want = t->get<std::string>();
        } else if (t->is_array()) {
            for (const auto& name : *t) {
                ok = ok || has_type(v, name.get<std::string>());
                want += (want.empty() ? "" : " or ") + name.get<std::string>();
            }
        }
        if (!ok) return fmt::format("{}: expected {}, got {}", where, want, type_name(v));
    }
    if (auto e = schema.find("enum"); e != schema.end()) {
        bool found = false;
        std::string names;
        for (const auto& x : *e) {
            found = found || x == v;
            names += (names.empty() ? "" : ", ") + dump_line(x);
        }
        if (!found) return fmt::format("{}: {} is not one of {}", where, short_json(v), names);
    }
    if (auto a = schema.find("anyOf"); a != schema.end()) {
        std::string problems;
        bool any = false;
        for (const auto& alt : *a) {
            std::string p = schema_violation(alt, v, where);
            if (p.empty()) { any = true; break; }
            problems += (problems.empty() ? "" : "; or ") + p;
        }
        if (!any) return problems;
    }
    if (v.is_number()) {
        const double x = v.get<double>();
        if (auto m = schema.find("minimum"); m != schema.end() && x < m->get<double>())
            return fmt::format("{}: {} is below the minimum {}", where, short_json(v), dump_line(*m));
        if (auto m = schema.find("maximum"); m != schema.end() && x > m->get<double>())
            return fmt::format("{}: {} is above the maximum {}", where, short_json(v), dump_line(*m));
    }
    if (v.is_string()) {
        const size_t n = code_points(v.get_ref<const std::string&>());
        if (auto m = schema.find("minLength"); m != schema.end() && n < m->get<size_t>())
            return fmt::format("{}: string of {} characters, at least {} expected", where, n, m->get<size_t>());
        if (auto m = schema.find("maxLength"); m != schema.end() && n > m->get<size_t>())
            return fmt::format("{}: string of {} characters, at most {} allowed", where, n, m->get<size_t>());
    }
    if (v.is_array()) {
        if (auto m = schema.find("minItems"); m != schema.end() && v.size() < m->get<size_t>())
            return fmt::format("{}: {} items, at least {} expected", where, v.size(), m->get<size_t>());
        if (auto m = schema.find("maxItems"); m != schema.end() && v.size() > m->get<size_t>())
            return fmt::format("{}: {} items, at most {} allowed", where, v.size(), m->get<size_t>());
        if (auto items = schema.find("items"); items != schema.end())
            for (size_t i = 0; i < v.size(); i++)
                if (auto p = schema_violation(*items, v[i], fmt::format("{}[{}]", where, i)); !p.empty()) return p;
    }
    if (v.is_object()) {
        static const json kNone;
        const json& props = schema.contains("properties") ? schema["properties"] : kNone;
        if (auto r = schema.find("required"); r != schema.end())
            for (const auto& name : *r)
                if (!v.contains(name.get<std::string>()))
                    return fmt::format("{}.{}: required property missing", where, name.get<std::string>());
        for (const auto& [key, val] : v.items()) {
            if (props.is_object() && props.contains(key)) {
                if (auto p = schema_violation(props[key], val, where + "." + key); !p.empty()) return p;
            } else if (auto ap = schema.find("additionalProperties"); ap != schema.end() && *ap == false) {
                std::string known;
                if (props.is_object())
                    for (const auto& [k, _] : props.items()) known += (known.empty() ? "" : ", ") + k;
                return fmt::format("{}: unknown property '{}' (known: {})", where, key, known);
            }
        }
    }
    return "";
}

// ---- requests in flight ----------------------------------------------------------------------------------------

bool ProgressThrottle::admit(double progress, double total, Clock::time_point now) {
    (void)total;
    if (sent_ && (progress <= last_ || now - last_time_ < interval_)) return false;
    sent_ = true;
    last_ = progress;
    last_time_ = now;
    return true;
}

std::shared_ptr<RequestState> InFlight::begin(const json& id) {
    std::lock_guard<std::mutex> l(mu_);
    auto [it, added] = map_.try_emplace(dump_line(id));
    if (!added) return nullptr;
    it->second = std::make_shared<RequestState>();
    return it->second;
}

bool InFlight::cancel(const json& id) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = map_.find(dump_line(id));
    if (it == map_.end()) return false;
    it->second->cancelled = true;
    return true;
}

void InFlight::cancel_all() {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [_, st] : map_) st->cancelled = true;
}

void InFlight::end(const json& id) {
    std::lock_guard<std::mutex> l(mu_);
    map_.erase(dump_line(id));
}

size_t InFlight::size() const {
    std::lock_guard<std::mutex> l(mu_);
    return map_.size();
}

void ToolContext::progress(double progress, double total, const std::string& message) {
    check_cancelled();
    if (token_.is_null() || !notify_ || (total > 0 && progress >= total) || !throttle_.admit(progress, total)) return;
    json params{{"progressToken", token_}, {"progress", progress}};
    if (total > 0) params["total"] = total;
    if (!message.empty()) params["message"] = message;
    notify_(json{{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", std::move(params)}});
}

// ---- Server ---------------------------------------------------------------------------------------------------

Server::Server(ServerInfo info, std::vector<Tool> tools, LogFn log)
    : info_(std::move(info)), tools_(std::move(tools)), log_(std::move(log)) {}

void Server::log(const std::string& line) const {
    if (log_) log_(line);
}

std::string Server::protocol_version() const {
    std::lock_guard<std::mutex> l(version_mu_);
    return protocol_version_;
}

std::string Server::handle_line(std::string_view line, const Async* io) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return "";  // blank line: nothing to answer
    try {
        if (json_too_deep(line, kMaxJsonDepth))
            return dump_line(error_reply(nullptr, kParseError,
                                         fmt::format("parse error: JSON nested deeper than {} levels", kMaxJsonDepth)));
        json msg;
        try {
            msg = json::parse(line);
        } catch (const json::exception& e) {
            std::string what = clean_json_error(e.what());
            if (what.rfind("parse error", 0) != 0) what = "parse error: " + what;
            return dump_line(error_reply(nullptr, kParseError, what));
        }
        if (io && msg.is_array() && !msg.empty()) {  // a batch may hold tool calls: all of it on one worker
            io->spawn([this, msg = std::move(msg), send = io->send] {
                json reply = handle(msg);
                if (!reply.is_null()) send(dump_line(reply));
            });
            return "";
        }
        json reply = io ? handle_one(msg, io) : handle(msg);
        return reply.is_null() ? std::string() : dump_line(reply);
    } catch (const std::bad_alloc&) {
        return dump_line(error_reply(nullptr, kInternalError, "out of memory"));
    } catch (...) {
        return dump_line(error_reply(nullptr, kInternalError, "internal error"));
    }
}

json Server::handle(const json& message) {
    if (!message.is_array()) return handle_one(message);
    if (message.empty()) return error_reply(nullptr, kInvalidRequest, "invalid request: empty batch");
    json replies = json::array();
    for (const auto& m : message) {
        json r = handle_one(m);
        if (!r.is_null()) replies.push_back(std::move(r));
    }
    return replies.empty() ? json() : replies;
}

json Server::handle_one(const json& msg, const Async* io) {
    if (!msg.is_object()) return error_reply(nullptr, kInvalidRequest, "invalid request: expected a JSON object");
    const bool has_id = msg.contains("id");
    const json id = has_id && valid_id(msg["id"]) ? msg["id"] : json();
    auto method_it = msg.find("method");
    if (method_it == msg.end()) {
        if (has_id && (msg.contains("result") || msg.contains("error"))) {
            log("ignoring a response: this server sends no requests");
            return nullptr;
        }
        return error_reply(id, kInvalidRequest, "invalid request: no method");
    }
    if (msg.value("jsonrpc", json()) != "2.0")
        return error_reply(id, kInvalidRequest, "invalid request: jsonrpc must be \"2.0\"");
    if (!method_it->is_string()) return error_reply(id, kInvalidRequest, "invalid request: method must be a string");
    if (has_id && !valid_id(msg["id"]))
        return error_reply(nullptr, kInvalidRequest, "invalid request: id must be a string or a number");
    const std::string method = method_it->get<std::string>();
    const json params = msg.value("params", json::object());

    if (!has_id) {  // a notification: act on the ones we know, never answer
        if (method == "notifications/initialized") {
            log("client initialized");
        } else if (method == "notifications/cancelled") {
            const json rid = params.is_object() ? params.value("requestId", json()) : json();
            const std::string reason = params.is_object() && params.value("reason", json()).is_string()
                                           ? " (" + params["reason"].get<std::string>() + ")" : "";
            if (in_flight_.cancel(rid)) log(fmt::format("id {}: cancelled by the client{}", short_json(rid), reason));
            else log(fmt::format("id {}: cancel ignored, no such request in flight", short_json(rid)));
        } else if (method.rfind("notifications/", 0) != 0) log("ignoring notification '" + method + "'");
        return nullptr;
    }
    try {
        if (!params.is_object()) throw RpcError{kInvalidParams, "invalid params: params must be an object"};
        json result = dispatch(id, method, params, io);
        if (result.is_null()) return nullptr;  // handed to a worker: it answers
        return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
    } catch (const RpcError& e) {
        return error_reply(id, e.code, e.message);
    } catch (const std::bad_alloc&) {
        return error_reply(id, kInternalError, "out of memory");
    } catch (const std::exception& e) {
        return error_reply(id, kInternalError, std::string("internal error: ") + e.what());
    }
}

json Server::dispatch(const json& id, const std::string& method, const json& params, const Async* io) {
    if (method == "initialize") {
        auto v = params.find("protocolVersion");
        if (v == params.end() || !v->is_string())
            throw RpcError{kInvalidParams, "invalid params: initialize needs params.protocolVersion (a string)"};
        const std::string version = negotiate_protocol_version(*v);
        {
            std::lock_guard<std::mutex> l(version_mu_);
            protocol_version_ = version;
        }
        std::string client = "unknown client";
        if (auto ci = params.find("clientInfo"); ci != params.end() && ci->is_object())
            client = short_json(ci->value("name", json("?"))) + " " + short_json(ci->value("version", json("?")));
        log(fmt::format("initialize from {}: asked {}, speaking {}", client, short_json(*v), version));
        json server{{"name", info_.name}, {"version", info_.version}};
        if (!info_.title.empty()) server["title"] = info_.title;
        json r{{"protocolVersion", version}, {"capabilities", {{"tools", json::object()}}},
               {"serverInfo", server}};
        if (!info_.instructions.empty()) r["instructions"] = info_.instructions;
        return r;
    }
    if (method == "ping") return json::object();
    if (method == "tools/list") {
        json list = json::array();
        for (const auto& t : tools_) {
            json j{{"name", t.name}};
            if (!t.title.empty()) j["title"] = t.title;
            j["description"] = t.describe ? t.describe() : t.description;
            j["inputSchema"] = t.input_schema;
            if (!t.output_schema.is_null()) j["outputSchema"] = t.output_schema;
            if (!t.annotations.is_null()) j["annotations"] = t.annotations;
            list.push_back(std::move(j));
        }
        return json{{"tools", std::move(list)}};
    }
    if (method == "tools/call") return call_tool(id, params, io);
    throw RpcError{kMethodNotFound, fmt::format("method not found: {}", method)};
}

json Server::call_tool(const json& id, const json& params, const Async* io) {
    auto name_it = params.find("name");
    if (name_it == params.end() || !name_it->is_string())
        throw RpcError{kInvalidParams, "invalid params: tools/call needs params.name (a string)"};
    const std::string name = name_it->get<std::string>();
    const Tool* tool = nullptr;
    std::string names;
    for (const auto& t : tools_) {
        if (t.name == name) tool = &t;
        names += (names.empty() ? "" : ", ") + t.name;
    }
    if (!tool) throw RpcError{kInvalidParams, fmt::format("unknown tool '{}' (tools: {})", name, names)};
    const json args = params.value("arguments", json::object());
    if (!args.is_object()) throw RpcError{kInvalidParams, "invalid params: arguments must be an object"};
    if (auto p = schema_violation(tool->input_schema, args); !p.empty())
        throw RpcError{kInvalidParams, fmt::format("invalid arguments for {}: {}", name, p)};
    if (!io || tool->quick) {
        ToolContext ctx;
        return run_tool(id, *tool, args, ctx);
    }

    // A worker runs it; this thread goes back to reading. The id stays registered until the reply is written, so
    // a notifications/cancelled that comes meanwhile finds it.
    std::shared_ptr<RequestState> state = in_flight_.begin(id);
    if (!state)
        throw RpcError{kInvalidRequest, fmt::format("invalid request: id {} is already used by a request in flight",
                                                    short_json(id))};
    json token;
    if (auto m = params.find("_meta"); m != params.end() && m->is_object())
        if (auto t = m->find("progressToken"); t != m->end() && (t->is_string() || t->is_number_integer()))
            token = *t;
    io->spawn([this, id, tool, args, state, token, send = io->send] {
        ToolContext ctx(state, token, [send](const json& n) { send(dump_line(n)); });
        const auto t0 = std::chrono::steady_clock::now();
        json reply;
        try {
            if (!state->cancelled) reply = json{{"jsonrpc", "2.0"}, {"id", id}, {"result", run_tool(id, *tool, args, ctx)}};
        } catch (const Cancelled&) {
        } catch (const std::bad_alloc&) {
            reply = error_reply(id, kInternalError, "out of memory");
        } catch (...) {
            reply = error_reply(id, kInternalError, "internal error");
        }
        in_flight_.end(id);  // before the reply: a client may reuse the id as soon as it has its answer
        if (reply.is_null() || state->cancelled) {  // MCP: no response to a cancelled request
            log(fmt::format("id {} tools/call {}: cancelled, no reply ({:.2f} s)", short_json(id), tool->name,
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
            return;
        }
        send(dump_line(reply));
    });
    return nullptr;
}

json Server::run_tool(const json& id, const Tool& tool, const json& args, ToolContext& ctx) {
    const std::string& name = tool.name;
    const auto t0 = std::chrono::steady_clock::now();
    ToolResult r;
    try {
        r = tool.call(args, ctx);
    } catch (const Cancelled&) {
        throw;
    } catch (const Error& e) {
        r = ToolResult{fmt::format("error: {}{}", e.what(), e.hint.empty() ? "" : "\nhint: " + e.hint), json(), true};
    } catch (const std::bad_alloc&) {
        r = ToolResult{"error: out of memory", json(), true};
    } catch (const std::exception& e) {
        r = ToolResult{fmt::format("error: {}", e.what()), json(), true};
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string outcome = r.is_error ? r.text : "ok";
    for (char& c : outcome) if (c == '\n') c = ' ';
    log(fmt::format("id {} tools/call {}: {} ({:.2f} s)", short_json(id), name, outcome, s));
    json result{{"content", json::array({json{{"type", "text"}, {"text", r.text}}})}};
    if (!r.structured.is_null()) result["structuredContent"] = std::move(r.structured);
    result["isError"] = r.is_error;
    return result;
}

// ---- framing and the loop -------------------------------------------------------------------------------------

void LineSplitter::feed(std::string_view bytes, const LineFn& on_line, const OversizedFn& on_oversized) {
    while (!bytes.empty()) {
        const size_t nl = bytes.find('\n');
        const std::string_view part = bytes.substr(0, nl);
        if (!skipping_) {
            if (line_.size() + part.size() > max_) {
                skipping_ = true;
                line_.clear();
                line_.shrink_to_fit();
                on_oversized();
            } else if (nl != std::string_view::npos && line_.empty()) {
                std::string_view l = part;  // whole line inside this chunk: no copy
                if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
                on_line(l);
            } else {
                line_.append(part);
                if (nl != std::string_view::npos) {
                    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
                    on_line(line_);
                    line_.clear();
                }
            }
        }
        if (nl == std::string_view::npos) break;
        skipping_ = false;
        bytes.remove_prefix(nl + 1);
    }
}

void LineSplitter::finish(const LineFn& on_line) {
    if (!skipping_ && !line_.empty()) {
        if (line_.back() == '\r') line_.pop_back();
        on_line(line_);
    }
    line_.clear();
    skipping_ = false;
}

namespace {

void wait_for(int fd, short events) {
    pollfd p{fd, events, 0};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {}
}

// Writes all of `s`; false when the reader is gone (EPIPE) or the write fails otherwise.
bool write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) { wait_for(fd, POLLOUT); continue; }
            return false;
        }
        s.remove_prefix(size_t(n));
    }
    return true;
}

// Threads that run jobs in arrival order; finish() runs what is queued, then joins.
class Workers {
public:
    Workers(int n, const std::function<void(const std::function<void()>&)>& scope) {
        for (int i = 0; i < std::max(1, n); i++)
            threads_.emplace_back([this, scope] {
                if (scope) scope([this] { loop(); });
                else loop();
            });
    }
    ~Workers() { finish(); }
    void spawn(std::function<void()> job) {
        {
            std::lock_guard<std::mutex> l(mu_);
            jobs_.push_back(std::move(job));
        }
        cv_.notify_one();
    }
    void finish() {
        {
            std::lock_guard<std::mutex> l(mu_);
            done_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }

private:
    void loop() {
        while (true) {
            std::function<void()> job;
            {
                std::unique_lock<std::mutex> l(mu_);
                cv_.wait(l, [&] { return done_ || !jobs_.empty(); });
                if (jobs_.empty()) return;
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            try { job(); } catch (...) {}  // jobs catch their own errors; never let one end the thread
        }
    }
    std::vector<std::thread> threads_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    bool done_ = false;
};

}  // namespace

ServeEnd serve(Server& server, int in_fd, int out_fd, const ServeOptions& opt) {
    const size_t max_line_bytes = opt.max_line_bytes;
    LineSplitter lines(max_line_bytes);
    // One writer at a time, whole lines: replies and progress come from the reader and every worker.
    std::mutex out_mu;
    std::atomic<bool> out_ok{true};
    auto send = [&](const std::string& line) {
        if (line.empty()) return;
        std::lock_guard<std::mutex> l(out_mu);
        if (out_ok && !write_all(out_fd, line + "\n")) {
            out_ok = false;
            server.in_flight().cancel_all();  // nobody is listening: stop the work
        }
    };
    Workers workers(opt.workers, opt.worker_scope);
    const Server::Async io{[&](std::function<void()> job) { workers.spawn(std::move(job)); }, send};
    auto on_line = [&](std::string_view l) { send(server.handle_line(l, &io)); };
    auto on_oversized = [&] {
        send(dump_line(error_reply(
            nullptr, kInvalidRequest,
            fmt::format("invalid request: message longer than {} bytes, skipped", max_line_bytes))));
    };
    std::vector<char> buf(size_t(1) << 16);
    ServeEnd end = ServeEnd::OutputClosed;
    while (out_ok) {
        ssize_t n = ::read(in_fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) { wait_for(in_fd, POLLIN); continue; }
            end = ServeEnd::ReadError;
            server.in_flight().cancel_all();
            break;
        }
        if (n == 0) {
            lines.finish(on_line);
            end = ServeEnd::InputClosed;
            break;
        }
        try {
            lines.feed(std::string_view(buf.data(), size_t(n)), on_line, on_oversized);
        } catch (...) {  // only bad_alloc can get here (handle_line never throws)
            send(dump_line(error_reply(nullptr, kInternalError, "out of memory")));
        }
    }
    if (!out_ok) server.in_flight().cancel_all();
    workers.finish();  // end of input: what was asked is still answered
    return out_ok ? end : ServeEnd::OutputClosed;
}

}  // namespace trm::mcp
