// torch.save() zip checkpoints, read without executing anything (see torch_checkpoint.hpp).
//
// Three layers, each validating its input before the next one trusts it:
//   1. zip:    libzip over the caller's bytes; exactly one <archive>/data.pkl; records read with size caps and
//              CRC checks; <archive>/byteorder (torch 2.x) must say "little".
//   2. pickle: a restricted interpreter (Unpickler below). Objects live in one arena and refer to each other by
//              index, so nothing recurses and hostile nesting or cycles cannot overflow the C++ stack.
//   3. tensors: each dict entry's (storage, offset, size, stride) is checked against the storage's element count
//              and record size, then gathered into a contiguous row-major copy.
//
// What torch.save(model.state_dict()) pickles (protocol 2; `pickletools.dis` of the official fixtures):
//   collections.OrderedDict() then SETITEMS of
//     name -> torch._utils._rebuild_tensor_v2(
//               persistent_load(('storage', torch.FloatStorage, '<key>', 'cpu', numel)),  -> <archive>/data/<key>
//               storage_offset, (size...), (stride...), requires_grad, OrderedDict())      [, metadata] (torch 2.x)
//   then BUILD {'_metadata': OrderedDict(module -> {'version': 1})}, which is ignored.
#include "core/torch_checkpoint.hpp"

#include <zip.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace trm {

namespace {

// Limits, far above any state_dict (a TRM data.pkl is ~3 KB, 15 tensors) and low enough that a hostile file
// cannot make the reader exhaust memory.
constexpr uint64_t kMaxPickleBytes = 16u << 20;
constexpr size_t kMaxObjects = 1u << 21;  // arena values (~80 bytes each)
constexpr size_t kMaxStack = 1u << 20;
constexpr size_t kMaxMarks = 1u << 12;    // open MARKs; a state_dict nests 3
constexpr size_t kMaxMemo = 1u << 20;
constexpr size_t kMaxDims = 64;
constexpr size_t kMaxGlobalLine = 256;     // GLOBAL 'module\nname\n' line length
constexpr size_t kMaxSmallRecord = 64;     // byteorder
constexpr uint64_t kMaxDeflateRatio = 1100;  // deflate expands at most ~1032:1
constexpr uint64_t kOutputSlack = 64u << 20; // output may exceed 4x the storages by this much (expanded views)

enum class Kind : uint8_t { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Storage, Tensor };

// The only callables and classes a checkpoint may name.
enum class Global : uint8_t { OrderedDict, RebuildTensorV2, RebuildTensor, RebuildParameter, StorageType };

// With its article, for messages: "an int", "a tuple".
const char* kind_name(Kind k) {
    switch (k) {
        case Kind::None: return "None";
        case Kind::Bool: return "a bool";
        case Kind::Int: return "an int";
        case Kind::Float: return "a float";
        case Kind::Str: return "a str";
        case Kind::Bytes: return "a bytes object";
        case Kind::Tuple: return "a tuple";
        case Kind::List: return "a list";
        case Kind::Dict: return "a dict";
        case Kind::Global: return "a class or function";
        case Kind::Storage: return "a storage";
        case Kind::Tensor: return "a tensor";
    }
    return "?";
}

struct Value {
    Kind kind = Kind::None;
    Global global = Global::OrderedDict;  // Kind::Global
    DType dtype = DType::F32;             // Global::StorageType
    int64_t i = 0;                        // Int, Bool; index into Unpickler::storages / tensors
    double f = 0;                         // Float
    std::string s;                        // Str, Bytes; Global: its dotted name
    std::vector<uint32_t> items;          // Tuple, List; Dict: key0, value0, key1, value1 ...
};

struct StorageRef {
    std::string key;  // record <archive>/data/<key>
    DType dtype;
    int64_t numel;
};

struct TensorRef {
    uint32_t storage;  // index into Unpickler::storages
    int64_t offset;    // in elements
    std::vector<int64_t> size, stride;
};

struct StorageClass { const char* name; DType dtype; };
constexpr StorageClass kStorageClasses[] = {
    {"FloatStorage", DType::F32}, {"DoubleStorage", DType::F64}, {"HalfStorage", DType::F16},
    {"BFloat16Storage", DType::BF16}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
    {"ShortStorage", DType::I16}, {"CharStorage", DType::I8}, {"ByteStorage", DType::U8},
    {"BoolStorage", DType::BOOL},
};

// A name from the file, made safe for a one-line message.
std::string printable(const std::string& s, size_t max_len = 80) {
    std::string out;
    for (size_t i = 0; i < s.size() && i < max_len; i++) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '\'') out += char(c);
        else out += fmt::format("\\x{:02x}", c);
    }
    if (s.size() > max_len) out += "...";
    return out;
}

