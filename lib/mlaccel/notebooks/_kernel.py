"""The suite's kernels talk to the runner over local (IPC) sockets, not TCP.

A kernel started with TCP transport and no CurveZMQ keys warns that its traffic is plain text
on a port; IPC sockets are files only this user can reach, so there is nothing to warn about.
The socket files go to a private temporary folder, never to the kernel's working folder (the
checkout's ``notebooks/``), and are removed with the kernel.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager


class IpcKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernel listens on IPC sockets in a folder of its own."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._socket_dir = Path(tempfile.mkdtemp(prefix="mlaccel-kernel-"))
        self.transport = "ipc"
        self.ip = str(self._socket_dir / "kernel")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        # shutdown_kernel calls this one; the socket files go with the kernel
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._socket_dir, ignore_errors=True)


#: What papermill takes as ``kernel_manager_class``.
KERNEL_MANAGER = f"{IpcKernelManager.__module__}.{IpcKernelManager.__qualname__}"
