"""Typed errors for media I/O. Each names the file, the problem and, where there is one, the fix.

Catch :class:`MediaError` to handle any bad input; the subclasses say what kind of bad it was::

    try:
        asset = open_video("upload.mp4")
    except NoVideoStreamError:
        ...  # an audio-only file: index its speech only, or reject it
    except VideoOpenError as err:
        print(err)  # "upload.mp4: not a media file ffmpeg can read (Invalid data found ...)"
"""

from __future__ import annotations

from pathlib import Path


class LongvidError(Exception):
    """Base class of every error longvid raises on purpose."""


class MediaError(LongvidError):
    """A problem with one media file; ``path`` names it and the message starts with it."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):  # picklable, so errors cross process boundaries (batch workers) intact
        return (self.__class__, (self.path, self.problem))


class VideoOpenError(MediaError):
    """The file is missing, empty, or not something FFmpeg can read."""


class NoVideoStreamError(VideoOpenError):
    """The file is valid media but has no video stream (e.g. an audio-only file)."""


class NoAudioStreamError(MediaError):
    """Audio was asked of a file that has no audio stream."""


class MediaLimitError(MediaError):
    """The file exceeds a configured limit (pixels, duration, size) or declares absurd values."""


class DecodeError(MediaError):
    """Decoding failed part-way: a corrupt packet, or the file ends before its declared duration."""


class TimeLimitError(MediaError):
    """Work on the file (decoding, speech recognition) ran past its configured time limit."""


class SubtitleError(MediaError):
    """A subtitle file or stream is malformed; the message gives the line or cue."""
