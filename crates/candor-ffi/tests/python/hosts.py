"""Python hosts of Candor's C ABI, through ctypes.

usage: hosts.py agent <library> <endpoint> <state-dir>
       hosts.py dashboard <library> <endpoint> <state-dir>
       hosts.py abuse <library> <state-dir>
       hosts.py fork <library> <state-dir>

`agent` and `dashboard` record a product's values (the agent's first-load snapshot first) and
print the final status as JSON; `abuse` is a hostile caller and prints how many checks passed;
`fork` forks while Python threads record, as `multiprocessing` does, and prints how many
children passed."""

import ctypes
import json
import os
import signal
import sys
import threading
import time

import candor_ctypes as c


def agent(lib, endpoint, state):
    t = c.Telemetry(lib, "contrast-dotnet-agent", "21.5.1", runtime="framework", state_dir=state,
                    sink=(c.SINK_JSON, endpoint))
    unavailable = t.snapshot()
    t.word("agent_version", "21.5.1")
    t.flag("assess_enabled", True)
    t.word("contrast_instance", "hosted")
    t.word("application_framework", "a-framework-of-our-own")
    t.duration_ms("profiler_init_time", 1500)
    t.count("iis_app_count", 7)
    t.names("non_default_setting_names", ["AgentEnabled", "LogLevel"])
    t.label_counts("contrast_http_status_codes", {"200": 40, "503": 2})
    t.histogram("contrast_http_response_time", [12.5, 20.0, 18.0, 250.0, 15.5])
    t.modes("protect_rule_modes", {"sql-injection": "block", "xss": "monitor"})
    t.exception(
        "sensor_exceptions",
        "System.InvalidOperationException",
        "sensor failed for alice@example.com at C:\\Users\\alice\\app",
        "   at Contrast.Agent.Sensors.Sql.Run(String query)\n"
        "   at Customer.Secret.Billing.Charge(Card card)\n"
        "   at System.Data.SqlClient.SqlCommand.ExecuteReader()",
        "while instrumenting /home/alice/site",
    )
    t.count("screen_resolution", 1080)
    t.text("working_set", "lots")
    status = t.shutdown()
    print(json.dumps({"unavailable": unavailable, "recorded": status.recorded,
                      "delivered": status.delivered, "refused": status.refused, "mode": status.mode}))


