"""``FieldVectors``: the in-memory matrix of one vector field, against float64 brute force."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from keelbase.services.vectors.matrix import FieldVectors


def _stored(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()


def _brute(
    vectors: dict[str, np.ndarray], query: np.ndarray, metric: str, k: int
) -> list[tuple[str, float]]:
    q = query.astype(np.float64)
    scored = []
    for record_id, vector in vectors.items():
        v = vector.astype(np.float64)
        if metric == "l2":
            distance = float(np.linalg.norm(v - q))
        else:
            norm = np.linalg.norm(v)
            distance = 1.0 if norm == 0 else float(1 - v @ q / (norm * np.linalg.norm(q)))
        scored.append((distance, record_id))
    return [(i, d) for d, i in sorted(scored)[:k]]


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_nearest_matches_brute_force_through_puts_updates_and_removes(metric: str) -> None:
    rng = np.random.default_rng(3)
    matrix = FieldVectors(8, 0, capacity=0)  # grows as rows come
    vectors: dict[str, np.ndarray] = {}
    for n in range(400):
        vectors[f"r{n:04d}"] = rng.normal(size=8).astype(np.float32)
    matrix.put((i, _stored(v)) for i, v in vectors.items())
    for n in range(0, 400, 7):  # updates in place
        vectors[f"r{n:04d}"] = rng.normal(size=8).astype(np.float32)
        matrix.put([(f"r{n:04d}", _stored(vectors[f"r{n:04d}"]))])
    for n in range(1, 400, 5):  # removes: by id, and by an empty or unreadable value
        record_id = f"r{n:04d}"
        del vectors[record_id]
        if n % 3 == 0:
            matrix.remove(record_id)
        else:
            matrix.put([(record_id, "" if n % 3 == 1 else _stored(np.ones(3)))])
    for n in range(400, 450):  # new rows reuse the freed ones
        vectors[f"r{n:04d}"] = rng.normal(size=8).astype(np.float32)
        matrix.put([(f"r{n:04d}", _stored(vectors[f"r{n:04d}"]))])
    assert len(matrix) == len(vectors) and matrix.size <= 400
    query = rng.normal(size=8).astype(np.float32)
    if metric == "cosine":
        query = query / np.linalg.norm(query)
    got, scanned = matrix.nearest(query, metric, 10, None, set())
    want = _brute(vectors, query, metric, 10)
    assert [i for i, _ in got] == [i for i, _ in want] and scanned == len(vectors)
    assert [d for _, d in got] == pytest.approx([d for _, d in want], abs=1e-6)
    # only the allowed ids, less the excluded ones
    allowed = [*sorted(vectors)[::3], "missing"]
    excluded = {want[0][0], allowed[0]}
    subset = {i: vectors[i] for i in allowed if i in vectors and i not in excluded}
    got, scanned = matrix.nearest(query, metric, 5, allowed, excluded)
    assert [i for i, _ in got] == [i for i, _ in _brute(subset, query, metric, 5)]
    assert scanned == len(subset)
    assert matrix.nearest(query, metric, 5, [], set()) == ([], 0)


def test_equal_distances_rank_by_id() -> None:
    matrix = FieldVectors(3, 0, capacity=4)
    ids = ["c", "a", "d", "b", "e"]
    matrix.put((i, _stored(np.array([1.0, 2.0, 3.0]))) for i in ids)
    matrix.put([("z", _stored(np.zeros(3)))])  # a zero vector: cosine distance 1
    query = np.array([1.0, 2.0, 3.0], dtype=np.float32) / np.sqrt(14)
    got, _ = matrix.nearest(query, "cosine", 3, None, set())
    assert [i for i, _ in got] == ["a", "b", "c"]
    got, _ = matrix.nearest(np.array([0, 0, 1], dtype=np.float32), "cosine", 6, None, set())
    assert got[-1] == ("z", 1.0)


def test_l2_near_zero_distances_keep_their_order() -> None:
    """Close to the query, float32 rounding of |x|² - 2x·q + |q|² is larger than the gaps;
    the rows within the margin are measured again, so the order is still exact."""
    base = np.full(64, 10.0, dtype=np.float32)
    matrix = FieldVectors(64, 0, capacity=0)
    vectors = {}
    for n in range(50):
        vector = base.copy()
        vector[n % 64] += np.float32(0.001 * (n + 1))
        vectors[f"v{n:02d}"] = vector
    matrix.put((i, _stored(v)) for i, v in vectors.items())
    got, _ = matrix.nearest(base, "l2", 5, None, set())
    assert [i for i, _ in got] == ["v00", "v01", "v02", "v03", "v04"]
