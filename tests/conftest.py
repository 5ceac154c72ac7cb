"""Shared fixtures: where the read-only corpus lives."""

from __future__ import annotations

from pathlib import Path

import pytest

# Helper modules that assert: let pytest show the differing values, as in test modules.
pytest.register_assert_rewrite("tests.core.dive_oracle", "tests.core.umoci_oracle",
                               "tests.core.large_corpus")

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


def corpus_path(*parts: str) -> Path:
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus file {path} is not available (../shared/corpus missing)")
    return path


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.exists():
        pytest.skip("../shared/corpus is not available")
    return CORPUS