// Pickle opcodes by byte. Every opcode of protocols 0-5 is named so that a refusal says which one it was.
const char* opcode_name(uint8_t op) {
    switch (op) {
        case '(': return "MARK"; case '.': return "STOP"; case '0': return "POP"; case '1': return "POP_MARK";
        case '2': return "DUP"; case 'F': return "FLOAT"; case 'I': return "INT"; case 'J': return "BININT";
        case 'K': return "BININT1"; case 'L': return "LONG"; case 'M': return "BININT2"; case 'N': return "NONE";
        case 'P': return "PERSID"; case 'Q': return "BINPERSID"; case 'R': return "REDUCE"; case 'S': return "STRING";
        case 'T': return "BINSTRING"; case 'U': return "SHORT_BINSTRING"; case 'V': return "UNICODE";
        case 'X': return "BINUNICODE"; case 'a': return "APPEND"; case 'b': return "BUILD"; case 'c': return "GLOBAL";
        case 'd': return "DICT"; case '}': return "EMPTY_DICT"; case 'e': return "APPENDS"; case 'g': return "GET";
        case 'h': return "BINGET"; case 'i': return "INST"; case 'j': return "LONG_BINGET"; case 'l': return "LIST";
        case ']': return "EMPTY_LIST"; case 'o': return "OBJ"; case 'p': return "PUT"; case 'q': return "BINPUT";
        case 'r': return "LONG_BINPUT"; case 's': return "SETITEM"; case 't': return "TUPLE";
        case ')': return "EMPTY_TUPLE"; case 'u': return "SETITEMS"; case 'G': return "BINFLOAT";
        case 0x80: return "PROTO"; case 0x81: return "NEWOBJ"; case 0x82: return "EXT1"; case 0x83: return "EXT2";
        case 0x84: return "EXT4"; case 0x85: return "TUPLE1"; case 0x86: return "TUPLE2"; case 0x87: return "TUPLE3";
        case 0x88: return "NEWTRUE"; case 0x89: return "NEWFALSE"; case 0x8a: return "LONG1"; case 0x8b: return "LONG4";
        case 'B': return "BINBYTES"; case 'C': return "SHORT_BINBYTES"; case 0x8c: return "SHORT_BINUNICODE";
        case 0x8d: return "BINUNICODE8"; case 0x8e: return "BINBYTES8"; case 0x8f: return "EMPTY_SET";
        case 0x90: return "ADDITEMS"; case 0x91: return "FROZENSET"; case 0x92: return "NEWOBJ_EX";
        case 0x93: return "STACK_GLOBAL"; case 0x94: return "MEMOIZE"; case 0x95: return "FRAME";
        case 0x96: return "BYTEARRAY8"; case 0x97: return "NEXT_BUFFER"; case 0x98: return "READONLY_BUFFER";
        default: return nullptr;
    }
}

// Restricted pickle interpreter. Python's semantics (pickle.py, _Unpickler) for the opcodes a state_dict uses;
// the stack is one vector with MARK positions in `marks_` (Python keeps a stack of stacks).
class Unpickler {
public:
    Unpickler(const uint8_t* data, size_t size, std::string label, std::string record)
        : p_(data), n_(size), label_(std::move(label)), record_(std::move(record)) {}

    // Runs to STOP and returns the arena index of the unpickled object.
    uint32_t load();

    std::vector<Value> values;
    std::vector<StorageRef> storages;
    std::vector<TensorRef> tensors;

private:
    template <typename... A>
    [[noreturn]] void bad(fmt::format_string<A...> f, A&&... a) const {
        fail("{}: {} byte {}: {}", label_, record_, op_pos_, fmt::format(f, std::forward<A>(a)...));
    }
    [[noreturn]] void refuse_opcode(uint8_t op) const {
        const char* name = opcode_name(op);
        if (!name) bad("unknown pickle opcode 0x{:02x}", op);
        fail("{}: refusing pickle opcode {} at byte {} of {} (only the opcodes of a torch.save() state_dict are "
             "allowed): loading a checkpoint never executes code", label_, name, op_pos_, record_);
    }

    const uint8_t* take(uint64_t k, const char* what) {
        if (k > n_ - pos_) bad("truncated {}: needs {} bytes, {} left", what, k, n_ - pos_);
        const uint8_t* q = p_ + pos_;
        pos_ += size_t(k);
        return q;
    }
    uint64_t le(size_t k, const char* what) {  // k <= 8 bytes, little-endian
        const uint8_t* q = take(k, what);
        uint64_t v = 0;
        for (size_t j = 0; j < k; j++) v |= uint64_t(q[j]) << (8 * j);
        return v;
    }
    std::string line(const char* what) {  // GLOBAL operand: text up to '\n'
        size_t avail = std::min(n_ - pos_, kMaxGlobalLine + 1);
        const void* nl = std::memchr(p_ + pos_, '\n', avail);
        if (!nl) bad("{} operand has no newline within {} bytes", what, kMaxGlobalLine);
        size_t len = size_t(static_cast<const uint8_t*>(nl) - (p_ + pos_));
        std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
        pos_ += len + 1;
        return s;
    }

