"""Keeping the gateway running: service units, the service-manager seam, the install record.

``install.install_daemon`` picks systemd, launchd or Task Scheduler (or a background process
where none is usable), renders the unit from ``templates/``, and runs the manager's commands
through the one :class:`~openclaw.daemon_units.manager.Runner` seam that tests replace.
"""

from openclaw.daemon_units.install import (
    MANAGER_CHOICES,
    InstallReport,
    choose_manager,
    install_daemon,
    restart_daemon,
    service_status,
    uninstall_daemon,
)
from openclaw.daemon_units.manager import (
    MANAGER_ENV,
    Runner,
    RunResult,
    ServiceError,
    ServiceSpec,
    ServiceState,
    SubprocessRunner,
    get_runner,
    set_runner,
)
from openclaw.daemon_units.record import (
    ServiceRecord,
    gateway_port,
    note_background_start,
    read_record,
)

__all__ = [
    "MANAGER_CHOICES",
    "MANAGER_ENV",
    "InstallReport",
    "RunResult",
    "Runner",
    "ServiceError",
    "ServiceRecord",
    "ServiceSpec",
    "ServiceState",
    "SubprocessRunner",
    "choose_manager",
    "gateway_port",
    "get_runner",
    "install_daemon",
    "note_background_start",
    "read_record",
    "restart_daemon",
    "service_status",
    "set_runner",
    "uninstall_daemon",
]
