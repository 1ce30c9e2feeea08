#!/usr/bin/env python3
"""Python interop test: a client generated from proto/purposed/v1/*.proto talks to the real server.

It shows that a backend in another language can use purposed's gRPC contracts as they are:

1. generates the Python stubs with grpc_tools.protoc into a temporary directory (nothing is
   written into the repository) and imports them from there;
2. starts the server binary given as the first argument (default target/debug/purposed) with
   `--log-format json serve --listen 127.0.0.1:0 --demo` on a fresh SQLite file, reads its JSON
   log lines on stderr until "listening" to learn the port, and waits on grpc.health.v1 Watch
   until SERVING;
3. calls DecisionService.Check (ALLOW, DENY, CONDITIONAL with their reason codes);
4. walks an access request through RightsService (submit, idempotent resubmit, verify, report);
5. checks that malformed input is INVALID_ARGUMENT;
6. stops the server with SIGTERM and expects exit code 0 within 30 s.

Usage: python tests/python/interop.py [PATH_TO_PURPOSED]
Exit code 0 when every check passed, 1 otherwise; the last line reads "interop: N passed, M failed".
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO / "proto"
PROTO_FILES = [
    "purposed/v1/decision.proto",
    "purposed/v1/registry.proto",
    "purposed/v1/subject.proto",
    "purposed/v1/rights.proto",
]
DEFAULT_BINARY = REPO / "target" / "debug" / "purposed"

STARTUP_TIMEOUT_S = 60.0  # until the "listening" line, then again until SERVING
RPC_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------------------------
# Stubs


def generate_stubs(out_dir: Path):
    """Runs grpc_tools.protoc on the four contracts and imports the generated modules."""
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *PROTO_FILES,
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise RuntimeError(
            f"protoc failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    # The generated modules import each other as purposed.v1.<name>_pb2 (from the proto
    # import paths): `purposed` and `purposed.v1` resolve as namespace packages from out_dir.
    sys.path.insert(0, str(out_dir))
    importlib.invalidate_caches()
    modules = {}
    for name in ("decision", "registry", "subject", "rights"):
        modules[f"{name}_pb2"] = importlib.import_module(f"purposed.v1.{name}_pb2")
        modules[f"{name}_pb2_grpc"] = importlib.import_module(f"purposed.v1.{name}_pb2_grpc")
    return modules


# --------------------------------------------------------------------------------------------
# Server process


class Server:
    """The purposed binary as a subprocess; its JSON log lines on stderr are drained by a thread."""

    def __init__(self, binary: Path, database_url: str):
        env = dict(os.environ)
        # The "listening" line is logged at INFO: keep the server's default filter.
        env.pop("RUST_LOG", None)
        # A free port for the metrics too: several servers may run at once.
        env["PURPOSED_METRICS_LISTEN"] = "127.0.0.1:0"
        self.command = [
            str(binary),
            "--log-format",
            "json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            database_url,
            "--demo",
        ]
        self.process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        # Keep reading stderr for the whole run, so a full pipe never blocks the server.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            self._queue.put(line)
        self._queue.put(None)

    def wait_for_listening(self, timeout: float) -> str:
        """Reads log lines until the one whose message is "listening"; returns its address."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no 'listening' log line within {timeout:.0f} s")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(
                    f"server exited with code {self.process.wait()} before listening"
                )
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # not a JSON log line (should not happen with --log-format json)
            if isinstance(record, dict) and record.get("message") == "listening":
                address = record.get("address")
                if not address:
                    raise RuntimeError(f"'listening' line without an address: {line!r}")
                return address

    def stop(self, timeout: float) -> int:
        """SIGTERM, then the exit code (raises subprocess.TimeoutExpired past the timeout)."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=5)

    def log_tail(self, count: int = 40) -> str:
        return "\n".join(self.lines[-count:])


def wait_until_serving(channel: grpc.Channel, timeout: float) -> None:
    """grpc.health.v1.Health/Watch on the server ("") until it reports SERVING."""
    stub = health_pb2_grpc.HealthStub(channel)
    stream = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
    seen = []
    try:
        for response in stream:
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
            seen.append(status)
            if response.status == health_pb2.HealthCheckResponse.SERVING:
                return
        raise AssertionError(f"health watch ended before SERVING (saw {seen})")
    finally:
        stream.cancel()  # a watch left open would hold the server's drain at shutdown


# --------------------------------------------------------------------------------------------
# Checks


class Checks:
    def __init__(self, pb, channel: grpc.Channel):
        self.pb = pb
        self.channel = channel
        self.decision = pb["decision_pb2_grpc"].DecisionServiceStub(channel)
        self.rights = pb["rights_pb2_grpc"].RightsServiceStub(channel)

    # helpers

    def check(self, **fields):
        request = self.pb["decision_pb2"].CheckRequest(**fields)
        return self.decision.Check(request, timeout=RPC_TIMEOUT_S)

    def describe(self, response) -> str:
        d = self.pb["decision_pb2"]
        codes = ", ".join(d.ReasonCode.Name(r.code) for r in response.reasons)
        return f"{d.Decision.Name(response.decision)} (revision {response.revision}) [{codes}]"

    def expect(self, response, decision: int, reason: int) -> str:
        d = self.pb["decision_pb2"]
        described = self.describe(response)
        assert response.decision == decision, (
            f"expected {d.Decision.Name(decision)}, got {described}"
        )
        assert reason in [r.code for r in response.reasons], (
            f"expected reason {d.ReasonCode.Name(reason)}, got {described}"
        )
        assert response.revision > 0, f"expected a registry revision, got {described}"
        return described

    # the checks

    def check_allow(self) -> str:
        d = self.pb["decision_pb2"]
        response = self.check(
            organisation="peero",
            purpose="notifications",
            category="user.device.identifier",
            recipient="onesignal",
        )
        described = self.expect(response, d.DECISION_ALLOW, d.REASON_CODE_TRANSFER_SCC)
        scc = [r for r in response.reasons if r.code == d.REASON_CODE_TRANSFER_SCC][0]
        assert scc.article and scc.effect == d.REASON_EFFECT_ALLOW, scc
        assert any(
            t.recipient == "onesignal" and t.mechanism == d.TRANSFER_MECHANISM_SCC
            for t in response.transfers
        ), f"expected an SCC transfer for onesignal, got {list(response.transfers)}"
        return described

    def check_deny(self) -> str:
        d = self.pb["decision_pb2"]
        response = self.check(
            organisation="peero",
            purpose="notifications",
            category="user.contact.email",
            recipient="onesignal",
        )
        described = self.expect(
            response, d.DECISION_DENY, d.REASON_CODE_RECIPIENT_NOT_ENGAGED
        )
        assert len(response.obligations) == 0, "a DENY carries no obligations"
        return described

    def check_conditional(self) -> str:
        d = self.pb["decision_pb2"]
        request = d.CheckRequest(
            organisation="pro-balances",
            purpose="newsletter",
            category="user.contact.email",
            recipient="mailchimp",
        )
        # `subject` is proto3 `optional`: absent is distinguishable from "".
        assert not request.HasField("subject")
        response = self.decision.Check(request, timeout=RPC_TIMEOUT_S)
        return self.expect(
            response, d.DECISION_CONDITIONAL, d.REASON_CODE_CONSENT_REQUIRED
        )

    def rights_access_request(self) -> str:
        r = self.pb["rights_pb2"]
        request_id = f"py-interop-{uuid.uuid4().hex[:12]}"
        submit = r.SubmitRightsRequestRequest(
            organisation="pro-balances",
            request_id=request_id,
            type=r.RIGHTS_REQUEST_TYPE_ACCESS,
            subject="python-client@example.ee",
            actor="python-interop",
        )
        first = self.rights.SubmitRightsRequest(submit, timeout=RPC_TIMEOUT_S)
        status = r.RightsRequestStatus.Name(first.request.status)
        assert first.created, "first submission must report created=true"
        assert first.request.status == r.RIGHTS_REQUEST_STATUS_RECEIVED, status
        assert first.request.due_on, "a received request has a due date"
        assert first.request.request_id == request_id
        assert first.request.type == r.RIGHTS_REQUEST_TYPE_ACCESS
        # The raw identifier never comes back: only its pseudonym.
        assert first.request.subject_ref and "python-client" not in first.request.subject_ref

        again = self.rights.SubmitRightsRequest(submit, timeout=RPC_TIMEOUT_S)
        assert not again.created, "resubmitting the same payload must report created=false"
        assert again.request.due_on == first.request.due_on

        # The same id with another payload is a conflict, not a new request.
        conflicting = r.SubmitRightsRequestRequest()
        conflicting.CopyFrom(submit)
        conflicting.type = r.RIGHTS_REQUEST_TYPE_ERASURE
        try:
            self.rights.SubmitRightsRequest(conflicting, timeout=RPC_TIMEOUT_S)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.ALREADY_EXISTS, (
                f"expected ALREADY_EXISTS, got {error.code()}: {error.details()}"
            )
        else:
            raise AssertionError("same request id with another payload was accepted")

        moved = self.rights.TransitionRightsRequest(
            r.TransitionRightsRequestRequest(
                organisation="pro-balances",
                request_id=request_id,
                status=r.RIGHTS_REQUEST_STATUS_VERIFIED,
                actor="python-interop",
                note="identity checked by the interop test",
            ),
            timeout=RPC_TIMEOUT_S,
        )
        assert moved.request.status == r.RIGHTS_REQUEST_STATUS_VERIFIED, (
            r.RightsRequestStatus.Name(moved.request.status)
        )

        report = self.rights.GetAccessReport(
            r.GetAccessReportRequest(organisation="pro-balances", request_id=request_id),
            timeout=RPC_TIMEOUT_S,
        ).report
        assert report.organisation == "pro-balances"
        assert report.subject_ref == first.request.subject_ref
        assert len(report.purposes) > 0, "the access report lists no purposes"
        assert all(p.id and p.legal_basis_article for p in report.purposes)
        assert len(report.rights) > 0, "the access report lists no rights"
        assert report.generated_at.seconds > 0
        purposes = ", ".join(p.id for p in report.purposes)
        return (
            f"{request_id}: RECEIVED due {first.request.due_on}, resubmit created=false, "
            f"VERIFIED, report purposes [{purposes}]"
        )

    def invalid_argument(self) -> str:
        try:
            response = self.check(
                organisation="",
                purpose="notifications",
                category="user.device.identifier",
                recipient="onesignal",
            )
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (
                f"expected INVALID_ARGUMENT, got {error.code()}: {error.details()}"
            )
            assert "organisation" in (error.details() or ""), error.details()
            return f"INVALID_ARGUMENT: {error.details()}"
        raise AssertionError(
            f"empty organisation was answered instead of rejected: {self.describe(response)}"
        )


# --------------------------------------------------------------------------------------------
# Main


def main(argv: list[str]) -> int:
    binary = Path(argv[1]) if len(argv) > 1 else DEFAULT_BINARY
    binary = binary if binary.is_absolute() else Path.cwd() / binary
    if not binary.is_file() or not os.access(binary, os.X_OK):
        print(f"interop: server binary not found or not executable: {binary}", file=sys.stderr)
        return 2

    passed: list[str] = []
    failed: list[str] = []

    def run(name: str, step) -> bool:
        started = time.monotonic()
        try:
            detail = step()
        except (AssertionError, grpc.RpcError, Exception) as error:  # noqa: BLE001
            failed.append(name)
            elapsed = time.monotonic() - started
            print(f"FAIL {name} ({elapsed:.2f} s)")
            if isinstance(error, grpc.RpcError) and hasattr(error, "code"):
                print(f"     rpc error {error.code()}: {error.details()}")
            else:
                print("     " + "".join(traceback.format_exception_only(error)).strip())
            return False
        elapsed = time.monotonic() - started
        passed.append(name)
        print(f"ok   {name} ({elapsed:.2f} s){': ' + detail if detail else ''}")
        return True

    run_started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="purposed-py-interop-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "gen").mkdir()

        pb = {}

        def stubs() -> str:
            pb.update(generate_stubs(tmp_path / "gen"))
            return f"{len(pb)} modules from {len(PROTO_FILES)} protos"

        if not run("generate stubs", stubs):
            print(f"interop: {len(passed)} passed, {len(failed)} failed")
            return 1

        server = Server(binary, f"sqlite://{tmp_path / 'p.db'}")
        channel = None
        try:
            address = {}

            def listening() -> str:
                address["value"] = server.wait_for_listening(STARTUP_TIMEOUT_S)
                return address["value"]

            def serving() -> str:
                wait_until_serving(channel, STARTUP_TIMEOUT_S)
                return "SERVING"

            up = run("server logs listening", listening)
            if up:
                channel = grpc.insecure_channel(
                    address["value"],
                    # Never route a loopback call through an HTTP proxy from the environment.
                    options=[("grpc.enable_http_proxy", 0)],
                )
                up = run("health watch SERVING", serving)
            if up:
                checks = Checks(pb, channel)
                run("check ALLOW peero/notifications/device.identifier/onesignal", checks.check_allow)
                run("check DENY peero/notifications/contact.email/onesignal", checks.check_deny)
                run(
                    "check CONDITIONAL pro-balances/newsletter/contact.email/mailchimp",
                    checks.check_conditional,
                )
                run("rights access request", checks.rights_access_request)
                run("check INVALID_ARGUMENT on empty organisation", checks.invalid_argument)

            if channel is not None:
                channel.close()
                channel = None

            def shutdown() -> str:
                if server.process.poll() is not None:
                    raise AssertionError(
                        f"server had already exited with code {server.process.returncode}"
                    )
                started = time.monotonic()
                code = server.stop(SHUTDOWN_TIMEOUT_S)
                assert code == 0, f"server exited with code {code} after SIGTERM"
                return f"exit 0 in {time.monotonic() - started:.2f} s"

            run("SIGTERM exits 0", shutdown)
        finally:
            if channel is not None:
                channel.close()
            server.kill()
            if failed:
                print("---- server log (last lines) ----")
                print(server.log_tail())
                print("---------------------------------")

    print(f"interop: run took {time.monotonic() - run_started:.1f} s")
    print(f"interop: {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
