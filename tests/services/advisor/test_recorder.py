from keelbase.services.advisor.recorder import ShapeRecorder


def test_fast_queries_are_not_recorded() -> None:
    recorder = ShapeRecorder(slow_ms=5)
    recorder.record("c1", "a = 1", "", "", 0.004)
    assert recorder.top(10) == []


def test_queries_of_one_shape_add_up_and_keep_the_latest_example() -> None:
    recorder = ShapeRecorder(slow_ms=5)
    recorder.record("c1", "a = 1", "-b", "", 0.010)
    recorder.record("c1", "a = 2", "-b", "", 0.030)
    (stats,) = recorder.top(10)
    assert stats.to_json() == {
        "filter": "a = ?",
        "sort": "-b",
        "rule": "",
        "count": 2,
        "totalMs": 40.0,
        "maxMs": 30.0,
        "avgMs": 20.0,
    }
    assert stats.example_filter == "a = 2"


def test_memory_is_bounded_and_the_cheapest_shape_goes() -> None:
    recorder = ShapeRecorder(slow_ms=0, max_shapes=2)
    recorder.record("c1", "a = 1", "", "", 0.050)
    recorder.record("c1", "b = 1", "", "", 0.010)
    recorder.record("c1", "c = 1", "", "", 0.001)  # cheaper than any kept: dropped
    assert [s.shape.filter for s in recorder.top(10)] == ["a = ?", "b = ?"]
    recorder.record("c1", "d = 1", "", "", 0.020)  # pushes out the cheapest
    assert [s.shape.filter for s in recorder.top(10)] == ["a = ?", "d = ?"]
