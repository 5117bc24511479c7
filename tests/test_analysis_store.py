"""The photos of an Analyze session: once each by content, following the uploader, outliving the page."""
from dldl_core.ui.photo_store import PhotoStore, content_digest

A, B, C = b"photo a", b"photo b", b"photo c"


def names(store: PhotoStore) -> list[str]:
    return [p.name for p in store.photos()]


def test_a_file_uploaded_twice_is_one_photo():
    store = PhotoStore()
    added = store.sync_uploads([("a.jpg", A), ("b.jpg", B), ("a again.jpg", A)])
    assert names(store) == ["a.jpg", "b.jpg"] and added == [content_digest(A), content_digest(B)]
    assert store.sync_uploads([("a.jpg", A), ("b.jpg", B), ("a again.jpg", A)]) == []  # nothing new


def test_a_file_removed_from_the_uploader_is_forgotten():
    store = PhotoStore()
    store.sync_uploads([("a.jpg", A), ("b.jpg", B)])
    store.sync_uploads([("b.jpg", B)])
    assert names(store) == ["b.jpg"]


def test_an_uploader_drawn_anew_removes_nothing_and_the_photos_are_kept_from_earlier():
    store = PhotoStore()
    store.sync_uploads([("a.jpg", A)])
    assert store.sync_uploads([], fresh=True) == [] and names(store) == ["a.jpg"]
    assert [p.name for p in store.earlier()] == ["a.jpg"]
    assert store.sync_uploads([("c.jpg", C)]) == [content_digest(C)]  # a new upload adds to them
    assert names(store) == ["a.jpg", "c.jpg"] and [p.name for p in store.earlier()] == ["a.jpg"]
    store.remove(content_digest(A))
    assert names(store) == ["c.jpg"] and len(store) == 1 and content_digest(C) in store


def test_snapshots_are_numbered_and_a_repeated_one_is_not_added():
    store = PhotoStore()
    assert store.add_snapshot(A) == (content_digest(A), True)
    assert store.add_snapshot(A) == (content_digest(A), False)
    store.add_snapshot(B)
    assert names(store) == ["snapshot.jpg", "snapshot 2.jpg"]
    store.sync_uploads([])  # the uploader never held them: they stay
    assert len(store) == 2
