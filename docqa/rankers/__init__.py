"""Rankers: re-order retrieved documents with a stronger model."""

from __future__ import annotations

from docqa.rankers.cross_encoder_ranker import CrossEncoderRanker

__all__ = ["CrossEncoderRanker"]
