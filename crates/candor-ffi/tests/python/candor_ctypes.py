"""A Python binding of Candor's C ABI with ctypes: every function declared with its argument
and result types (as a .NET host declares them with P/Invoke), so a wrong Python type is
refused by ctypes before the call, and every refused call becomes a CandorError."""

import ctypes
from ctypes import POINTER, Structure, c_char_p, c_double, c_int32, c_size_t, c_uint8, c_uint32, c_uint64

SINK_OTLP_HTTP = 1
SINK_OTLP_GRPC = 2
SINK_JSON = 3
SINK_FILE = 4
SINK_STDOUT = 5

(OK, NULL, UTF8, TOO_LARGE, INVALID_ARGUMENT, UNKNOWN_HANDLE, CLOSED, BUILD, BUFFER_TOO_SMALL, INTERNAL,
 FORKED, LIMIT, NOT_HONOURED, STATE) = range(14)


class CandorStr(Structure):
    _fields_ = [("ptr", c_char_p), ("len", c_size_t)]

    @classmethod
    def of(cls, value):
        data = value.encode() if isinstance(value, str) else value
        return cls(data, len(data))


class CandorException(Structure):
    _fields_ = [("type_name", CandorStr), ("message", CandorStr), ("stack", CandorStr), ("log_message", CandorStr)]


class CandorStatus(Structure):
    _fields_ = [
        ("recorded", c_uint64),
        ("dropped_queue_full", c_uint64),
        ("prepared", c_uint64),
        ("discarded_by_consent", c_uint64),
        ("refused", c_uint64),
        ("delivered", c_uint64),
        ("pending", c_uint64),
        ("dropped", c_uint64),
        ("kept_locally", c_uint64),
        ("mode", c_int32),
        ("may_send", c_uint8),
        ("notice_pending", c_uint8),
        ("network_blocked", c_uint8),
    ]


class CandorError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


_STR = [c_char_p, c_size_t]
_SIGNATURES = {
    "candor_builder_new": [*_STR, POINTER(c_uint64)],
    "candor_builder_from_toml": [*_STR, POINTER(c_uint64)],
    "candor_builder_version": [c_uint64, *_STR],
    "candor_builder_runtime": [c_uint64, *_STR],
    "candor_builder_state_dir": [c_uint64, *_STR],
    "candor_builder_ca_file": [c_uint64, *_STR],
    "candor_builder_condition": [c_uint64, *_STR],
    "candor_builder_sink": [c_uint64, c_int32, *_STR],
    "candor_builder_sink_relay": [c_uint64, *_STR, *_STR],
    "candor_builder_host": [c_uint64, *_STR, *_STR],
    "candor_builder_host_opted_out": [c_uint64, c_int32],
    "candor_build": [c_uint64, POINTER(c_uint64)],
    "candor_builder_free": [c_uint64],
    "candor_record_system_snapshot": [c_uint64, POINTER(c_uint32)],
    "candor_status": [c_uint64, POINTER(CandorStatus)],
    "candor_status_json": [c_uint64, c_char_p, c_size_t, POINTER(c_size_t)],
    "candor_show_notice": [c_uint64, c_char_p, c_size_t, POINTER(c_size_t), POINTER(c_int32)],
    "candor_set_host_opted_out": [c_uint64, c_int32, POINTER(c_int32)],
    "candor_flush": [c_uint64, c_uint32],
    "candor_shutdown": [c_uint64, c_uint32, POINTER(CandorStatus)],
    "candor_record_flag": [c_uint64, *_STR, c_int32],
    "candor_record_count": [c_uint64, *_STR, c_uint64],
    "candor_record_duration": [c_uint64, *_STR, c_uint64],
    "candor_record_word": [c_uint64, *_STR, *_STR],
    "candor_record_text": [c_uint64, *_STR, *_STR],
    "candor_record_identifier": [c_uint64, *_STR, *_STR],
    "candor_record_samples": [c_uint64, *_STR, POINTER(c_double), c_size_t],
    "candor_record_histogram": [c_uint64, *_STR, POINTER(c_double), c_size_t],
    "candor_record_names": [c_uint64, *_STR, POINTER(CandorStr), c_size_t],
    "candor_record_label_counts": [c_uint64, *_STR, POINTER(CandorStr), POINTER(c_uint64), c_size_t],
    "candor_record_modes": [c_uint64, *_STR, POINTER(CandorStr), POINTER(CandorStr), c_size_t],
    "candor_record_properties": [c_uint64, *_STR, POINTER(CandorStr), POINTER(CandorStr), c_size_t],
    "candor_record_exception": [c_uint64, *_STR, POINTER(CandorException)],
}


