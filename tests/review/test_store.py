"""The review store on SQLite and PostgreSQL: answers replace per reviewer with history, the
queue, durability, migrations, failures. Tests taking `store` or `new_location` run on both."""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import threading

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import tmpfs
from model.errors import StoreUnavailable
from model.review import migrations
from model.review.store import Correction, QueueItem, ReviewStore


@pytest.fixture(params=["sqlite", "postgresql"])
def new_location(request, tmp_path_factory):
    """Makes fresh, empty store locations: SQLite files, or schemas of a real PostgreSQL."""
    if request.param == "sqlite":
        return lambda: tmp_path_factory.mktemp("store") / "reviews" / "reviews.sqlite3"
    return request.getfixturevalue("postgres").url


@pytest.fixture
def store(new_location) -> ReviewStore:
    store = ReviewStore(new_location())
    yield store
    store.close()


def fix(text, *topics, **kw) -> Correction:
    return Correction(text=text, topics=tuple(topics), **kw)


def test_wal_full_sync_and_folder_created(tmp_path):
    store = ReviewStore(f"sqlite:///{tmp_path}/reviews/reviews.sqlite3")
    store.save("alice", [fix("A sentence.", "training")])
    assert store.path == tmp_path / "reviews" / "reviews.sqlite3" and store.path.is_file()
    conn = store.backend.connect()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_a_store_opening_while_another_connection_writes_waits_for_it(tmp_path):
    """SQLite refuses the switch to WAL at once while another connection writes (as a first
    connection migrating a new file does): opening must wait for the writer, not fail."""
    path = tmp_path / "reviews.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE other (x)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO other VALUES (1)")
    opened = threading.Event()
    outcome = []

    def open_store():
        try:
            store = ReviewStore(f"sqlite:///{path}")
            store.save("alice", [fix("A sentence.", "training")])
            outcome.append(len(store.answers()))
            store.close()
        except Exception as exc:  # the failure this test is about
            outcome.append(exc)
        opened.set()

    thread = threading.Thread(target=open_store)
    thread.start()
    assert not opened.wait(0.3), f"opened while another connection wrote: {outcome}"
    writer.execute("COMMIT")
    writer.close()
    thread.join(timeout=30)
    assert outcome == [1]


def test_save_keeps_provenance_and_round_trips(store):
    ids = store.save("alice", [
        fix("Egypt will train Libyan police.", "training", source="https://x.test/a",
            article_id="a1", model_version="v3", model_topics=("migration",),
            model_scores={"training": 0.2, "migration": 0.7}),
        fix("Nothing here.")])
    assert len(ids) == 2 and ids[0] != ids[1]
    first, second = store.answers()
    assert (first.text, first.topics, first.source, first.article_id) == (
        "Egypt will train Libyan police.", ("training",), "https://x.test/a", "a1")
    assert (first.model_version, first.model_topics, first.model_scores) == (
        "v3", ("migration",), {"training": 0.2, "migration": 0.7})
    assert first.reviewer == "alice" and first.id == ids[0] and first.answered_at.endswith("+00:00")
    assert second.topics == () and second.model_scores is None


def test_same_reviewer_replaces_own_answer_and_history_keeps_both(store):
    (first,) = store.save("alice", [fix("The  embassy reopened.", "elections")])
    (again,) = store.save("alice", [fix("The embassy   reopened. ", "embassy_reopening")])
    assert again == first, "whitespace-normalised text: the same answer row"
    answers = store.answers()
    assert len(answers) == 1 and answers[0].topics == ("embassy_reopening",)
    history = store.history("The embassy reopened.")
    assert [h.topics for h in history] == [("elections",), ("embassy_reopening",)]
    assert all(h.reviewer == "alice" and h.id == first for h in history)


def test_other_reviewers_answers_are_never_touched(store):
    store.save("alice", [fix("Shared sentence.", "training")])
    store.save("bob", [fix("Shared sentence.", "migration")])
    store.save("bob", [fix("Shared sentence.", "elections")])
    by = {a.reviewer: a.topics for a in store.answers()}
    assert by == {"alice": ("training",), "bob": ("elections",)}
    assert len(store.history("Shared sentence.")) == 3


def test_one_transaction_per_save(store):
    store.save("alice", [fix("Kept.", "training")])
    with pytest.raises(ValueError):
        store.save("alice", [fix("Would be new.", "training"), fix("")])
    assert [a.text for a in store.answers()] == ["Kept."]


