"""What every analysis command shares: the dependency check and turning every
error into one clear line and a nonzero exit, never a stack trace."""

import importlib
import os
import sys

from analysis.load_runs import LoadError

EXIT_BAD_INPUT = 2
EXIT_MISSING_DEPENDENCY = 3
EXIT_INTERNAL = 1

# Debian packages the analysis needs, by import name.
DEPENDENCIES = (("numpy", "python3-numpy"), ("scipy", "python3-scipy"),
                ("matplotlib", "python3-matplotlib"))


class UsageError(Exception):
    """A problem with the command line or the output folder."""


def missing_dependencies():
    missing = []
    for module, package in DEPENDENCIES:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    return missing


def run(prog, main, argv=None):
    """Runs main(argv) and returns the exit status."""
    def error(message, status):
        print("%s: error: %s" % (prog, message), file=sys.stderr)
        return status

    missing = missing_dependencies()
    if missing:
        return error("%s cannot import %s: install the Debian package%s (apt install %s) and "
                     "run this with /usr/bin/python3, Debian's interpreter"
                     % (sys.executable, ", ".join(m for m, p in DEPENDENCIES if p in missing),
                        "s" if len(missing) > 1 else "", " ".join(missing)),
                     EXIT_MISSING_DEPENDENCY)
    try:
        return main(argv) or 0
    except LoadError as e:
        return error(str(e), EXIT_BAD_INPUT)
    except UsageError as e:
        return error(str(e), EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        return error("interrupted; nothing was written", 130)
    except OSError as e:
        return error("%s%s" % (e.strerror or e, (": " + e.filename) if e.filename else ""),
                     EXIT_BAD_INPUT)
    except Exception as e:  # noqa: BLE001 - the promise is one line, never a traceback
        if os.environ.get("FAULTLINE_DEBUG"):
            raise
        return error("internal error: %s: %s (set FAULTLINE_DEBUG=1 for the traceback)"
                     % (type(e).__name__, e), EXIT_INTERNAL)