class Library:
    """The shared library with every function typed; `raw` calls return the code."""

    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        for name, args in _SIGNATURES.items():
            f = getattr(self.lib, name)
            f.argtypes = args
            f.restype = c_int32
        self.lib.candor_last_error.argtypes = [c_char_p, c_size_t]
        self.lib.candor_last_error.restype = c_size_t
        self.lib.candor_code_name.argtypes = [c_int32]
        self.lib.candor_code_name.restype = c_char_p
        self.lib.candor_abi_version.argtypes = []
        self.lib.candor_abi_version.restype = c_uint32

    def raw(self, name, *args):
        return getattr(self.lib, name)(*args)

    def last_error(self):
        n = self.lib.candor_last_error(None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        self.lib.candor_last_error(buf, n + 1)
        return buf.value.decode()

    def code_name(self, code):
        return self.lib.candor_code_name(code).decode()

    def call(self, name, *args):
        code = self.raw(name, *args)
        if code != OK:
            raise CandorError(self.code_name(code), self.last_error())


def text(value):
    data = value.encode() if isinstance(value, str) else value
    return data, len(data)


def strs(values):
    return (CandorStr * len(values))(*[CandorStr.of(v) for v in values])


class Telemetry:
    """A handle, recorded through by point id."""

    def __init__(self, lib, product, version, runtime=None, state_dir=None, sink=None, host=None,
                 conditions=()):
        self.lib = lib
        builder = c_uint64()
        lib.call("candor_builder_new", *text(product), ctypes.byref(builder))
        b = builder.value
        lib.call("candor_builder_version", b, *text(version))
        if runtime:
            lib.call("candor_builder_runtime", b, *text(runtime))
        if state_dir:
            lib.call("candor_builder_state_dir", b, *text(state_dir))
        if sink:
            kind, target = sink
            lib.call("candor_builder_sink", b, kind, *text(target))
        if host:
            lib.call("candor_builder_host", b, *text(host[0]), *text(host[1]))
        for condition in conditions:
            lib.call("candor_builder_condition", b, *text(condition))
        handle = c_uint64()
        lib.call("candor_build", b, ctypes.byref(handle))
        self.handle = handle.value

    def snapshot(self):
        n = c_uint32()
        self.lib.call("candor_record_system_snapshot", self.handle, ctypes.byref(n))
        return n.value

    def flag(self, point, value):
        self.lib.call("candor_record_flag", self.handle, *text(point), 1 if value else 0)

    def count(self, point, value):
        self.lib.call("candor_record_count", self.handle, *text(point), value)

    def duration_ms(self, point, ms):
        self.lib.call("candor_record_duration", self.handle, *text(point), int(ms * 1_000_000))

    def word(self, point, value):
        self.lib.call("candor_record_word", self.handle, *text(point), *text(value))

    def text(self, point, value):
        self.lib.call("candor_record_text", self.handle, *text(point), *text(value))

    def identifier(self, point, value):
        self.lib.call("candor_record_identifier", self.handle, *text(point), *text(value))

    def samples(self, point, values):
        array = (c_double * len(values))(*values)
        self.lib.call("candor_record_samples", self.handle, *text(point), array, len(values))

    def histogram(self, point, values):
        array = (c_double * len(values))(*values)
        self.lib.call("candor_record_histogram", self.handle, *text(point), array, len(values))

    def names(self, point, values):
        self.lib.call("candor_record_names", self.handle, *text(point), strs(values), len(values))

    def label_counts(self, point, counts):
        labels = strs(list(counts))
        numbers = (c_uint64 * len(counts))(*counts.values())
        self.lib.call("candor_record_label_counts", self.handle, *text(point), labels, numbers, len(counts))

    def modes(self, point, modes):
        self.lib.call("candor_record_modes", self.handle, *text(point), strs(list(modes)),
                      strs(list(modes.values())), len(modes))

    def properties(self, point, properties):
        self.lib.call("candor_record_properties", self.handle, *text(point), strs(list(properties)),
                      strs(list(properties.values())), len(properties))

    def exception(self, point, type_name, message="", stack="", log_message=None):
        e = CandorException(
            CandorStr.of(type_name),
            CandorStr.of(message),
            CandorStr.of(stack),
            CandorStr.of(log_message) if log_message is not None else CandorStr(None, 0),
        )
        self.lib.call("candor_record_exception", self.handle, *text(point), ctypes.byref(e))

    def status_json(self):
        n = c_size_t()
        code = self.lib.raw("candor_status_json", self.handle, None, 0, ctypes.byref(n))
        assert code == BUFFER_TOO_SMALL, code
        buf = ctypes.create_string_buffer(n.value + 1)
        self.lib.call("candor_status_json", self.handle, buf, n.value + 1, ctypes.byref(n))
        return buf.value.decode()

    def owed_notice(self):
        """The notice owed now, recorded as shown, or None when nothing is owed."""
        n = c_size_t()
        code = self.lib.raw("candor_show_notice", self.handle, None, 0, ctypes.byref(n), None)
        if code == OK:
            return None
        assert code == BUFFER_TOO_SMALL, code
        buf = ctypes.create_string_buffer(n.value + 1)
        shown = c_int32()
        self.lib.call("candor_show_notice", self.handle, buf, n.value + 1, ctypes.byref(n), ctypes.byref(shown))
        return buf.value.decode() if shown.value else None

    def shutdown(self, timeout_ms=10000):
        status = CandorStatus()
        self.lib.call("candor_shutdown", self.handle, timeout_ms, ctypes.byref(status))
        return status
