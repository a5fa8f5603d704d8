"""The task board: every task the guest submitted, its state and its outcome."""

from __future__ import annotations

import collections
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from host.api.errors import ApiError
from host.api.messages import JSONObject, TaskInput

QUEUED, INITIALIZING, EXECUTING = "TASK_STATE_QUEUED", "TASK_STATE_INITIALIZING", \
    "TASK_STATE_EXECUTING"
ERROR, SUCCESS = "TASK_STATE_ERROR", "TASK_STATE_SUCCESS"


@dataclass
class Task:
    task_id: str
    request: TaskInput
    state: str = QUEUED
    process_id: str = ""
    error_message: str = ""
    response: JSONObject | None = None

    def to_json(self) -> JSONObject:
        message: JSONObject = {"taskId": self.task_id, "state": self.state}
        if self.process_id:
            message["processId"] = self.process_id
        if self.error_message:
            message["errorMessage"] = self.error_message
        if self.response is not None:
            message["httpResponse"] = self.response
        return message


@dataclass
class TaskBoard:
    """Every task of the guest, and the finished ones PollTasks has not returned yet."""

    limit: int  # tasks kept at once
    tasks: dict[str, Task] = field(default_factory=dict)
    unpolled: collections.deque[str] = field(default_factory=collections.deque)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, requests: list[TaskInput]) -> list[Task]:
        """New tasks for `requests`: all of them, or none if there is no room."""
        tasks = [Task(str(uuid.uuid4()), request) for request in requests]
        with self.changed:
            if len(self.tasks) + len(tasks) > self.limit:
                raise ApiError("resource_exhausted",
                               f"{len(self.tasks)} tasks are kept and at most {self.limit} may "
                               "be: discard finished ones (or see --max-api-tasks)")
            for task in tasks:
                self.tasks[task.task_id] = task
        return tasks

    def move(self, task: Task, state: str, **outcome: Any) -> None:
        with self.changed:
            task.state = state
            for name, value in outcome.items():
                setattr(task, name, value)
            if state in (ERROR, SUCCESS) and task.task_id in self.tasks:
                self.unpolled.append(task.task_id)
                self.changed.notify_all()

    def find(self, task_ids: list[str]) -> list[Task]:
        with self.changed:
            missing = [task_id for task_id in task_ids if task_id not in self.tasks]
            if missing:
                raise ApiError("not_found", f"no task {', '.join(missing)}")
            return [self.tasks[task_id] for task_id in task_ids]

    def discard(self, task_ids: list[str]) -> None:
        with self.changed:
            self.find(task_ids)
            for task_id in task_ids:
                del self.tasks[task_id]

    def poll(self, batch_size: int, timeout: float) -> list[JSONObject]:
        deadline = time.monotonic() + timeout
        finished: list[JSONObject] = []
        with self.changed:
            while not finished:
                while self.unpolled and len(finished) < batch_size:
                    task = self.tasks.get(self.unpolled.popleft())
                    if task is not None:  # else discarded meanwhile
                        finished.append(task.to_json())
                remaining = deadline - time.monotonic()
                if finished or remaining <= 0:
                    break
                self.changed.wait(min(remaining, threading.TIMEOUT_MAX))
        return finished