    uint32_t make(Value v) {
        if (values.size() >= kMaxObjects) bad("more than {} objects", kMaxObjects);
        values.push_back(std::move(v));
        return uint32_t(values.size() - 1);
    }
    uint32_t make_scalar(Kind k, int64_t i = 0) {
        Value v; v.kind = k; v.i = i;
        return make(std::move(v));
    }
    uint32_t make_string(Kind k, const uint8_t* q, size_t len) {
        Value v; v.kind = k; v.s.assign(reinterpret_cast<const char*>(q), len);
        return make(std::move(v));
    }
    uint32_t make_container(Kind k, std::vector<uint32_t> items) {
        Value v; v.kind = k; v.items = std::move(items);
        return make(std::move(v));
    }

    size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
    void push(uint32_t v) {
        if (stack_.size() >= kMaxStack) bad("pickle stack deeper than {}", kMaxStack);
        stack_.push_back(v);
    }
    uint32_t pop(const char* op) {
        if (stack_.size() <= base()) bad("{} on an empty stack", op);
        uint32_t v = stack_.back();
        stack_.pop_back();
        return v;
    }
    uint32_t top(const char* op) const {
        if (stack_.size() <= base()) bad("{} on an empty stack", op);
        return stack_.back();
    }
    std::vector<uint32_t> pop_mark(const char* op) {
        if (marks_.empty()) bad("{} without a MARK", op);
        size_t b = marks_.back();
        marks_.pop_back();
        std::vector<uint32_t> items(stack_.begin() + std::ptrdiff_t(b), stack_.end());
        stack_.resize(b);
        return items;
    }
    std::vector<uint32_t> pop_n(size_t k, const char* op) {
        if (stack_.size() - base() < k) bad("{} needs {} values, the stack has {}", op, k, stack_.size() - base());
        std::vector<uint32_t> items(stack_.end() - std::ptrdiff_t(k), stack_.end());
        stack_.resize(stack_.size() - k);
        return items;
    }
    Value& expect(uint32_t v, Kind k, const char* role) {
        if (values[v].kind != k) bad("{} is {}, expected {}", role, kind_name(values[v].kind), kind_name(k));
        return values[v];
    }
    int64_t expect_int(uint32_t v, const char* role) { return expect(v, Kind::Int, role).i; }
    std::vector<int64_t> expect_ints(uint32_t v, const char* role) {
        const Value& t = values[v];
        if (t.kind != Kind::Tuple && t.kind != Kind::List)
            bad("{} is {}, expected a tuple of ints", role, kind_name(t.kind));
        if (t.items.size() > kMaxDims) bad("{} has {} dimensions, more than {}", role, t.items.size(), kMaxDims);
        std::vector<int64_t> out;
        for (uint32_t x : t.items) out.push_back(expect_int(x, role));
        return out;
    }

    void memo_put(uint64_t index) {
        if (index >= kMaxMemo) bad("memo index {} beyond the limit of {}", index, kMaxMemo);
        if (memo_.size() >= kMaxMemo && !memo_.count(uint32_t(index))) bad("more than {} memo entries", kMaxMemo);
        memo_[uint32_t(index)] = top("PUT");
    }
    void memo_get(uint64_t index) {
        auto it = index < kMaxMemo ? memo_.find(uint32_t(index)) : memo_.end();
        if (it == memo_.end()) bad("GET of memo entry {} that was never stored", index);
        push(it->second);
    }

    void global(const std::string& module, const std::string& name);
    void persistent_load();
    void reduce();
    uint32_t rebuild_tensor(const std::vector<uint32_t>& a, const char* fn);
    int64_t read_long(size_t nbytes);

    const uint8_t* p_;
    size_t n_;
    size_t pos_ = 0, op_pos_ = 0;
    std::string label_, record_;
    std::vector<uint32_t> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint32_t, uint32_t> memo_;
};

void Unpickler::global(const std::string& module, const std::string& name) {
    Value v;
    v.kind = Kind::Global;
    v.s = module + "." + name;
    bool ok = false;
    if (module == "collections" && name == "OrderedDict") { v.global = Global::OrderedDict; ok = true; }
    if (module == "torch._utils") {
        if (name == "_rebuild_tensor_v2") { v.global = Global::RebuildTensorV2; ok = true; }
        if (name == "_rebuild_tensor") { v.global = Global::RebuildTensor; ok = true; }
        if (name == "_rebuild_parameter") { v.global = Global::RebuildParameter; ok = true; }
    }
    if (module == "torch")
        for (const auto& c : kStorageClasses)
            if (name == c.name) { v.global = Global::StorageType; v.dtype = c.dtype; ok = true; }
    if (!ok)
        fail("{}: refusing pickle global '{}' (only state_dict tensors are allowed): loading a checkpoint never "
             "executes code", label_, printable(v.s));
    push(make(std::move(v)));
}

