"""Line-by-line transliteration of the C++ ApproximateTime policy, used only as a test oracle.

Slow on purpose: deques and past vectors are real containers, one step per message, no run
skipping. It accepts in-order stamps per input only (the C++ code merely warns otherwise).
"""
from __future__ import annotations

from collections import deque
from typing import Any

NO_PIVOT = -1


class ReferenceApproximateTime:
    def __init__(
        self,
        n: int,
        queue_size: int,
        max_interval_ns: int | None = None,
        age_penalty: float = 0.1,
        lower_bounds: list[int] | None = None,
    ) -> None:
        self.n = n
        self.queue_size = queue_size
        self.max_interval = (1 << 62) if max_interval_ns is None else max_interval_ns
        self.age_penalty = age_penalty
        self.lower_bounds = lower_bounds or [0] * n
        self.deques: list[deque[tuple[int, Any]]] = [deque() for _ in range(n)]
        self.past: list[list[tuple[int, Any]]] = [[] for _ in range(n)]
        self.candidate: list[tuple[int, Any]] | None = None
        self.num_non_empty = 0
        self.pivot = NO_PIVOT
        self.pivot_time = 0
        self.candidate_start = 0
        self.candidate_end = 0
        self.has_dropped = [False] * n
        self.out: list[tuple[tuple[int, Any], ...]] = []

    def add(self, i: int, stamp: int, item: Any = None) -> list[tuple[tuple[int, Any], ...]]:
        self.out = []
        q = self.deques[i]
        q.append((stamp, item))
        if len(q) == 1:
            self.num_non_empty += 1
            if self.num_non_empty == self.n:
                self.process()
        if len(q) + len(self.past[i]) > self.queue_size:
            self.num_non_empty = 0
            for j in range(self.n):
                self.recover(j)
            q.popleft()
            self.has_dropped[i] = True
            if self.pivot != NO_PIVOT:
                self.candidate = None
                self.pivot = NO_PIVOT
                self.process()
        return self.out

    def recover(self, j: int, count: int | None = None) -> None:
        v, q = self.past[j], self.deques[j]
        count = len(v) if count is None else count
        for _ in range(count):
            q.appendleft(v.pop())
        if q:
            self.num_non_empty += 1

    def delete_front(self, j: int) -> None:
        self.deques[j].popleft()
        if not self.deques[j]:
            self.num_non_empty -= 1

    def move_front_to_past(self, j: int) -> None:
        self.past[j].append(self.deques[j].popleft())
        if not self.deques[j]:
            self.num_non_empty -= 1

    def make_candidate(self) -> None:
        self.candidate = [q[0] for q in self.deques]
        for v in self.past:
            v.clear()

    def publish(self) -> None:
        assert self.candidate is not None
        self.out.append(tuple(self.candidate))
        self.candidate = None
        self.pivot = NO_PIVOT
        self.num_non_empty = 0
        for j in range(self.n):
            v, q = self.past[j], self.deques[j]
            while v:
                q.appendleft(v.pop())
            q.popleft()
            if q:
                self.num_non_empty += 1

    def boundary(self, end: bool) -> tuple[int, int]:
        time = self.deques[0][0][0]
        index = 0
        for j in range(1, self.n):
            t = self.deques[j][0][0]
            if (t < time) ^ end:
                time, index = t, j
        return index, time

    def virtual_time(self, j: int) -> int:
        q = self.deques[j]
        if not q:
            lower = self.past[j][-1][0] + self.lower_bounds[j]
            return max(lower, self.pivot_time)
        return q[0][0]

    def virtual_boundary(self, end: bool) -> tuple[int, int]:
        times = [self.virtual_time(j) for j in range(self.n)]
        time, index = times[0], 0
        for j in range(self.n):
            if (times[j] < time) ^ end:
                time, index = times[j], j
        return index, time

    def process(self) -> None:
        factor = 1 + self.age_penalty
        while self.num_non_empty == self.n:
            end_index, end_time = self.boundary(True)
            start_index, start_time = self.boundary(False)
            for j in range(self.n):
                if j != end_index:
                    self.has_dropped[j] = False
            if self.pivot == NO_PIVOT:
                if end_time - start_time > self.max_interval:
                    self.delete_front(start_index)
                    continue
                if self.has_dropped[end_index]:
                    self.delete_front(start_index)
                    continue
                self.make_candidate()
                self.candidate_start, self.candidate_end = start_time, end_time
                self.pivot, self.pivot_time = end_index, end_time
                self.move_front_to_past(start_index)
            else:
                if (end_time - self.candidate_end) * factor >= start_time - self.candidate_start:
                    self.move_front_to_past(start_index)
                else:
                    self.make_candidate()
                    self.candidate_start, self.candidate_end = start_time, end_time
                    self.move_front_to_past(start_index)
            age_check = (end_time - self.candidate_end) * factor
            if start_index == self.pivot or age_check >= self.pivot_time - self.candidate_start:
                self.publish()
            elif self.num_non_empty < self.n:
                before = self.num_non_empty
                moves = [0] * self.n
                while True:
                    _, v_end = self.virtual_boundary(True)
                    v_start_index, v_start = self.virtual_boundary(False)
                    slack = (v_end - self.candidate_end) * factor
                    if slack >= self.pivot_time - self.candidate_start:
                        self.publish()
                        break
                    if slack < v_start - self.candidate_start:
                        self.num_non_empty = 0
                        for j in range(self.n):
                            self.recover(j, moves[j])
                        assert before == self.num_non_empty
                        break
                    assert v_start_index != self.pivot
                    self.move_front_to_past(v_start_index)
                    moves[v_start_index] += 1
