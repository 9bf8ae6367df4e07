"""paper-digest: a daily Chinese digest of new papers, ranked for one researcher."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("paper-digest")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