// BINPERSID: ('storage', torch.<X>Storage, key, location, numel) -> a storage reference (read later).
void Unpickler::persistent_load() {
    uint32_t pid = pop("BINPERSID");
    const Value& t = values[pid];
    if (t.kind != Kind::Tuple || t.items.size() != 5)
        bad("persistent id is not a ('storage', type, key, location, numel) tuple");
    const std::vector<uint32_t> it = t.items;
    if (expect(it[0], Kind::Str, "persistent id tag").s != "storage") bad("persistent id tag is not 'storage'");
    const Value& type = expect(it[1], Kind::Global, "storage type");
    if (type.global != Global::StorageType) bad("storage type is {}, not a torch.<X>Storage", type.s);
    StorageRef ref;
    ref.dtype = type.dtype;
    ref.key = expect(it[2], Kind::Str, "storage key").s;
    expect(it[3], Kind::Str, "storage location");
    ref.numel = expect_int(it[4], "storage size");
    if (ref.key.empty() || ref.key.size() > 64 ||
        ref.key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
            std::string::npos)
        bad("storage key '{}' is not a plain record name", printable(ref.key));
    if (ref.numel < 0 || uint64_t(ref.numel) > kMaxModelFileBytes / dtype_size(ref.dtype))
        bad("storage '{}' claims {} elements of {}, more than a checkpoint can hold", ref.key, ref.numel,
            dtype_name(ref.dtype));
    storages.push_back(std::move(ref));
    push(make_scalar(Kind::Storage, int64_t(storages.size() - 1)));
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) and
// _rebuild_tensor(storage, storage_offset, size, stride). The geometry is checked against the storage later,
// when the tensor's name is known.
uint32_t Unpickler::rebuild_tensor(const std::vector<uint32_t>& a, const char* fn) {
    TensorRef t;
    t.storage = uint32_t(expect(a[0], Kind::Storage, "tensor storage").i);
    t.offset = expect_int(a[1], "storage offset");
    t.size = expect_ints(a[2], "tensor size");
    t.stride = expect_ints(a[3], "tensor stride");
    if (a.size() >= 6) {
        if (values[a[4]].kind != Kind::Bool) bad("{} requires_grad is {}", fn, kind_name(values[a[4]].kind));
        expect(a[5], Kind::Dict, "backward hooks");
    }
    if (a.size() == 7 && values[a[6]].kind != Kind::Dict && values[a[6]].kind != Kind::None)
        bad("{} metadata is {}", fn, kind_name(values[a[6]].kind));
    tensors.push_back(std::move(t));
    return make_scalar(Kind::Tensor, int64_t(tensors.size() - 1));
}

void Unpickler::reduce() {
    uint32_t args = pop("REDUCE");
    uint32_t fn = pop("REDUCE");
    const Value& f = values[fn];
    if (f.kind != Kind::Global)
        bad("REDUCE calls {}; only collections.OrderedDict and torch._utils._rebuild_* may be called",
            kind_name(f.kind));
    const std::vector<uint32_t> a = expect(args, Kind::Tuple, "REDUCE arguments").items;
    switch (f.global) {
        case Global::OrderedDict:
            if (!a.empty()) bad("collections.OrderedDict called with {} arguments, expected none", a.size());
            push(make_container(Kind::Dict, {}));
            return;
        case Global::RebuildTensorV2:
            if (a.size() != 6 && a.size() != 7) bad("{} called with {} arguments, expected 6 or 7", f.s, a.size());
            push(rebuild_tensor(a, "_rebuild_tensor_v2"));
            return;
        case Global::RebuildTensor:
            if (a.size() != 4) bad("{} called with {} arguments, expected 4", f.s, a.size());
            push(rebuild_tensor(a, "_rebuild_tensor"));
            return;
        case Global::RebuildParameter:  // (data, requires_grad, backward_hooks): the parameter is its data
            if (a.size() != 3) bad("{} called with {} arguments, expected 3", f.s, a.size());
            expect(a[0], Kind::Tensor, "parameter data");
            push(a[0]);
            return;
        case Global::StorageType:
            bad("{} may only appear in a storage persistent id, not be called", f.s);
    }
}

// LONG1 / LONG4 operand: two's-complement little-endian, at most 8 bytes.
int64_t Unpickler::read_long(size_t nbytes) {
    if (nbytes > 8) bad("integer of {} bytes does not fit in 64 bits", nbytes);
    if (nbytes == 0) return 0;
    uint64_t v = le(nbytes, "LONG");
    if (nbytes < 8 && (v >> (8 * nbytes - 1)) & 1) v |= ~uint64_t(0) << (8 * nbytes);  // sign-extend
    int64_t out;
    std::memcpy(&out, &v, 8);
    return out;
}

