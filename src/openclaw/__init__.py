"""OpenClaw: a local AI gateway daemon.

One process per machine speaks the OpenAI API on ``127.0.0.1:18789``, runs every request
through an ordered pipeline (auth, limits, policies, cache, dispatch, audit) and dispatches it
to a configured provider. The public surface is small on purpose: the version, the error
hierarchy and the home-directory helper. Everything else is reached through the CLI or HTTP.
"""

from openclaw.errors import OpenClawError

__version__ = "0.1.0"

__all__ = ["OpenClawError", "__version__"]
