"""The process's CPU resources: glibc's malloc reusing the large blocks inference allocates again and again."""

import json
import subprocess
import sys

import pytest

from longvid.ingest.cpu import reuse_large_blocks

# A worker thread (as CTranslate2's) allocates, fills and frees a 72 MB block 8 times: the attention matrix
# of a Whisper base encoder layer. Prints the page faults that took.
_WORKER = """
import ctypes, json, resource, sys, threading
from longvid.ingest.cpu import reuse_large_blocks
applied = reuse_large_blocks() if sys.argv[1] == "on" else None
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
SIZE = 72 << 20
def work():
    for _ in range(8):
        block = libc.malloc(SIZE)
        ctypes.memset(block, 1, SIZE)
        libc.free(block)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
thread = threading.Thread(target=work)
thread.start()
thread.join()
print(json.dumps({"applied": applied, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def faults(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _WORKER, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_large_blocks_are_reused_instead_of_faulting_in_afresh():
    pages = (72 << 20) // 4096  # faults to touch one block once, with 4-KiB pages (fewer with huge pages)
    default, tuned = faults("off"), faults("on")
    assert tuned["applied"] is True
    assert tuned["faults"] < 2 * pages  # the first block's pages, then the same memory again
    assert tuned["faults"] * 4 < default["faults"]  # by default each of the 8 blocks is a fresh mapping


def test_it_can_be_called_again():
    assert reuse_large_blocks() == reuse_large_blocks()