uint32_t Unpickler::load() {
    while (pos_ < n_) {
        op_pos_ = pos_;
        const uint8_t op = p_[pos_++];
        switch (op) {
            case 0x80: {  // PROTO
                uint64_t v = le(1, "PROTO");
                if (v < 2 || v > 5) bad("unsupported pickle protocol {}", v);
                break;
            }
            case 0x95: {  // FRAME: a length hint only
                uint64_t len = le(8, "FRAME");
                if (len > n_ - pos_) bad("FRAME of {} bytes, {} left", len, n_ - pos_);
                break;
            }
            case '(':  // MARK
                if (marks_.size() >= kMaxMarks) bad("more than {} nested MARKs", kMaxMarks);
                marks_.push_back(stack_.size());
                break;
            case '.':  // STOP
                if (stack_.size() != 1 || !marks_.empty())
                    bad("STOP with {} values and {} MARKs on the stack, expected one value", stack_.size(),
                        marks_.size());
                if (pos_ != n_) bad("{} bytes after STOP", n_ - pos_);
                return stack_[0];
            case '0': pop("POP"); break;
            case '1': pop_mark("POP_MARK"); break;
            case '2': push(top("DUP")); break;
            case 'N': push(make_scalar(Kind::None)); break;
            case 0x88: push(make_scalar(Kind::Bool, 1)); break;
            case 0x89: push(make_scalar(Kind::Bool, 0)); break;
            case 'J': push(make_scalar(Kind::Int, int64_t(int32_t(uint32_t(le(4, "BININT")))))); break;
            case 'K': push(make_scalar(Kind::Int, int64_t(le(1, "BININT1")))); break;
            case 'M': push(make_scalar(Kind::Int, int64_t(le(2, "BININT2")))); break;
            case 0x8a: { size_t k = size_t(le(1, "LONG1")); push(make_scalar(Kind::Int, read_long(k))); break; }
            case 0x8b: {
                uint64_t k = le(4, "LONG4");
                if (k > 8) bad("integer of {} bytes does not fit in 64 bits", k);
                push(make_scalar(Kind::Int, read_long(size_t(k))));
                break;
            }
            case 'G': {  // BINFLOAT: big-endian IEEE double
                const uint8_t* q = take(8, "BINFLOAT");
                uint64_t bits = 0;
                for (int j = 0; j < 8; j++) bits = (bits << 8) | q[j];
                Value v; v.kind = Kind::Float; std::memcpy(&v.f, &bits, 8);
                push(make(std::move(v)));
                break;
            }
            case 'X': case 0x8c: case 0x8d: case 'U': case 'T': case 'C': case 'B': case 0x8e: {
                // (BIN)UNICODE / (SHORT_)BINSTRING -> str; (SHORT_)BINBYTES(8) -> bytes
                const char* what = opcode_name(op);
                uint64_t len;
                if (op == 0x8c || op == 'U' || op == 'C') len = le(1, what);
                else if (op == 0x8d || op == 0x8e) len = le(8, what);
                else if (op == 'T') {
                    int32_t l = int32_t(uint32_t(le(4, what)));
                    if (l < 0) bad("BINSTRING with negative length {}", l);
                    len = uint64_t(l);
                } else len = le(4, what);
                const uint8_t* q = take(len, what);
                Kind k = (op == 'C' || op == 'B' || op == 0x8e) ? Kind::Bytes : Kind::Str;
                push(make_string(k, q, size_t(len)));
                break;
            }
            case ')': push(make_container(Kind::Tuple, {})); break;
            case 't': push(make_container(Kind::Tuple, pop_mark("TUPLE"))); break;
            case 0x85: push(make_container(Kind::Tuple, pop_n(1, "TUPLE1"))); break;
            case 0x86: push(make_container(Kind::Tuple, pop_n(2, "TUPLE2"))); break;
            case 0x87: push(make_container(Kind::Tuple, pop_n(3, "TUPLE3"))); break;
            case ']': push(make_container(Kind::List, {})); break;
            case 'l': push(make_container(Kind::List, pop_mark("LIST"))); break;
            case 'a': {  // APPEND
                uint32_t v = pop("APPEND");
                expect(top("APPEND"), Kind::List, "APPEND target").items.push_back(v);
                break;
            }
            case 'e': {  // APPENDS
                std::vector<uint32_t> items = pop_mark("APPENDS");
                Value& list = expect(top("APPENDS"), Kind::List, "APPENDS target");
                list.items.insert(list.items.end(), items.begin(), items.end());
                break;
            }
            case '}': push(make_container(Kind::Dict, {})); break;
            case 'd': {  // DICT
                std::vector<uint32_t> items = pop_mark("DICT");
                if (items.size() % 2) bad("DICT with an odd number ({}) of keys and values", items.size());
                push(make_container(Kind::Dict, std::move(items)));
                break;
            }
            case 's': {  // SETITEM
                uint32_t v = pop("SETITEM"), k = pop("SETITEM");
                Value& d = expect(top("SETITEM"), Kind::Dict, "SETITEM target");
                d.items.push_back(k);
                d.items.push_back(v);
                break;
            }
            case 'u': {  // SETITEMS
                std::vector<uint32_t> items = pop_mark("SETITEMS");
                if (items.size() % 2) bad("SETITEMS with an odd number ({}) of keys and values", items.size());
                Value& d = expect(top("SETITEMS"), Kind::Dict, "SETITEMS target");
                d.items.insert(d.items.end(), items.begin(), items.end());
                break;
            }
            case 'c': {  // GLOBAL 'module\nname\n'
                std::string module = line("GLOBAL");
                std::string name = line("GLOBAL");
                global(module, name);
                break;
            }
            case 0x93: {  // STACK_GLOBAL
                uint32_t name = pop("STACK_GLOBAL"), module = pop("STACK_GLOBAL");
                std::string n = expect(name, Kind::Str, "STACK_GLOBAL name").s;
                std::string m = expect(module, Kind::Str, "STACK_GLOBAL module").s;
                global(m, n);
                break;
            }
            case 'R': reduce(); break;
            case 'Q': persistent_load(); break;
            case 'b': {  // BUILD: only a state_dict's OrderedDict gets state ({'_metadata': ...}); ignored
                uint32_t state = pop("BUILD");
                Kind target = values[top("BUILD")].kind, sk = values[state].kind;
                if (target != Kind::Dict || (sk != Kind::Dict && sk != Kind::None))
                    bad("BUILD of {} with {} (only the OrderedDict of a state_dict takes state)",
                        kind_name(target), kind_name(sk));
                break;
            }
            case 'h': memo_get(le(1, "BINGET")); break;
            case 'j': memo_get(le(4, "LONG_BINGET")); break;
            case 'q': memo_put(le(1, "BINPUT")); break;
            case 'r': memo_put(le(4, "LONG_BINPUT")); break;
            case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
            default: refuse_opcode(op);
        }
    }
    op_pos_ = pos_;
    bad("pickle ends without STOP");
}

