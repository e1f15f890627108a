"""The local AWS twin: moto's server on loopback, extended so that work really runs.

Use :class:`Twin` inside one process (tests), or the background service shared by several
kernels: :func:`start_service`, :func:`service_status`, :func:`stop_service`
(``mlaccel twin start | status | stop``).
"""

from mlaccel_twin._server import Twin, current_url
from mlaccel_twin._service import TwinService, service_status, start_service, stop_service

__all__ = ["Twin", "TwinService", "current_url", "service_status", "start_service", "stop_service"]
