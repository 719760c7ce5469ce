"""Writes a set of output files all at once: everything goes into a temporary
folder next to the destination and is renamed into place at the end, so an
error leaves no partial report behind."""

import os
import shutil
import tempfile


class Staging:
    """with Staging(outdir) as tmp: write into tmp; on success the entries of tmp
    replace those of the same names in outdir."""

    def __init__(self, outdir):
        self.outdir = outdir
        self.created_outdir = False
        self.tmp = None

    def __enter__(self):
        if not os.path.isdir(self.outdir):
            os.makedirs(self.outdir)
            self.created_outdir = True
        self.tmp = tempfile.mkdtemp(prefix=".faultline-report-", dir=self.outdir)
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._commit()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if exc_type is not None and self.created_outdir:
                shutil.rmtree(self.outdir, ignore_errors=True)
        return False

    def _commit(self):
        for name in sorted(os.listdir(self.tmp)):
            src, dst = os.path.join(self.tmp, name), os.path.join(self.outdir, name)
            if os.path.isdir(src):
                old = None
                if os.path.exists(dst):
                    old = tempfile.mkdtemp(prefix=".faultline-old-", dir=self.outdir)
                    os.rename(dst, os.path.join(old, name))
                os.rename(src, dst)
                if old:
                    shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(src, dst)


def write_text_atomically(path, text):
    """Writes a file through a temporary sibling and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".faultline-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