def test_concurrent_reviewers_in_threads_never_overwrite_each_other(store):
    reviewers = [f"r{i}" for i in range(6)]
    texts = [f"Sentence number {j}." for j in range(20)]

    def work(name):
        for text in texts:
            store.save(name, [fix(text, "training"), fix(text + " Extra.", "migration")])
        store.save(name, [fix(t, "elections") for t in texts[:5]])

    threads = [threading.Thread(target=work, args=(r,)) for r in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answers = store.answers()
    assert len(answers) == len(reviewers) * len(texts) * 2
    for r in reviewers:
        mine = {a.text: a.topics for a in answers if a.reviewer == r}
        assert all(mine[t] == ("elections",) for t in texts[:5])
        assert all(mine[t] == ("training",) for t in texts[5:])


def test_queue_order_dedupe_skip_and_answered_leave(store):
    added = store.enqueue([QueueItem("Low.", priority=0.1), QueueItem("High.", priority=0.9,
                                                                       reason="near threshold"),
                           QueueItem("Mid.", priority=0.5, source="t", article_id="a")])
    assert added == 3
    assert store.enqueue([QueueItem(" High. "), QueueItem("New.", priority=0.0)]) == 1
    items = store.next_items("alice", 10)
    assert [i.text for i in items] == ["High.", "Mid.", "Low.", "New."]
    assert items[0].reason == "near threshold" and items[1].article_id == "a"
    assert store.remaining("alice") == 4
    store.skip("alice", items[0].id)
    store.save("alice", [fix("Mid.", "training")])
    assert [i.text for i in store.next_items("alice", 10)] == ["Low.", "New."]
    assert store.remaining("alice") == 2 and store.remaining("bob") == 4
    assert [i.text for i in store.next_items("bob", 1)] == ["High."]
    with pytest.raises(LookupError):
        store.skip("alice", 12345)
    with pytest.raises(LookupError):
        store.skip("alice", 2**80)


def test_texts_python_counts_as_space_are_kept_as_they_are(store):
    store.save("alice", [fix("\x1c", "training"), fix(" \x1f ")])
    assert [a.text for a in store.answers()] == ["\x1c", " \x1f "]
    assert store.enqueue([QueueItem("\x85")]) == 1


def test_a_new_store_object_sees_what_was_saved(store):
    store.save("alice", [fix("Durable.", "training")])
    store.close()
    assert [a.text for a in ReviewStore(store.location).answers()] == ["Durable."]


def test_full_disk_is_store_unavailable_and_keeps_what_was_stored(tmp_path):
    path = tmp_path / "full.sqlite3"
    ReviewStore(path).save("alice", [fix("Stored before.", "training")])
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    full = ReviewStore(path, on_connect=lambda c: c.execute(f"PRAGMA max_page_count={pages}"))
    with pytest.raises(StoreUnavailable, match="disk is full"):
        full.save("alice", [fix(f"Long sentence {i} " + "x" * 3000, "training")
                            for i in range(40)])
    assert [a.text for a in ReviewStore(path).answers()] == ["Stored before."]


def test_read_only_filesystem_is_store_unavailable(tmp_path):
    with tmpfs(tmp_path / "ro") as root:
        path = root / "reviews.sqlite3"
        store = ReviewStore(path)
        store.save("alice", [fix("Stored before.", "training")])
        store.close()
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        with pytest.raises(StoreUnavailable) as caught:
            ReviewStore(path).save("alice", [fix("New.", "training")])
        assert "cannot be written" in str(caught.value)
        subprocess.run(["mount", "-o", "remount,rw", str(root)], check=True)
        assert [a.text for a in ReviewStore(path).answers()] == ["Stored before."]


def test_unopenable_folder_is_store_unavailable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailable, match="cannot be created"):
        ReviewStore(blocker / "reviews.sqlite3").save("alice", [fix("x", "training")])


texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                min_size=1, max_size=40).filter(lambda t: t.split())


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(saves=st.lists(st.tuples(st.sampled_from(["alice", "bob"]), texts,
                                 st.lists(st.sampled_from(["a", "b", "c"]), max_size=3)),
                      min_size=1, max_size=12))
def test_current_answers_are_the_last_save_per_reviewer_and_text(new_location, saves):
    store = ReviewStore(new_location())
    expected = {}
    for reviewer, text, topics in saves:
        store.save(reviewer, [fix(text, *topics)])
        expected[(reviewer, " ".join(text.split()))] = tuple(topics)
    got = {(a.reviewer, " ".join(a.text.split())): a.topics for a in store.answers()}
    assert got == expected
    total = sum(len(store.history(t)) for t in {" ".join(t.split()) for _, t, _ in saves})
    assert total == len(saves)
    store.close()


def test_nul_characters_are_refused_alike_and_nothing_is_saved(store):
    with pytest.raises(ValueError, match="NUL character at 3"):
        store.save("alice", [fix("Fine.", "training"), fix("Bad\x00 text.")])
    with pytest.raises(ValueError, match="its source holds a NUL"):
        store.enqueue([QueueItem("Queued.", source="a\x00b")])
    assert store.answers() == [] and store.remaining("alice") == 0


# -- migrations --------------------------------------------------------------------------
def versions(store: ReviewStore) -> list[int]:
    return [v for (v,) in store.backend.read("SELECT version FROM schema_version ORDER BY 1")]


