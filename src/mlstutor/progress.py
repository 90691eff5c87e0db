"""A learner's history: every answered practice question in SQLite, per-topic accuracy, and a review queue.

Missed questions come back on a spaced-repetition schedule (FSRS): "Again" after a miss, "Good" after a hit, so
a weak topic is drilled soon and a known one fades out. SQLite runs in WAL mode so the UI's parallel requests
can read while one writes.

Faults are one-line :class:`~mlstutor.errors.StorageError` messages and never cost the learner's history: a
database locked by another program or on a full disk fails the one write (rolled back, the file unchanged) and
the next call works once the lock or the space is back; a file that is not a database (garbage bytes) is moved
aside as ``progress.sqlite3.corrupt-<time>``, never deleted, and a new one is started (:attr:`Progress.notice`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fsrs import Card, Rating, Scheduler

from mlstutor.errors import StorageError
from mlstutor.quiz import Question

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    topic TEXT NOT NULL,
    qkey TEXT NOT NULL,
    chosen TEXT NOT NULL,
    correct INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cards (
    qkey TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    card TEXT NOT NULL,
    due TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    qkey TEXT NOT NULL,
    rating INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_topic ON attempts(topic);
CREATE INDEX IF NOT EXISTS cards_due ON cards(due);
"""


@dataclass(frozen=True)
class TopicStat:
    topic: str
    answered: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


def question_key(q: Question) -> str:
    return q.id


class Progress:
    """The progress store of one learner (one SQLite file)."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.path = path
        self.notice = ""  # set when a damaged file was moved aside on open: tell the learner once
        self._lock = threading.Lock()
        self._timeout = timeout
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            if (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF not in (
                sqlite3.SQLITE_NOTADB,
                sqlite3.SQLITE_CORRUPT,
            ):
                raise self._error(exc, "open") from None
            aside = self._move_aside()
            self._db = self._open()
            self.notice = (
                f"your progress database {path} could not be read ({exc}); it was moved aside to {aside.name} "
                "and a new one was started"
            )
        except OSError as exc:
            raise StorageError(f"cannot open your progress database {path}: {exc.strerror}") from None
        self._scheduler = Scheduler()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=self._timeout)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self) -> Path:
        """Keep a damaged database (and its WAL) under a new name: the learner's data is never deleted."""
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                src.rename(Path(str(aside) + suffix))
        return aside

    def _error(self, exc: sqlite3.Error, action: str) -> StorageError:
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # the primary code of an extended one
        where = f"your progress database {self.path}"
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            why = "is locked by another program (close it, or wait, and try again)"
        elif code == sqlite3.SQLITE_FULL:
            why = "cannot grow: the disk is full (free some space and try again)"
        elif code == sqlite3.SQLITE_IOERR:
            why = "could not be written (disk I/O error: is the disk full?)"
        elif code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
            why = "is damaged (restart to move it aside and start a new one)"
        else:
            why = f"failed ({exc})"
        done = "nothing was recorded" if action == "write" else "it was not changed"
        return StorageError(f"{where} {why}; {done}")

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[sqlite3.Connection]:
        """The connection under the lock; a write is one transaction (rolled back on any error); SQLite errors
        become one-line :class:`StorageError` messages."""
        with self._lock:
            try:
                if action == "write":
                    with self._db:
                        yield self._db
                else:
                    yield self._db
            except sqlite3.Error as exc:
                raise self._error(exc, action) from None

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> Progress:
        return cls(data_dir / "progress.sqlite3")

    @classmethod
    def for_learner(cls, data_dir: Path, username: str | None = None) -> Progress:
        """The store of one login (``data_dir/learners/<name>/progress.sqlite3``); without a login, the single
        local learner's ``data_dir/progress.sqlite3``."""
        return cls(progress_path(data_dir, username))

    def record(self, q: Question, chosen: list[str], now: datetime | None = None) -> bool:
        """Store an answer and reschedule the question; returns whether it was right."""
        now = now or datetime.now(UTC)
        correct = sorted(chosen) == sorted(q.answer)
        key = question_key(q)
        with self._guard("write"):
            self._db.execute(
                "INSERT INTO attempts(ts, topic, qkey, chosen, correct) VALUES (?, ?, ?, ?, ?)",
                (now.isoformat(), q.topic, key, json.dumps(sorted(chosen)), int(correct)),
            )
            self._schedule(key, q.to_dict(), Rating.Good if correct else Rating.Again, now)
        return correct

    def _schedule(self, key: str, payload: dict, rating: Rating, now: datetime) -> datetime:
        """FSRS step for one card (inside the caller's transaction); returns the next due time."""
        row = self._db.execute("SELECT card FROM cards WHERE qkey = ?", (key,)).fetchone()
        card = Card.from_dict(json.loads(row[0])) if row else Card()
        card, _ = self._scheduler.review_card(card, rating, now)
        self._db.execute(
            "INSERT INTO cards(qkey, question, card, due) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(qkey) DO UPDATE SET card = excluded.card, due = excluded.due",
            (key, json.dumps(payload), json.dumps(card.to_dict()), card.due.isoformat()),
        )
        self._db.execute(
            "INSERT INTO reviews(ts, qkey, rating) VALUES (?, ?, ?)", (now.isoformat(), key, int(rating))
        )
        return card.due

    def review_flashcard(self, card_id: str, payload: dict, rating: int, now: datetime | None = None) -> datetime:
        """Again/Hard/Good/Easy (1–4) on a flashcard; returns when it is due next."""
        if rating not in (1, 2, 3, 4):
            raise ValueError("rating is 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy)")
        with self._guard("write"):
            return self._schedule(card_id, payload, Rating(rating), now or datetime.now(UTC))

    def due_flashcards(self, now: datetime | None = None, limit: int = 50) -> list[dict]:
        now = now or datetime.now(UTC)
        with self._guard("read"):
            rows = self._db.execute(
                "SELECT question FROM cards WHERE qkey LIKE 'card:%' AND due <= ? ORDER BY due LIMIT ?",
                (now.isoformat(), limit),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def card_ids(self) -> set[str]:
        """Flashcards seen at least once (new ones are the rest)."""
        with self._guard("read"):
            return {r[0] for r in self._db.execute("SELECT qkey FROM cards WHERE qkey LIKE 'card:%'")}

    def retention(self, days: int = 30, now: datetime | None = None) -> tuple[int, float | None]:
        """(reviews, share not rated "Again") over the last ``days``: the measured recall of what was studied."""
        since = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat()
        with self._guard("read"):
            n, ok = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(rating > 1), 0) FROM reviews WHERE ts >= ?", (since,)
            ).fetchone()
        return int(n), (ok / n if n else None)

    def due_count(self, now: datetime | None = None) -> tuple[int, int]:
        """(questions due, flashcards due)."""
        now = (now or datetime.now(UTC)).isoformat()
        with self._guard("read"):
            q, c = self._db.execute(
                "SELECT COALESCE(SUM(qkey NOT LIKE 'card:%'), 0), COALESCE(SUM(qkey LIKE 'card:%'), 0) "
                "FROM cards WHERE due <= ?",
                (now,),
            ).fetchone()
        return int(q), int(c)

    def topic_stats(self) -> list[TopicStat]:
        with self._guard("read"):
            rows = self._db.execute(
                "SELECT topic, COUNT(*), SUM(correct) FROM attempts GROUP BY topic ORDER BY topic"
            ).fetchall()
        return [TopicStat(t, n, int(c or 0)) for t, n, c in rows]

    def weakest(self, n: int = 3, min_answered: int = 1) -> list[TopicStat]:
        stats = [s for s in self.topic_stats() if s.answered >= min_answered]
        return sorted(stats, key=lambda s: (s.accuracy, -s.answered))[:n]

    def due(self, now: datetime | None = None, limit: int = 20) -> list[Question]:
        """Questions whose review is due, most overdue first."""
        now = now or datetime.now(UTC)
        with self._guard("read"):
            rows = self._db.execute(
                "SELECT question FROM cards WHERE qkey NOT LIKE 'card:%' AND due <= ? ORDER BY due LIMIT ?",
                (now.isoformat(), limit),
            ).fetchall()
        return [Question.from_dict(json.loads(r[0])) for r in rows]

    def total(self) -> tuple[int, int]:
        with self._guard("read"):
            n, c = self._db.execute("SELECT COUNT(*), COALESCE(SUM(correct), 0) FROM attempts").fetchone()
        return int(n), int(c)

    def close(self) -> None:
        self._db.close()