def dashboard(lib, endpoint, state):
    t = c.Telemetry(lib, "aspire-dashboard", "9.3", state_dir=state, sink=(c.SINK_JSON, endpoint),
                    host=("visual-studio", "17.14"), conditions=["browser-open"])
    # The dashboard's notice is in its settings panel, not a first-run text: nothing is owed.
    assert t.owed_notice() is None
    t.properties("page_navigation", {"page": "resources", "view": "graph for bob@example.org",
                                     "api_key": "sk_live_0123456789abcdefghijklmn"})
    t.names("resource_types", ["project", "container", "my-own-resource"])
    t.word("request_user_agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                 "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36")
    t.identifier("invoked_commands", "restart-resource")
    t.word("request_language", "en-US")
    t.histogram("resource_restart_time", [1.5, 2.0, 8.0])
    t.exception("unhandled_exception", "System.NullReferenceException",
                "no value for user carol (carol@example.net)",
                "   at Aspire.Dashboard.Components.Pages.Resources.OnInitialized()\n"
                "   at Acme.Internal.Secret()\n")
    status = t.shutdown()
    print(json.dumps({"recorded": status.recorded, "delivered": status.delivered,
                      "refused": status.refused, "mode": status.mode}))


def abuse(lib, state):
    checks = []

    def check(cond, what):
        checks.append(what)
        if not cond:
            raise AssertionError(f"{what}; last error: {lib.last_error()}")

    def refused(code, expected, needle=None):
        message = lib.last_error()
        check(code == expected, f"got {lib.code_name(code)}, wanted {lib.code_name(expected)} ({message})")
        if needle is not None:
            check(needle in message, f"{message!r} mentions {needle!r}")

    def wrong_type(call):
        try:
            call()
        except ctypes.ArgumentError:
            return True
        return False

    t = c.Telemetry(lib, "contrast-dotnet-agent", "21.5.1", runtime="framework", state_dir=state,
                    sink=(c.SINK_FILE, state + "/events.jsonl"))
    h = t.handle
    # Wrong Python types never reach the library: ctypes refuses them against the declarations.
    check(wrong_type(lambda: lib.raw("candor_record_count", h, "working_set", 11, 1)), "a str for bytes")
    check(wrong_type(lambda: lib.raw("candor_record_count", h, b"working_set", 11, 1.5)), "a float for an integer")
    check(wrong_type(lambda: lib.raw("candor_record_count", "1", b"working_set", 11, 1)), "a str for a handle")
    check(wrong_type(lambda: lib.raw("candor_record_names", h, b"x", 1, ["a"], 1)), "a list for CandorStr*")
    check(wrong_type(lambda: lib.raw("candor_record_samples", h, b"x", 1, [1.0], 1)), "a list for double*")
    check(wrong_type(lambda: lib.raw("candor_status", h, ctypes.byref(ctypes.c_int(0)))), "an int* for CandorStatus*")
    # What ctypes lets through is refused by Candor with its code.
    refused(lib.raw("candor_record_count", h, None, 11, 1), c.NULL, "point")
    refused(lib.raw("candor_record_count", h, b"working_set", -1, 1), c.TOO_LARGE, "point")
    refused(lib.raw("candor_record_text", h, b"os_version", 10, b"\xff\xfe\xfd", 3), c.UTF8, "value")
    big = b"x" * (1024 * 1024)
    refused(lib.raw("candor_record_text", h, b"os_version", 10, big, len(big)), c.TOO_LARGE, "1048576")
    refused(lib.raw("candor_record_count", 0, b"working_set", 11, 1), c.UNKNOWN_HANDLE)
    refused(lib.raw("candor_record_count", -1, b"working_set", 11, 1), c.UNKNOWN_HANDLE)
    refused(lib.raw("candor_record_names", h, b"disabled_assess_rules", 21, None, 2), c.NULL, "names")
    refused(lib.raw("candor_record_exception", h, b"sensor_exceptions", 17, None), c.NULL, "exception")
    refused(lib.raw("candor_status", h, None), c.NULL, "out")
    # The str's own bytes are UTF-8, so a length past them is the caller's bug ctypes cannot see;
    # lengths Candor can check (over the caps) are refused without reading.
    refused(lib.raw("candor_record_names", h, b"disabled_assess_rules", 21, c.strs(["a"]), 1 << 40),
            c.TOO_LARGE, "items")
    t.count("working_set", 1)

    # Python threads (ctypes releases the GIL around each call) racing a shutdown.
    stop = threading.Event()
    seen = []

    def racer():
        codes = set()
        for i in range(2_000_000):
            code = lib.raw("candor_record_count", h, b"working_set", 11, i)
            codes.add(code)
            if code == c.CLOSED:
                break
        seen.append(codes)

    threads = [threading.Thread(target=racer) for _ in range(4)]
    for thread in threads:
        thread.start()
    status = t.shutdown()
    for thread in threads:
        thread.join()
    check(all(codes <= {c.OK, c.CLOSED} and c.CLOSED in codes for codes in seen), f"racers saw {seen}")
    check(status.recorded >= 1, "the handle recorded before it was shut down")
    refused(lib.raw("candor_shutdown", h, 10, None), c.CLOSED, "shut down")
    refused(lib.raw("candor_record_count", h, b"working_set", 11, 1), c.CLOSED, "shut down")
    print(f"{len(checks)} checks passed")


def fork(lib, state):
    """Children forked while threads record get CANDOR_CODE_FORKED for the parent's handle, at
    once, and build their own; a child that hangs is killed by its alarm and counted."""
    t = c.Telemetry(lib, "contrast-dotnet-agent", "21.5.1", runtime="framework", state_dir=state,
                    sink=(c.SINK_FILE, state + "/parent.jsonl"))
    stop = threading.Event()

    def recorder():
        while not stop.is_set():
            lib.raw("candor_record_count", t.handle, b"iis_app_count", 13, 1)

    threads = [threading.Thread(target=recorder) for _ in range(3)]
    for thread in threads:
        thread.start()
    passed = 0
    children = 10
    for n in range(children):
        time.sleep(0.01)
        pid = os.fork()
        if pid == 0:
            signal.alarm(30)
            ok = True
            try:
                started = time.monotonic()
                for name, args in [
                    ("candor_record_count", (t.handle, b"iis_app_count", 13, 5)),
                    ("candor_flush", (t.handle, 2000)),
                    ("candor_shutdown", (t.handle, 2000, None)),
                ]:
                    code = lib.raw(name, *args)
                    if code != c.FORKED:
                        print(f"child {n}: {name} gave {lib.code_name(code)}", file=sys.stderr)
                        ok = False
                ok = ok and "fork()" in lib.last_error() and time.monotonic() - started < 1.0
                child_dir = f"{state}/child-{n}"
                os.mkdir(child_dir)
                own = c.Telemetry(lib, "contrast-dotnet-agent", "21.5.1", runtime="framework",
                                  state_dir=child_dir, sink=(c.SINK_FILE, child_dir + "/events.jsonl"))
                own.count("iis_app_count", n)
                status = own.shutdown()
                ok = ok and status.recorded == 1 and status.delivered == 1
            except Exception as e:  # noqa: BLE001 - any failure fails the child
                print(f"child {n}: {e}", file=sys.stderr)
                ok = False
            sys.stderr.flush()
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            passed += 1
        else:
            print(f"child {n} failed: {status}", file=sys.stderr)
    stop.set()
    for thread in threads:
        thread.join()
    status = t.shutdown()
    assert status.recorded > 0
    print(f"{passed} of {children} children passed")


def main():
    command, library, *rest = sys.argv[1:]
    lib = c.Library(library)
    {"agent": agent, "dashboard": dashboard, "abuse": abuse, "fork": fork}[command](lib, *rest)


if __name__ == "__main__":
    main()