// ---- zip layer ------------------------------------------------------------------------------------------------

struct ZipArchive {
    zip_t* za = nullptr;
    ZipArchive() = default;
    ZipArchive(const ZipArchive&) = delete;
    ZipArchive& operator=(const ZipArchive&) = delete;
    ~ZipArchive() { if (za) zip_discard(za); }
};

struct ZipFile {
    zip_file_t* f = nullptr;
    ZipFile() = default;
    ZipFile(const ZipFile&) = delete;
    ZipFile& operator=(const ZipFile&) = delete;
    ~ZipFile() { if (f) zip_fclose(f); }
};

void open_zip(ZipArchive& z, const uint8_t* data, size_t size, const std::string& label) {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* src = zip_source_buffer_create(data, size, 0, &err);
    if (!src) {
        std::string msg = zip_error_strerror(&err);
        zip_error_fini(&err);
        fail("{}: cannot read zip archive: {}", label, msg);
    }
    z.za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!z.za) {
        zip_source_free(src);
        std::string msg = zip_error_strerror(&err);
        zip_error_fini(&err);
        fail("{}: not a valid zip archive ({}); a torch.save() checkpoint is a zip file", label, msg);
    }
    zip_error_fini(&err);
}

// Reads one record whole. `expect` (if >= 0) is the exact size the caller needs; `max_bytes` caps the rest.
std::vector<uint8_t> read_record(zip_t* za, zip_uint64_t index, const std::string& name, int64_t expect,
                                 uint64_t max_bytes, const std::string& label, const std::string& why = {}) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, index, 0, &st) != 0) fail("{}: record '{}': {}", label, printable(name), zip_strerror(za));
    const uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
    if ((st.valid & need) != need) fail("{}: record '{}' has no size in the zip directory", label, printable(name));
    if (st.encryption_method != ZIP_EM_NONE) fail("{}: record '{}' is encrypted", label, printable(name));
    if (expect >= 0 && st.size != uint64_t(expect))
        fail("{}: record '{}' has {} bytes, but the pickle declares {}{}", label, printable(name), uint64_t(st.size),
             expect, why);
    if (st.size > max_bytes)
        fail("{}: record '{}' has {} bytes, more than the {} allowed", label, printable(name), uint64_t(st.size),
             max_bytes);
    if (st.comp_method != ZIP_CM_STORE && st.size / kMaxDeflateRatio > st.comp_size)
        fail("{}: record '{}' claims to expand {} bytes to {}: not a plausible compressed record", label,
             printable(name), uint64_t(st.comp_size), uint64_t(st.size));

    std::vector<uint8_t> buf(size_t(st.size));
    ZipFile f;
    f.f = zip_fopen_index(za, index, 0);
    if (!f.f) fail("{}: cannot open record '{}': {}", label, printable(name), zip_strerror(za));
    size_t got = 0;
    while (got < buf.size()) {
        zip_int64_t r = zip_fread(f.f, buf.data() + got, buf.size() - got);
        if (r < 0) fail("{}: record '{}': {}", label, printable(name), zip_file_strerror(f.f));
        if (r == 0) fail("{}: record '{}' ends after {} of {} bytes", label, printable(name), got, buf.size());
        got += size_t(r);
    }
    uint8_t extra;  // reading past the end makes libzip check the CRC
    zip_int64_t r = zip_fread(f.f, &extra, 1);
    if (r < 0) fail("{}: record '{}': {}", label, printable(name), zip_file_strerror(f.f));
    if (r != 0) fail("{}: record '{}' is longer than its declared {} bytes", label, printable(name), buf.size());
    return buf;
}

// ---- tensors --------------------------------------------------------------------------------------------------