def learner_dirname(username: str) -> str:
    """A safe folder name for a login: letters, digits, ``._-`` kept; anything else (``/``, ``..``, spaces,
    non-ASCII) replaced, and then a short hash of the real name added so two logins never share a folder."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", username).strip(".-")[:48] or "learner"
    if slug != username:
        slug += "-" + hashlib.sha256(username.encode("utf-8")).hexdigest()[:10]
    return slug


def progress_path(data_dir: Path, username: str | None = None) -> Path:
    """Where a learner's progress lives: per login under ``learners/``, or the one local file without logins."""
    if not username:
        return data_dir / "progress.sqlite3"
    return data_dir / "learners" / learner_dirname(username) / "progress.sqlite3"


class ProgressStores:
    """The open progress stores of a server with several logins: one :class:`Progress` (one SQLite file) per
    learner, opened on first use and reused; ``None`` is the single local learner (no ``--auth``)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._stores: dict[Path, Progress] = {}
        self._lock = threading.Lock()

    def get(self, username: str | None = None) -> Progress:
        path = progress_path(self.data_dir, username)
        with self._lock:
            store = self._stores.get(path)
            if store is None:
                store = self._stores[path] = Progress(path)
            return store

    def opened(self, username: str | None = None) -> Progress | None:
        """The learner's store if it is already open (never opens or creates a file)."""
        with self._lock:
            return self._stores.get(progress_path(self.data_dir, username))

    def close(self) -> None:
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
