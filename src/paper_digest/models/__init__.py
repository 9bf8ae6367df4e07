"""Data models shared by every stage. Pure data: nothing here touches the network or the disk.

``paper.py`` a candidate paper and its score, ``analysis.py`` the outcome of analysing one and what the LLM
stages spent, ``digest.py`` the day's digest (the sidecar's layout). Import them from here.
"""

from .analysis import Analysis, AnalysisStatus, DeepDive, FactItem, LLMLedger, PaperFacts
from .digest import (
    SIDECAR_SCHEMA_VERSION,
    Delivery,
    DeliveryStatus,
    Digest,
    DigestPaper,
    FetchResult,
    LLMRun,
    Notice,
    NoticeKind,
    RunStats,
    SourceReport,
    SourceStatus,
)
from .paper import (
    ArxivSignals,
    HFSignals,
    Paper,
    ScoredPaper,
    ScoreReason,
    Source,
    format_local_time,
    split_arxiv_id,
)

__all__ = [
    "SIDECAR_SCHEMA_VERSION",
    "Analysis",
    "AnalysisStatus",
    "ArxivSignals",
    "DeepDive",
    "Delivery",
    "DeliveryStatus",
    "Digest",
    "DigestPaper",
    "FactItem",
    "FetchResult",
    "HFSignals",
    "LLMLedger",
    "LLMRun",
    "Notice",
    "NoticeKind",
    "Paper",
    "PaperFacts",
    "RunStats",
    "ScoreReason",
    "ScoredPaper",
    "Source",
    "SourceReport",
    "SourceStatus",
    "format_local_time",
    "split_arxiv_id",
]