// Checks that every element offset + sum_d i_d * stride_d (0 <= i_d < size_d) lies inside a storage of
// `storage_numel` elements; returns the tensor's element count.
int64_t checked_numel(const TensorRef& t, int64_t storage_numel, const std::string& label, const std::string& name) {
    const std::string where = fmt::format("{}: tensor '{}'", label, printable(name));
    if (t.size.size() != t.stride.size())
        fail("{} has size {} but stride {}", where, shape_str(t.size), shape_str(t.stride));
    if (t.offset < 0) fail("{} has negative storage offset {}", where, t.offset);
    int64_t numel = 1;
    for (size_t d = 0; d < t.size.size(); d++) {
        if (t.size[d] < 0) fail("{} has negative size {}", where, shape_str(t.size));
        if (t.stride[d] < 0) fail("{} has negative stride {}", where, shape_str(t.stride));
        if (__builtin_mul_overflow(numel, t.size[d], &numel) || uint64_t(numel) > kMaxModelFileBytes)
            fail("{} has shape {}: too many elements", where, shape_str(t.size));
    }
    if (numel == 0) {
        if (t.offset > storage_numel)
            fail("{} starts at element {} of a storage of {} elements", where, t.offset, storage_numel);
        return 0;
    }
    int64_t last = t.offset;
    bool overflow = false;
    for (size_t d = 0; d < t.size.size(); d++) {
        int64_t span;
        overflow |= __builtin_mul_overflow(t.size[d] - 1, t.stride[d], &span);
        overflow |= __builtin_add_overflow(last, span, &last);
    }
    if (overflow || last >= storage_numel)
        fail("{} (shape {}, stride {}, offset {}) reads outside its storage of {} elements", where,
             shape_str(t.size), shape_str(t.stride), t.offset, storage_numel);
    return numel;
}

// Copies the strided view into a contiguous row-major buffer of numel * esize bytes (geometry already checked).
void gather(uint8_t* out, const uint8_t* src, size_t esize, const TensorRef& t, int64_t numel) {
    const size_t nd = t.size.size();
    if (nd == 0) { std::memcpy(out, src + size_t(t.offset) * esize, esize); return; }
    const int64_t inner = t.size[nd - 1], inner_stride = t.stride[nd - 1];
    std::vector<int64_t> idx(nd, 0);
    int64_t start = t.offset;  // element index of (idx[0], ..., idx[nd-2], 0)
    for (int64_t row = 0, rows = numel / inner; row < rows; row++) {
        if (inner_stride == 1) {
            std::memcpy(out, src + size_t(start) * esize, size_t(inner) * esize);
        } else {
            for (int64_t j = 0; j < inner; j++)
                std::memcpy(out + size_t(j) * esize, src + size_t(start + j * inner_stride) * esize, esize);
        }
        out += size_t(inner) * esize;
        for (size_t d = nd - 1; d-- > 0;) {
            start += t.stride[d];
            if (++idx[d] < t.size[d]) break;
            start -= t.stride[d] * t.size[d];
            idx[d] = 0;
        }
    }
}

}  // namespace

bool is_zip_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    char magic[4];
    if (!f.read(magic, 4)) return false;
    return std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

TensorFile read_torch_checkpoint(const std::string& path) {
    std::vector<uint8_t> data = read_file_bytes(path);
    return parse_torch_checkpoint(data.data(), data.size(), path);
}

