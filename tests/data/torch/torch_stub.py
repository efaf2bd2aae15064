"""Stand-ins for the few torch objects a torch.save(state_dict) pickle names, so that the Python standard library
(zipfile + pickle + struct, no torch) can read and write such checkpoints for trm's tests.

  load_checkpoint(bytes) -> (prefix, OrderedDict name -> Tensor, zipfile)  restricted: only the globals below
  Tensor.values(storage_bytes) -> list of Python numbers (row-major, strides and offset applied)
  dumps_state_dict(OrderedDict, protocol) -> pickle bytes as torch.save's pickler writes them

Python's pickle is the reference implementation here: trm's C++ interpreter is checked against it.
"""
import collections
import io
import pickle
import struct
import sys
import types
import zipfile

sys.dont_write_bytecode = True

_torch = types.ModuleType("torch")
_utils = types.ModuleType("torch._utils")
_torch._utils = _utils

# storage class name -> (trm dtype name, struct code, element bytes)
STORAGE_TYPES = {
    "FloatStorage": ("F32", "f", 4), "DoubleStorage": ("F64", "d", 8), "HalfStorage": ("F16", "e", 2),
    "BFloat16Storage": ("BF16", None, 2), "LongStorage": ("I64", "q", 8), "IntStorage": ("I32", "i", 4),
    "ShortStorage": ("I16", "h", 2), "CharStorage": ("I8", "b", 1), "ByteStorage": ("U8", "B", 1),
    "BoolStorage": ("BOOL", "?", 1),
}
for _name in STORAGE_TYPES:
    _cls = type(_name, (), {"__module__": "torch"})
    setattr(_torch, _name, _cls)


class Storage:
    def __init__(self, storage_type, key, location, numel):
        self.storage_type, self.key, self.location, self.numel = storage_type, key, location, numel

    @property
    def dtype(self):
        return STORAGE_TYPES[self.storage_type.__name__][0]


class Tensor:
    def __init__(self, storage, offset, size, stride, requires_grad=False, hooks=None):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)
        self.requires_grad = requires_grad
        self.hooks = collections.OrderedDict() if hooks is None else hooks

    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, self.requires_grad,
                                     self.hooks))

    def numel(self):
        n = 1
        for s in self.size:
            n *= s
        return n

    def values(self, raw):
        name = self.storage.storage_type.__name__
        _, code, esize = STORAGE_TYPES[name]
        out = []
        index = [0] * len(self.size)
        for _ in range(self.numel()):
            pos = self.offset + sum(i * s for i, s in zip(index, self.stride))
            chunk = raw[pos * esize:(pos + 1) * esize]
            if code is None:  # bfloat16: the high half of a float32
                out.append(struct.unpack("<f", b"\0\0" + chunk)[0])
            else:
                out.append(struct.unpack("<" + code, chunk)[0])
            for d in reversed(range(len(index))):
                index[d] += 1
                if index[d] < self.size[d]:
                    break
                index[d] = 0
        return out


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks, metadata=None):
    return Tensor(storage, offset, size, stride, requires_grad, hooks)


def _rebuild_parameter(data, requires_grad, hooks):
    return Parameter(data, requires_grad, hooks)


class Parameter:
    """nn.Parameter as torch pickles it: _rebuild_parameter(tensor, requires_grad, hooks)."""

    def __init__(self, data, requires_grad=True, hooks=None):
        self.data, self.requires_grad = data, requires_grad
        self.hooks = collections.OrderedDict() if hooks is None else hooks

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.data, self.requires_grad, self.hooks))


for _fn in (_rebuild_tensor_v2, _rebuild_parameter):
    _fn.__module__ = "torch._utils"
    setattr(_utils, _fn.__name__, _fn)
sys.modules.setdefault("torch", _torch)
sys.modules.setdefault("torch._utils", _utils)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_parameter"):
            return getattr(_utils, name)
        if module == "torch" and name in STORAGE_TYPES:
            return getattr(_torch, name)
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")

    def persistent_load(self, pid):
        kind, storage_type, key, location, numel = pid
        assert kind == "storage"
        return Storage(storage_type, key, location, numel)


def load_checkpoint(data):
    zf = zipfile.ZipFile(io.BytesIO(data))
    pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    assert len(pkl) == 1, pkl
    prefix = pkl[0][: -len("data.pkl")]
    state = _Unpickler(io.BytesIO(zf.read(pkl[0]))).load()
    return prefix, state, zf


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.storage_type, obj.key, obj.location, obj.numel)
        return None


def dumps_state_dict(state, protocol=2):
    buf = io.BytesIO()
    _Pickler(buf, protocol=protocol).dump(state)
    return buf.getvalue()


def storage_type(name):
    return getattr(_torch, name)
