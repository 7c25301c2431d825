"""longvid.ingest — media types, probing, frame decoding at real timestamps, audio, subtitles, scenes.

The bottom layer of longvid: it imports nothing from the other stages. Typical use::

    from longvid.ingest import open_video, sample_frames, extract_audio, detect_scenes

    asset = open_video("talk.mp4")                      # VideoAsset, or a typed MediaError
    for batch in sample_frames(asset, fps=1.0):         # streamed FrameBatch with real timestamps
        ...
    scenes = detect_scenes(asset)                       # list[Scene] from colour-histogram cuts
"""

from .audio import SAMPLE_RATE, extract_audio, iter_audio
from .errors import (
    DecodeError,
    LongvidError,
    MediaError,
    MediaLimitError,
    NoAudioStreamError,
    NoVideoStreamError,
    SubtitleError,
    TimeLimitError,
    VideoOpenError,
)
from .frames import sample_frames
from .probe import MediaInfo, MediaLimits, open_video, probe
from .segment import SegmentConfig, detect_scenes, segment
from .subtitles import read_embedded_subtitles, read_subtitles
from .types import (
    AudioClip,
    FrameBatch,
    FrameFeatures,
    Scene,
    TimeSpan,
    TranscriptSegment,
    VideoAsset,
    Word,
    timecode,
)

__all__ = [
    "SAMPLE_RATE",
    "AudioClip",
    "DecodeError",
    "FrameBatch",
    "FrameFeatures",
    "LongvidError",
    "MediaError",
    "MediaInfo",
    "MediaLimitError",
    "MediaLimits",
    "NoAudioStreamError",
    "NoVideoStreamError",
    "Scene",
    "SegmentConfig",
    "SubtitleError",
    "TimeLimitError",
    "TimeSpan",
    "TranscriptSegment",
    "VideoAsset",
    "VideoOpenError",
    "Word",
    "detect_scenes",
    "extract_audio",
    "iter_audio",
    "open_video",
    "probe",
    "read_embedded_subtitles",
    "read_subtitles",
    "sample_frames",
    "segment",
    "timecode",
]