TensorFile parse_torch_checkpoint(const uint8_t* data, size_t size, const std::string& label) {
    if (size == 0) fail("{}: file is empty; expected a torch.save() checkpoint (a zip archive)", label);
    if (size >= 2 && data[0] == 0x80 && data[1] <= 5)
        throw Error(fmt::format("{}: this is a bare pickle (torch.save from torch < 1.6, or pickle.dump), not a zip "
                                "checkpoint; only the zip format can be read safely", label),
                    "re-save it with torch >= 1.6: torch.save(torch.load(path, weights_only=True), new_path)");
    if (size < 4 || std::memcmp(data, "PK\x03\x04", 4) != 0)
        fail("{}: not a zip archive (a torch.save() checkpoint starts with 'PK\\x03\\x04')", label);

    ZipArchive z;
    open_zip(z, data, size, label);
    zip_int64_t count = zip_get_num_entries(z.za, 0);
    if (count < 0) fail("{}: cannot list the zip records", label);
    std::map<std::string, zip_uint64_t> records;
    std::vector<std::string> pickles;
    for (zip_int64_t i = 0; i < count; i++) {
        const char* nm = zip_get_name(z.za, zip_uint64_t(i), ZIP_FL_ENC_RAW);
        if (!nm) fail("{}: zip record {} has no name: {}", label, i, zip_strerror(z.za));
        std::string name = nm;
        if (!records.emplace(name, zip_uint64_t(i)).second)
            fail("{}: zip record '{}' appears twice", label, printable(name));
        const size_t slash = name.find('/');
        if (slash != std::string::npos && slash > 0 && name.compare(slash, std::string::npos, "/data.pkl") == 0)
            pickles.push_back(name);
    }
    if (pickles.empty())
        fail("{}: no <archive>/data.pkl record among {} zip records: not a torch.save() checkpoint", label, count);
    if (pickles.size() > 1)
        fail("{}: {} data.pkl records ('{}', '{}'): expected one torch.save() archive", label, pickles.size(),
             printable(pickles[0]), printable(pickles[1]));
    const std::string prefix = pickles[0].substr(0, pickles[0].size() - std::strlen("data.pkl"));  // "step_100/"

    if (auto it = records.find(prefix + "byteorder"); it != records.end()) {
        auto b = read_record(z.za, it->second, it->first, -1, kMaxSmallRecord, label);
        std::string order(b.begin(), b.end());
        while (!order.empty() && std::isspace(static_cast<unsigned char>(order.back()))) order.pop_back();
        if (order == "big")
            fail("{}: checkpoint was saved on a big-endian machine (byteorder 'big'); only little-endian checkpoints "
                 "can be read", label);
        if (order != "little") fail("{}: unknown byteorder '{}' (expected 'little')", label, printable(order));
    }

    const std::vector<uint8_t> pkl =
        read_record(z.za, records.at(pickles[0]), pickles[0], -1, kMaxPickleBytes, label);
    Unpickler u(pkl.data(), pkl.size(), label, pickles[0]);
    const uint32_t root = u.load();
    const Value& dict = u.values[root];
    if (dict.kind != Kind::Dict)
        fail("{}: the checkpoint holds {}, not a state_dict (a dict of tensors)", label, kind_name(dict.kind));

    // Pass 1: names, kinds and geometry, before any storage is read.
    struct Entry { std::string name; const TensorRef* t; int64_t numel; };
    std::vector<Entry> entries;
    std::set<std::string> seen;
    for (size_t j = 0; j + 1 < dict.items.size(); j += 2) {
        const Value& k = u.values[dict.items[j]];
        const Value& v = u.values[dict.items[j + 1]];
        if (k.kind != Kind::Str) fail("{}: state_dict key is {}, not a str", label, kind_name(k.kind));
        if (v.kind != Kind::Tensor)
            fail("{}: state_dict entry '{}' is {}, not a tensor (expected torch.save(model.state_dict()))", label,
                 printable(k.s), kind_name(v.kind));
        if (!seen.insert(k.s).second) fail("{}: state_dict entry '{}' appears twice", label, printable(k.s));
        const TensorRef& t = u.tensors[size_t(v.i)];
        entries.push_back({k.s, &t, checked_numel(t, u.storages[t.storage].numel, label, k.s)});
    }

    // Pass 2: the referenced storages, each record exactly numel * element size bytes.
    std::map<std::string, std::vector<uint8_t>> raw;
    uint64_t raw_total = 0;
    for (const Entry& e : entries) {
        const StorageRef& s = u.storages[e.t->storage];
        const uint64_t nbytes = uint64_t(s.numel) * dtype_size(s.dtype);
        const std::string name = prefix + "data/" + s.key;
        auto it = records.find(name);
        if (it == records.end())
            fail("{}: tensor '{}' uses storage '{}', but the archive has no record '{}'", label, printable(e.name),
                 s.key, printable(name));
        auto cached = raw.find(s.key);
        if (cached == raw.end()) {
            if (raw_total + nbytes > kMaxModelFileBytes)
                fail("{}: storages total more than {} bytes", label, kMaxModelFileBytes);
            auto bytes = read_record(z.za, it->second, name, int64_t(nbytes), kMaxModelFileBytes, label,
                                     fmt::format(" ({} x {})", s.numel, dtype_name(s.dtype)));
            raw_total += nbytes;
            cached = raw.emplace(s.key, std::move(bytes)).first;
        } else if (cached->second.size() != nbytes) {
            fail("{}: storage '{}' is used as {} bytes ({} x {}) but its record has {}", label, s.key, nbytes,
                 s.numel, dtype_name(s.dtype), cached->second.size());
        }
    }

    // Pass 3: contiguous copies. Expanded views (stride 0) could multiply a small storage, hence the budget.
    const uint64_t budget = std::min<uint64_t>(kMaxModelFileBytes, 4 * raw_total + kOutputSlack);
    uint64_t out_total = 0;
    for (const Entry& e : entries) {
        out_total += uint64_t(e.numel) * dtype_size(u.storages[e.t->storage].dtype);
        if (out_total > budget)
            fail("{}: tensor '{}' brings the output to {} bytes, more than the {} its {} bytes of storage allow",
                 label, printable(e.name), out_total, budget, raw_total);
    }
    TensorFile out;
    for (const Entry& e : entries) {
        const StorageRef& s = u.storages[e.t->storage];
        Tensor t;
        t.dtype = s.dtype;
        t.shape = e.t->size;
        t.bytes.resize(size_t(e.numel) * dtype_size(s.dtype));
        if (e.numel > 0) gather(t.bytes.data(), raw.at(s.key).data(), dtype_size(s.dtype), *e.t, e.numel);
        out.tensors.emplace(e.name, std::move(t));
    }
    return out;
}

}  // namespace trm
