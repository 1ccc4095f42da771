"""A report's kernel talks over Unix sockets in the report's own folder, not TCP ports.

Kernels started at the same moment (the reports rendered in parallel, a cron job beside a
user) chose their free loopback ports independently, and now and then two chose the same:
one kernel died with "Address already in use" and its report failed.
"""
from __future__ import annotations

import asyncio
import os

import pytest

from mailkit_analysis.presentation.report import KERNEL_NAME, _kernel_manager_class

pytestmark = pytest.mark.skipif(os.name != "posix", reason="Unix sockets")


def test_a_report_kernel_runs_code_over_sockets_in_its_folder_and_removes_them(tmp_path):
    manager = _kernel_manager_class(str(tmp_path))(kernel_name=KERNEL_NAME)

    async def run():
        await manager.start_kernel(cwd=str(tmp_path))
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            sockets = sorted(p.name for p in tmp_path.iterdir() if p.is_socket())
            msg_id = client.execute("answer = 6 * 7", silent=False)
            reply = await client.get_shell_msg(timeout=60)
            while reply["parent_header"].get("msg_id") != msg_id:
                reply = await client.get_shell_msg(timeout=60)
            return sockets, reply["content"]["status"]
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    sockets, status = asyncio.run(run())
    assert manager.transport == "ipc"
    assert status == "ok"
    # shell, iopub, stdin, control and heartbeat: one socket each, all in the report's folder.
    assert len(sockets) == 5 and all(name.startswith("kernel-") for name in sockets)
    assert not any(p.is_socket() for p in tmp_path.iterdir())


def test_a_folder_too_long_for_a_socket_path_falls_back_to_loopback_tcp(tmp_path):
    deep = tmp_path / ("d" * 120)
    assert _kernel_manager_class(str(deep))(kernel_name=KERNEL_NAME).transport == "tcp"
    assert _kernel_manager_class(None)(kernel_name=KERNEL_NAME).transport == "tcp"
