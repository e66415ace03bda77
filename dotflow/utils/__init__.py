"""Small helpers dotflow 1.x exposed as ``dotflow.utils``, kept for code that imports them, from the
package or from 1.x's modules: ``basic_functions``, ``error_handler`` and ``tools``."""

from __future__ import annotations

from dotflow.utils.basic_functions import basic_callback, basic_function
from dotflow.utils.error_handler import message_error, traceback_error
from dotflow.utils.tools import hostname, read_file, write_file

__all__ = ["basic_callback", "basic_function", "hostname", "message_error", "read_file", "traceback_error",
           "write_file"]