def test_migrations_are_recorded_once_however_often_the_store_opens(new_location):
    location = new_location()
    for _ in range(3):
        store = ReviewStore(location)
        store.save("alice", [fix("Opened again.", "training")])
        store.close()
    assert versions(ReviewStore(location)) == [m.version for m in migrations.MIGRATIONS]
    assert len(ReviewStore(location).history("Opened again.")) == 3


def _open_and_save(location: str, name: str) -> None:
    ReviewStore(location).save(name, [fix("Opened at once.", "training")])


def test_processes_opening_a_new_store_at_once_migrate_it_once(new_location):
    location = str(new_location())
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_open_and_save, args=(location, f"r{i}"))
             for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 4
    store = ReviewStore(location)
    assert versions(store) == [1] and len(store.answers()) == 4


def test_a_store_newer_than_the_code_is_refused(store):
    store.save("alice", [fix("Kept.", "training")])
    store.backend.write(lambda tx: tx.execute(
        "INSERT INTO schema_version (version, summary, applied_at) VALUES (?, ?, ?)",
        (99, "from the future", "2030-01-01")))
    store.close()
    with pytest.raises(StoreUnavailable, match="schema is version 99.*upgrade sectag"):
        ReviewStore(store.location).answers()


def test_a_later_migration_is_applied_once_on_an_existing_store(tmp_path):
    store = ReviewStore(tmp_path / "r.sqlite3")
    store.save("alice", [fix("Before v2.", "training")])
    extra = (*migrations.MIGRATIONS, migrations.Migration(
        2, "a note column", ("ALTER TABLE answers ADD COLUMN note TEXT",)))
    conn = store.backend.connect()
    assert migrations.migrate(conn, migrations.SQLITE, "test", extra) == [2]
    assert migrations.migrate(conn, migrations.SQLITE, "test", extra) == []
    assert versions(store) == [1, 2] and [a.text for a in store.answers()] == ["Before v2."]


def test_a_file_from_before_versioning_opens_keeps_its_rows_and_becomes_version_1(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("".join(s + ";\n" for s in migrations.MIGRATIONS[0].sql(
        migrations.SQLITE)))  # the tables exactly as the unversioned store made them
    old.execute("INSERT INTO answers (reviewer, text_key, text, topics, model_topics,"
                " answered_at) VALUES ('ana', 'Old row.', 'Old row.', '[\"training\"]', '[]',"
                " '2026-01-01T00:00:00+00:00')")
    old.execute("INSERT INTO queue (text_key, text, priority, reason, queued_at)"
                " VALUES ('Queued.', 'Queued.', 0.5, 'r', '2026-01-01')")
    old.commit()
    old.close()
    store = ReviewStore(path)
    assert [(a.reviewer, a.text, a.topics) for a in store.answers()] == [
        ("ana", "Old row.", ("training",))]
    assert versions(store) == [1] and store.remaining("bob") == 1


# -- PostgreSQL: processes, a server that is down or refuses writes, secrets --------------
def _review_many(location: str, name: str, texts: list[str]) -> None:
    store = ReviewStore(location)
    for text in texts:
        store.save(name, [fix(text, "training"), fix(text + " Extra.", "migration")])
    store.save(name, [fix(t, "elections") for t in texts[:5]])


def test_concurrent_reviewers_in_two_processes_on_postgresql(postgres):
    location = postgres.url()
    texts = [f"Sentence number {j}." for j in range(15)]
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_review_many, args=(location, name, texts))
             for name in ("alice", "bob")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    store = ReviewStore(location)
    answers = store.answers()
    assert len(answers) == 2 * len(texts) * 2
    for name in ("alice", "bob"):
        mine = {a.text: a.topics for a in answers if a.reviewer == name}
        assert all(mine[t] == ("elections",) for t in texts[:5])
        assert all(mine[t] == ("training",) for t in texts[5:])
    assert all(len(store.history(t)) == 4 for t in texts[:5])


def test_postgresql_down_is_store_unavailable_with_the_reason_and_no_password(own_postgres):
    location = own_postgres.url(password="s3cret-pw")
    store = ReviewStore(location)
    store.save("alice", [fix("Stored before.", "training")])
    own_postgres.stop()
    with pytest.raises(StoreUnavailable) as caught:
        store.save("alice", [fix("While down.", "training")])
    message = str(caught.value)
    assert "cannot be reached" in message and "nothing was saved" in message
    assert "s3cret-pw" not in message and "postgres:***@127.0.0.1" in message
    own_postgres.start()
    assert [a.text for a in store.answers()] == ["Stored before."], "the pool reconnects"


def test_postgresql_refusing_writes_is_store_unavailable(postgres):
    location = postgres.url()
    ReviewStore(location).save("alice", [fix("Stored before.", "training")])
    read_only = ReviewStore(location + "%20-cdefault_transaction_read_only%3Don")
    with pytest.raises(StoreUnavailable, match="refuses writes"):
        read_only.save("alice", [fix("Refused.", "training")])
    assert [a.text for a in read_only.answers()] == ["Stored before."]


def test_unknown_store_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="mysql://...: unknown kind"):
        ReviewStore("mysql://user:pw@host/db")
